// SPDX-License-Identifier: Apache-2.0
public import DCFSupport
import Foundation
import Glibc
import Synchronization

/// An HTTP/1.1 server over TLS or plain TCP, running a few event-loop threads that hold every connection.
///
/// Idle and parked connections cost memory, never a thread. Call `start()` once, then `shutdown(gracePeriod:)`.
public final class HTTPServer: Sendable {
    private enum State {
        case created
        case starting
        case running(port: Int, units: [LoopUnit])
        case stopping
        case stopped
    }

    private let configuration: HTTPServerConfiguration
    private let context: ServerContext
    private let state = Mutex(State.created)
    private let liveness = LoopLiveness()

    /// - Parameters:
    ///   - handler: receives every request; see `HTTPHandler`.
    ///   - logger: gets start, stop and rejected-protocol lines at info and warning, per-connection events at
    ///     debug and trace.
    public init(configuration: HTTPServerConfiguration, handler: some HTTPHandler, logger: Logger) {
        self.configuration = configuration
        let tls: TLSContextHolder?
        switch configuration.security {
        case .tls(let context): tls = TLSContextHolder(context)
        case .plaintext: tls = nil
        }
        context = ServerContext(
            handler: handler, limits: configuration.limits, logger: logger, tls: tls,
            loopCount: configuration.eventLoopCount)
    }

    /// Binds the port, starts the loops and returns the bound port.
    ///
    /// - Throws: `HTTPServerError` when the configuration is invalid, the server was started before, or the
    ///   address cannot be bound (its `systemError` is then `bind` with `EADDRINUSE` for a port in use);
    ///   `SystemError` when an event loop cannot be created.
    @discardableResult
    public func start() throws -> Int {
        try validate()
        try state.withLock { state in
            guard case .created = state else { throw HTTPServerError.invalidConfiguration("the server was already started") }
            state = .starting
        }
        // A TLS write to a closed socket raises SIGPIPE, which would end the process.
        signal(SIGPIPE, SIG_IGN)
        do {
            let (port, units) = try startLoops()
            state.withLock { $0 = .running(port: port, units: units) }
            context.logger.info(
                "listening",
                [("host", configuration.host), ("port", "\(port)"), ("tls", context.tls == nil ? "off" : "on"),
                 ("loops", "\(units.count)")]
            )
            warnIfReceiveBufferIsCapped()
            return port
        } catch {
            state.withLock { $0 = .stopped }
            throw error
        }
    }

    /// Logs a warning when the kernel grants connections a smaller receive buffer than the limits request.
    private func warnIfReceiveBufferIsCapped() {
        let requested = configuration.limits.receiveBufferBytes
        guard requested > 0 else { return }
        let granted = max(SocketBuffer.receive.granted(forRequest: requested), 0)
        guard granted < requested else { return }
        context.logger.warning(
            "the kernel grants connections a smaller receive buffer than configured",
            [("receive_buffer", "\(requested)"), ("granted", "\(granted)"),
             ("fix", "raise the cap with sysctl -w net.core.rmem_max=\(requested), or configure at most \(granted)")])
    }

    /// Binds `host:port` and closes the socket again, so a daemon learns that the address is taken before it
    /// changes any state of its own. Another process may still take the address before `start()`.
    ///
    /// - Throws: `HTTPServerError` naming the address, as `start()` would; port 0 is never checked.
    public static func checkAddressIsFree(host: String, port: Int) throws(HTTPServerError) {
        guard port != 0 else { return }
        _ = try ListeningSocket(host: host, port: port, backlog: 1)
    }

    /// The bound port while running, else nil.
    public var port: Int? {
        state.withLock { state in
            if case .running(let port, _) = state { return port }
            return nil
        }
    }

    /// Queues a probe on every event loop and returns the indexes of the loops that have not run the probe of
    /// the call before the previous one. Call it at a steady interval, such as half the systemd watchdog
    /// interval: a loop listed has run no task for at least two intervals, and a loop busy for less than two
    /// intervals is never listed. Returns an empty list when the server is not running.
    public func unresponsiveLoops() -> [Int] {
        let loops = state.withLock { state -> [EventLoop] in
            if case .running(_, let units) = state { return units.map(\.loop) }
            return []
        }
        return liveness.check(loops)
    }

    /// The server's counters: open connections, parked requests, bytes and responses by status.
    public var statistics: HTTPServerStatistics { context.metrics.snapshot }

    /// Open connections of every client address group that has some, while the per-address limit is on.
    var connectionsPerAddress: [ClientAddressGroup: Int] { context.connectionsPerAddress.snapshot }

    /// Open connections of every network group that has some, while the per-network limit is on.
    var connectionsPerNetwork: [ClientAddressGroup: Int] { context.connectionsPerNetwork.snapshot }

    /// Makes new connections use `newContext`. Connections already open keep their context, unless `newContext`
    /// has another `clientCertificatePolicy` than theirs. Those close at once when idle, parked or in their
    /// handshake, and after the response to a request in progress, so their clients connect again and meet the
    /// new policy. The call blocks until every loop has done so, so do not call it on an event loop.
    ///
    /// - Returns: how many connections closed, or will close after their response, because of the new policy.
    /// - Throws: `HTTPServerError` when the server was configured for plain TCP.
    @discardableResult
    public func replaceTLSContext(_ newContext: TLSContext) throws -> TLSContextReplacement {
        guard let holder = context.tls else {
            throw HTTPServerError.invalidConfiguration("cannot replace the TLS context of a plaintext server")
        }
        let oldPolicy = holder.context.clientCertificatePolicy
        holder.context = newContext
        context.logger.info("replaced TLS context")
        let policy = newContext.clientCertificatePolicy
        guard policy != oldPolicy else { return TLSContextReplacement() }
        let units = state.withLock { state -> [LoopUnit] in
            if case .running(_, let units) = state { return units }
            return []
        }
        var replacement = TLSContextReplacement(clientPolicyChanged: true)
        for unit in units {
            let closed = unit.runAndWait { $0.closeConnections(acceptedUnderOtherThan: policy) }
            replacement.closedConnections += closed.closedConnections
            replacement.connectionsClosingAfterResponse += closed.connectionsClosingAfterResponse
        }
        return replacement
    }

    private func validate() throws {
        let limits = configuration.limits
        guard configuration.eventLoopCount >= 1 else {
            throw HTTPServerError.invalidConfiguration("eventLoopCount is \(configuration.eventLoopCount); use 1 or more")
        }
        guard (0...65535).contains(configuration.port) else {
            throw HTTPServerError.invalidConfiguration("port \(configuration.port) is out of range; use 0 to 65535")
        }
        let positive = [
            ("maxHeaderBytes", limits.maxHeaderBytes), ("maxHeaderCount", limits.maxHeaderCount),
            ("maxURILength", limits.maxURILength), ("maxConnections", limits.maxConnections),
        ]
        for (name, value) in positive where value < 1 {
            throw HTTPServerError.invalidConfiguration("limit \(name) is \(value); use 1 or more")
        }
        let groupLimits = [
            ("maxConnectionsPerAddress", limits.maxConnectionsPerAddress),
            ("maxConnectionsPerNetwork", limits.maxConnectionsPerNetwork),
        ]
        for (name, value) in groupLimits where value < 0 {
            throw HTTPServerError.invalidConfiguration("limit \(name) is \(value); use 0 (no limit) or more")
        }
        guard limits.minBodyRate >= 0 else {
            throw HTTPServerError.invalidConfiguration("limit minBodyRate is \(limits.minBodyRate); use 0 or more")
        }
        guard limits.maxBodyBytes >= 0 else {
            throw HTTPServerError.invalidConfiguration("limit maxBodyBytes is \(limits.maxBodyBytes); use 0 or more")
        }
    }

    /// Binds one listening socket, starts the loops, then lets every loop accept from the socket.
    ///
    /// All loops run before any accepts, because an accepting loop hands connections to the others.
    private func startLoops() throws -> (Int, [LoopUnit]) {
        let socket = try ListeningSocket(
            host: configuration.host, port: configuration.port, backlog: Int32(configuration.listenBacklog))
        var servers: [ServerLoop] = []
        do {
            for index in 0..<configuration.eventLoopCount {
                servers.append(try LoopUnit.startLoop(index: index, context: context))
            }
        } catch {
            for server in servers { server.loop.stop() }
            throw error
        }
        let distributor = ConnectionDistributor(servers: servers)
        let units = servers.map { LoopUnit(server: $0, socket: socket, distributor: distributor) }
        do {
            for unit in units { try unit.startListening() }
        } catch {
            // Every listener closes before any loop stops, so no connection is handed to a stopped loop.
            for unit in units { unit.closeListener() }
            for unit in units { unit.stop() }
            throw error
        }
        return (socket.port, units)
    }
}

// MARK: - Shutdown

extension HTTPServer {
    /// Stops gracefully: stops accepting, calls `HTTPHandler.serverWillStop` so the handler can respond to parked requests, closes idle keep-alive
    /// connections, waits up to `gracePeriod` for open requests, then closes what remains and stops the loops.
    public func shutdown(gracePeriod: Duration = .seconds(10)) async {
        let units: [LoopUnit]? = state.withLock { state in
            guard case .running(_, let units) = state else { return nil }
            state = .stopping
            return units
        }
        guard let units else { return }
        context.logger.info("stopping", [("grace_period", DurationFormat.format(gracePeriod))])
        context.isDraining.store(true, ordering: .relaxed)
        for unit in units { await unit.run { $0.beginDrain() } }
        context.handler.serverWillStop()
        let deadline = ContinuousClock.now + gracePeriod
        while context.metrics.openConnections.load(ordering: .relaxed) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for unit in units { await unit.run { $0.closeAll() } }
        for unit in units { await unit.stopAndWait() }
        state.withLock { $0 = .stopped }
        context.logger.info("stopped")
    }
}
