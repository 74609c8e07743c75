// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization

/// A non-blocking HTTP/1.1 client that drives many keep-alive connections to one server from a single
/// event-loop thread, plain or over TLS, so no thread waits per connection.
///
/// Each connection carries one request at a time: call `send(_:on:completion:)` for a connection index, and send
/// its next request from the completion or later. Completions run on the client's loop thread in the order the
/// responses arrive; keep them short, and queue heavier follow-up work with `execute`. A connection opens on its
/// first request, at most 64 connects run at once, and a connection the server closed opens again for the next
/// request. The server certificate is verified as `HTTPClient` verifies it, against the host name or address
/// given here. Only bodies held in memory are sent (`.none` and `.data`). Call `shutdown()` when done.
public final class MultiplexedHTTPClient: @unchecked Sendable {
    // @unchecked Sendable: connections and shared state are touched only on the loop thread; `isShutDown` is atomic.
    /// The number of connections, addressed as 0..<connectionCount.
    public let connectionCount: Int
    /// The settings given at creation.
    public let configuration: HTTPClientConfiguration
    private let loop: EventLoop
    private let shared: MultiplexedClientShared
    private let connections: [MultiplexedConnection]
    private let isShutDown = Atomic<Bool>(false)

    /// Creates a client for `host:port` with `connectionCount` connections and starts its loop thread;
    /// no connection opens before its first request.
    ///
    /// - Parameter threadName: the loop thread's name in `/proc` and profilers (at most 15 bytes are kept).
    /// - Throws: `HTTPClientError` for an invalid port, connection count or TLS role, or a host that does not
    ///   resolve; `TLSError` when the TLS configuration's files cannot be loaded.
    public init(
        host: String, port: Int, connectionCount: Int, configuration: HTTPClientConfiguration = HTTPClientConfiguration(),
        threadName: String = "dcf-http-mux"
    ) throws {
        let server = "\(host):\(port)"
        guard (1...65535).contains(port) else {
            throw HTTPClientError.invalidConfiguration(server, "port \(port) is outside 1...65535")
        }
        guard connectionCount > 0 else {
            throw HTTPClientError.invalidConfiguration(server, "connection count \(connectionCount) must be at least 1")
        }
        var tlsContext: TLSContext?
        if case .tls(let tls) = configuration.transport {
            guard tls.role == .client else {
                throw HTTPClientError.invalidConfiguration(
                    server, "the TLS configuration has role server; use TLSConfiguration.client(...)")
            }
            tlsContext = try TLSContext(configuration: tls)
        }
        do {
            loop = try EventLoop(index: 0)
        } catch {
            throw HTTPClientError.io(server, error.call, errno: error.code)
        }
        let shared = try MultiplexedClientShared(
            loop: loop, host: host, port: port, configuration: configuration, tlsContext: tlsContext)
        self.shared = shared
        connections = (0..<connectionCount).map { _ in MultiplexedConnection(shared: shared) }
        self.connectionCount = connectionCount
        self.configuration = configuration
        // OpenSSL writes to the socket with `write`, which raises SIGPIPE when the server has gone; the client
        // reports a closed connection instead.
        signal(SIGPIPE, SIG_IGN)
        loop.start(name: threadName)
    }

    deinit {
        // Without shutdown() the loop thread would run on forever; stop it without waiting, since the last
        // reference may go away on that very thread.
        guard !isShutDown.load(ordering: .acquiring) else { return }
        let connections = LoopOwned(value: connections)
        let loop = loop
        loop.execute {
            for connection in connections.value { connection.closeAndFail(while: "the client was released") }
            loop.stop()
        }
    }

    /// Sends `request` on connection `connection`; callable from any thread.
    ///
    /// `completion` runs once, on the loop thread, with the response (status, headers and the whole body) or an
    /// `HTTPClientError`: a timeout, a TLS or socket failure, a closed connection, an invalid or too large
    /// response, an invalid request, a connection index out of range, a connection that already has a request
    /// in flight, or a client that was shut down. A replayable request that meets a keep-alive connection the
    /// server had just closed goes out once more on a new connection.
    public func send(
        _ request: HTTPClientRequest, on connection: Int,
        completion: @escaping @Sendable (Result<HTTPClientResponse, HTTPClientError>) -> Void
    ) {
        guard connections.indices.contains(connection) else {
            return completion(.failure(.invalidRequest(
                shared.server, "connection \(connection) is outside 0..<\(connectionCount)")))
        }
        // Checked before the hop, because a stopped loop runs no more tasks.
        // NOTE: a send from another thread that races with shutdown() may get no completion at all.
        guard !isShutDown.load(ordering: .acquiring) else {
            return completion(.failure(.connectionClosed(shared.server, while: "the client was shut down")))
        }
        guard loop.inEventLoop else {
            return loop.execute { [self] in send(request, on: connection, completion: completion) }
        }
        connections[connection].send(request, completion: completion)
    }

    /// Queues `task` to run on the loop thread after the readiness events and tasks already pending there.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        loop.execute(task)
    }

    /// Whether the caller runs on the client's loop thread, where completions run.
    public var inEventLoop: Bool { loop.inEventLoop }

    /// The TCP connections opened so far, reopened ones included; read it on the loop thread or after
    /// `shutdown()`.
    public var openedConnectionCount: Int { shared.openedConnections }

    /// Closes every connection, fails the requests in flight with a closed-connection error and stops the loop
    /// thread; blocks until it stopped. Call it from a thread other than the loop's; later calls do nothing.
    public func shutdown() {
        precondition(!loop.inEventLoop, "MultiplexedHTTPClient.shutdown() called on its own loop thread")
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let stopped = DispatchSemaphore(value: 0)
        loop.execute { [self] in
            for connection in connections { connection.closeAndFail(while: "the client was shut down") }
            loop.stop { stopped.signal() }
        }
        stopped.wait()
    }
}

/// The connections handed from `deinit` to the loop thread, the only thread that uses them afterwards.
private struct LoopOwned<Value>: @unchecked Sendable {  // Used only on the loop thread once handed over.
    let value: Value
}
