// SPDX-License-Identifier: Apache-2.0
import Foundation

/// One keep-alive connection of a `MultiplexedHTTPClient`, driven by the client's event loop: a non-blocking
/// TCP connect, the TLS handshake, then one request and response at a time. Used only on the loop thread.
///
/// The connection opens when a request needs it and opens again for the next request after the server closed it.
final class MultiplexedConnection: EventHandler {
    typealias Completion = @Sendable (Result<HTTPClientResponse, HTTPClientError>) -> Void

    enum State: Equatable {
        case disconnected
        /// Waiting for a connect slot in `MultiplexedClientShared`.
        case queued
        case connecting(addressIndex: Int)
        case handshaking
        case ready
    }

    /// The request in flight and the parser of its response.
    struct Exchange {
        let request: HTTPClientRequest
        let bytes: [UInt8]
        var written = 0
        var parser: HTTPResponseParser
        let completion: Completion
        var receivedResponseBytes = false
        let idleTimeout: Duration
        let totalDeadline: (instant: UInt64, limit: Duration)?

        var isWritten: Bool { written == bytes.count }
    }

    let shared: MultiplexedClientShared
    var state = State.disconnected
    var descriptor: Int32 = -1
    var session: TLSSession?
    var exchange: Exchange?
    /// Requests completed on the current TCP connection.
    var completedRequests = 0
    var interest: EpollEvents = []
    /// When bytes last moved for the current exchange, for the idle timeout (monotonic nanoseconds).
    var lastActivity: UInt64 = 0
    /// When the current connect step (TCP or TLS handshake) began, for the connect timeout.
    var stepStart: UInt64 = 0
    var holdsConnectSlot = false
    var timer: TimerID?

    init(shared: MultiplexedClientShared) {
        self.shared = shared
    }

    var server: String { shared.server }

    /// Starts `request`; `completion` runs once on the loop thread with the response or the error.
    func send(_ request: HTTPClientRequest, completion: @escaping Completion) {
        guard exchange == nil else {
            completion(.failure(.invalidRequest(
                server, "the connection already has a request in flight; send the next one from its completion")))
            return
        }
        let bytes: [UInt8]
        do {
            bytes = try shared.encoder.encode(request)
        } catch {
            completion(.failure(error as? HTTPClientError ?? .invalidRequest(server, "\(error)")))
            return
        }
        let configuration = shared.configuration
        let now = MonotonicClock.now()
        let total = (request.totalTimeout ?? configuration.totalTimeout).map { (now &+ $0.nanoseconds, $0) }
        exchange = Exchange(
            request: request, bytes: bytes, parser: makeParser(for: request), completion: completion,
            idleTimeout: request.idleTimeout ?? configuration.idleTimeout, totalDeadline: total)
        lastActivity = now
        armTimer()
        switch state {
        case .disconnected:
            state = .queued
            shared.requestConnect(self)
        case .ready:
            writeRequest()
        case .queued, .connecting, .handshaking:
            break
        }
    }

    func makeParser(for request: HTTPClientRequest) -> HTTPResponseParser {
        HTTPResponseParser(
            server: server, requestMethod: request.method,
            maximumHeadSize: shared.configuration.maximumResponseHeadSize,
            maximumBodySize: shared.configuration.maximumResponseBodySize)
    }

    func handleEvents(_ events: EpollEvents) {
        switch state {
        case .connecting(let index): finishTCPConnect(addressIndex: index)
        case .handshaking: continueHandshake()
        case .ready:
            if let exchange, !exchange.isWritten {
                writeRequest()
                if self.exchange.map({ !$0.isWritten }) == true { return }
            }
            readAvailable()
        case .disconnected, .queued:
            break
        }
    }

    /// Sets the `epoll` interest, calling `epoll_ctl` only when it changes.
    func setInterest(_ events: EpollEvents) {
        guard events != interest, descriptor >= 0 else { return }
        do {
            try shared.loop.modify(descriptor, events: events)
            interest = events
        } catch {
            fail(.io(server, error.call, errno: error.code))
        }
    }

    // MARK: Completion and failure

    /// Ends the exchange with `error` and closes the connection.
    func fail(_ error: HTTPClientError) {
        closeConnection()
        finishExchange(.failure(error))
    }

    /// Closes the connection and fails the request in flight, if any, with a closed-connection error naming `step`.
    func closeAndFail(while step: String) {
        fail(.connectionClosed(server, while: step))
    }

    /// Clears the exchange and its timer, then calls its completion, which may send the next request at once.
    func finishExchange(_ result: Result<HTTPClientResponse, HTTPClientError>) {
        guard let finished = exchange else { return }
        exchange = nil
        if let timer {
            shared.loop.cancel(timer)
            self.timer = nil
        }
        finished.completion(result)
    }

    /// Closes the socket, if any, and returns to `disconnected`; a queued connect is withdrawn.
    func closeConnection() {
        if state == .queued { shared.cancelQueuedConnect(self) }
        if holdsConnectSlot {
            holdsConnectSlot = false
            shared.connectFinished()
        }
        if descriptor >= 0 {
            shared.loop.deregister(descriptor)
            // close_notify is a courtesy; it goes out only if the socket takes it now.
            if state == .ready { _ = session?.shutdown() }
            Foundation.close(descriptor)
        }
        descriptor = -1
        session = nil
        interest = []
        completedRequests = 0
        state = .disconnected
    }

    // MARK: Timeouts

    /// Schedules the timeout check of the current exchange unless one is scheduled.
    func armTimer() {
        guard timer == nil, let limit = currentLimit() else { return }
        timer = shared.loop.schedule(at: limit.deadline) { [weak self] in self?.timerFired() }
    }

    /// Replaces the scheduled check when the kind of deadline changes, as between connect steps.
    func rearmTimer() {
        if let timer {
            shared.loop.cancel(timer)
            self.timer = nil
        }
        armTimer()
    }

    private func timerFired() {
        timer = nil
        guard let limit = currentLimit() else { return }
        if MonotonicClock.now() >= limit.deadline {
            fail(.timedOut(server, limit.phase, after: limit.duration))
        } else {
            armTimer()
        }
    }

    /// The deadline that applies now: the connect timeout while connecting, else the idle timeout since the
    /// last activity, either cut short by the request's total timeout.
    private func currentLimit() -> (deadline: UInt64, phase: HTTPClientError.TimeoutPhase, duration: Duration)? {
        guard let exchange else { return nil }
        let connectTimeout = shared.configuration.connectTimeout
        var limit: (deadline: UInt64, phase: HTTPClientError.TimeoutPhase, duration: Duration)
        switch state {
        case .connecting: limit = (stepStart &+ connectTimeout.nanoseconds, .connect, connectTimeout)
        case .handshaking: limit = (stepStart &+ connectTimeout.nanoseconds, .tlsHandshake, connectTimeout)
        default: limit = (lastActivity &+ exchange.idleTimeout.nanoseconds, .idle, exchange.idleTimeout)
        }
        if let total = exchange.totalDeadline, total.instant < limit.deadline {
            limit = (total.instant, .total, total.limit)
        }
        return limit
    }
}
