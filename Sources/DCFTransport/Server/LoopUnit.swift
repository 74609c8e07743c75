// SPDX-License-Identifier: Apache-2.0
import Dispatch
import Glibc
import Synchronization

/// One event loop of a server with its listener and connections.
struct LoopUnit: @unchecked Sendable {  // `server` and `listener` are used only inside `loop.execute`.
    let loop: EventLoop
    private let server: ServerLoop
    private let listener: Listener

    /// Creates an event loop, starts its thread and returns the loop's empty server state.
    static func startLoop(index: Int, context: ServerContext) throws(SystemError) -> ServerLoop {
        let loop = try EventLoop(index: index)
        loop.start(name: "dcf-http-loop-\(index)")
        return ServerLoop(loop: loop, context: context)
    }

    /// Pairs a running loop with its listener on the shared socket. The listener accepts after `startListening`.
    init(server: ServerLoop, socket: ListeningSocket, distributor: ConnectionDistributor) {
        loop = server.loop
        self.server = server
        listener = Listener(socket: socket, server: server, distributor: distributor)
    }

    /// Adds the listening socket to the loop's `epoll` and waits until it is watched.
    func startListening() throws {
        let actions = LoopActions(server: server, listener: listener)
        let startError = Mutex<SystemError?>(nil)
        runAndWait {
            do throws(SystemError) {
                try actions.listener.start()
            } catch {
                startError.withLock { $0 = error }
            }
        }
        if let error = startError.withLock({ $0 }) { throw error }
    }

    /// Stops this loop's accepting and waits until it has.
    func closeListener() {
        let actions = LoopActions(server: server, listener: listener)
        runAndWait { actions.listener.close() }
    }

    /// Runs `body` on the loop with its connections and waits for it.
    func run(_ body: @escaping @Sendable (LoopActions) -> Void) async {
        let actions = LoopActions(server: server, listener: listener)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute {
                body(actions)
                continuation.resume()
            }
        }
    }

    /// Runs `body` on the loop with its connections and returns its result. The calling thread, which must not be
    /// the loop's, blocks until then.
    func runAndWait<Result: Sendable>(_ body: @escaping @Sendable (LoopActions) -> Result) -> Result {
        let actions = LoopActions(server: server, listener: listener)
        let result = Mutex<Result?>(nil)
        runAndWait { result.withLock { $0 = body(actions) } }
        return result.withLock { $0 }!
    }

    func stop() {
        let actions = LoopActions(server: server, listener: listener)
        loop.execute { actions.closeAll() }
        loop.stop()
    }

    func stopAndWait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.stop { continuation.resume() }
        }
    }

    /// Blocks the calling thread, which must not be the loop's, until `body` has run on the loop.
    private func runAndWait(_ body: @escaping @Sendable () -> Void) {
        let done = DispatchSemaphore(value: 0)
        loop.execute {
            body()
            done.signal()
        }
        done.wait()
    }
}

/// Operations on one loop's listener and connections; use only on that loop's thread.
struct LoopActions: @unchecked Sendable {  // Created by `LoopUnit` and used only on its loop.
    let server: ServerLoop
    let listener: Listener

    /// Stops accepting and closes connections that wait for their next request.
    func beginDrain() {
        listener.close()
        for connection in server.connections.values { connection.closeIfIdle() }
    }

    /// Closes, or marks to close after their response, the connections whose handshake used a client certificate
    /// policy other than `policy`, and returns how many of each.
    func closeConnections(acceptedUnderOtherThan policy: ClientCertificatePolicy) -> TLSContextReplacement {
        var replacement = TLSContextReplacement()
        for connection in server.connections.values {
            switch connection.closeIfAccepted(underOtherThan: policy) {
            case .closed: replacement.closedConnections += 1
            case .afterResponse: replacement.connectionsClosingAfterResponse += 1
            case nil: break
            }
        }
        return replacement
    }

    func closeAll() {
        listener.close()
        server.isClosed = true
        for connection in server.connections.values { connection.close(reason: .serverStopped) }
    }
}
