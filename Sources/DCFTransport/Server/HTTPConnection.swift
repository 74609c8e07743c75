// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Glibc

/// One accepted connection: protocol detection, TLS handshake, request parsing, responses and timeouts.
///
/// All state is confined to the loop thread. Requests are handled one at a time: bytes of a pipelined next
/// request wait in `inbound` until the current response has been written, which keeps responses in order.
final class HTTPConnection: EventHandler {
    enum Phase {
        /// TLS port: waiting for the first bytes to tell a TLS ClientHello from plaintext.
        case detecting
        case handshaking
        case open
        /// The response is sent and the write side shut down; reading and dropping until the client closes.
        case lingering
        case closed
    }

    let fd: Int32
    let server: ServerLoop
    let peer: String
    var loop: EventLoop { server.loop }
    var context: ServerContext { server.context }
    var limits: HTTPServerLimits { server.context.limits }

    var phase: Phase
    var transport: ConnectionTransport?
    var parser: HTTPRequestParser
    /// Received bytes not yet parsed: a pipelined request, or body bytes held back while the handler is busy.
    var inbound: [UInt8] = []
    var request: RequestState?
    var requestCount: UInt64 = 0
    var outbound = OutboundQueue()
    /// Whether this connection was accepted over `maxConnections` and responds 503 to its first request.
    let isOverCapacity: Bool
    /// Set when the first-byte timeout found received bytes that the loop had not read yet, so only the
    /// handshake timeout applies.
    var firstBytesArrived = false
    /// The client address group and network whose counts include this connection until it closes.
    let counted: CountedGroups
    /// Set once the connection must close after the current response.
    var closeAfterResponse = false
    /// The client certificate policy of the TLS context the handshake started with; nil before a handshake and
    /// on a plain TCP server.
    var clientPolicy: ClientCertificatePolicy?
    /// Set when the client ended its stream (FIN or close_notify) while the connection still owes it a response.
    var inputEnded = false

    var interest: EpollEvents = []
    /// The transport needs the socket writable to continue a read, or readable to continue a write (TLS).
    var readWaitsForWritable = false
    var writeWaitsForReadable = false
    var writeBlocked = false

    var timer: TimerID?
    var timerDeadline: UInt64 = 0
    /// When the current phase began: the handshake, the idle wait, the head of a request, or lingering.
    var phaseStart: UInt64
    var lastReadProgress: UInt64
    var lastWriteProgress: UInt64

    init(_ accepted: AcceptedConnection, server: ServerLoop, transport: ConnectionTransport?) {
        self.fd = accepted.fd
        self.peer = accepted.peer
        self.server = server
        self.transport = transport
        self.isOverCapacity = accepted.isOverCapacity
        self.counted = accepted.counted
        self.parser = HTTPRequestParser(limits: server.context.limits.parserLimits)
        let now = MonotonicClock.now()
        phaseStart = now
        lastReadProgress = now
        lastWriteProgress = now
        phase = transport == nil ? .detecting : .open
    }

    /// Registers the socket with the loop and starts reading.
    func start() throws(SystemError) {
        interest = [.readable, .readHangUp]
        try loop.register(fd, events: interest, handler: self)
        server.add(self)
        updateTimer()
    }

    func handleEvents(_ events: EpollEvents) {
        switch phase {
        case .detecting: detectProtocol()
        case .handshaking: continueHandshake()
        case .lingering: drainWhileLingering()
        case .closed: return
        case .open: handleOpenEvents(events)
        }
    }

    private func handleOpenEvents(_ events: EpollEvents) {
        if events.contains(.writable) {
            writeBlocked = false
            if readWaitsForWritable {
                readWaitsForWritable = false
                readInput()
            }
            flush()
        }
        guard phase == .open else { return }
        if !events.isDisjoint(with: [.readable, .readHangUp, .hangUp, .error]) {
            if writeWaitsForReadable {
                writeWaitsForReadable = false
                flush()
            }
            readInput()
            // With no room to read, a hang-up would be reported again on every wait, so close now. After the end of
            // input was handled, only a reset or an error ends the connection before its response.
            let hangUps: EpollEvents = inputEnded ? [.hangUp, .error] : [.readHangUp, .hangUp, .error]
            if phase == .open, !events.isDisjoint(with: hangUps), !wantsToRead {
                close(reason: .clientDisconnected)
            }
        }
        guard phase == .open else { return }
        updateInterest()
        updateTimer()
    }

    /// Recomputes the `epoll` interest from the connection's state and updates it when it changed.
    func updateInterest() {
        guard phase != .closed else { return }
        // The end of input stays reported once it arrived, so it is no longer watched after it was handled.
        var wanted: EpollEvents = inputEnded ? [] : [.readHangUp]
        switch phase {
        case .open:
            if wantsToRead || writeWaitsForReadable { wanted.insert(.readable) }
            if writeBlocked || readWaitsForWritable || (transport?.pendingOutput ?? 0) > 0 { wanted.insert(.writable) }
        case .handshaking:
            wanted.insert(readWaitsForWritable ? .writable : .readable)
        case .detecting, .lingering:
            wanted.insert(.readable)
        case .closed:
            return
        }
        guard wanted != interest else { return }
        interest = wanted
        do {
            try loop.modify(fd, events: wanted)
        } catch {
            context.logger.error("cannot update epoll interest", [("peer", peer), ("error", "\(error)")])
            close(reason: .clientDisconnected)
        }
    }

    /// Starts a graceful close: closes the connection now if no request is in progress, otherwise after the
    /// response to that request. A request whose body is still arriving has the rest of its body read first.
    ///
    /// A partial head or a pipelined request that was received but not started counts as no request. It would
    /// get a 503 response anyway, and a close before any response lets the client retry it.
    func closeIfIdle() {
        switch phase {
        case .detecting, .handshaking:
            close(reason: .serverStopped)
        case .open where request == nil:
            close(reason: .serverStopped)
        case .open:
            closeAfterResponse = true
        case .lingering:
            close(reason: .serverStopped)
        case .closed:
            return
        }
    }

    /// The way `closeIfAccepted(underOtherThan:)` ended a connection.
    enum PolicyClose {
        /// Closed at once: it was idle, parked, or still in its handshake.
        case closed
        /// Closes after the response to the request in progress.
        case afterResponse
    }

    /// Closes a connection whose TLS handshake used a client certificate policy other than `policy`: at once when
    /// it is idle, parked or handshaking, otherwise after the response to its request in progress. Returns nil for
    /// a connection that keeps going: one under `policy`, or one that has not started its handshake and so meets
    /// the current context.
    func closeIfAccepted(underOtherThan policy: ClientCertificatePolicy) -> PolicyClose? {
        guard let clientPolicy, clientPolicy != policy else { return nil }
        switch phase {
        case .detecting, .closed:
            return nil
        case .open where request.map({ !$0.isParked }) ?? false:
            closeAfterResponse = true
            return .afterResponse
        case .handshaking, .open, .lingering:
            close(reason: .clientPolicyChanged)
            return .closed
        }
    }

    /// Closes the socket at once, telling a parked or streaming handler why; safe to call more than once.
    func close(reason: HTTPRequestError) {
        guard phase != .closed else { return }
        phase = .closed
        if let timer { loop.cancel(timer) }
        timer = nil
        if let request {
            self.request = nil
            request.abandon(reason: reason, metrics: context.metrics, loop: loop)
        }
        outbound.failAll()
        loop.deregister(fd)
        transport = nil
        server.remove(self)
        // Released before the socket closes, so a client that sees the close can connect again at once.
        context.releaseConnection(counted)
        Glibc.close(fd)
        context.logger.trace("connection closed", [("peer", peer), ("reason", "\(reason)")])
    }
}
