// SPDX-License-Identifier: Apache-2.0
import Dispatch
import Glibc
import Synchronization

/// One event loop of a server with its listener and connections.
struct LoopUnit: @unchecked Sendable {  // `server` and `listener` are used only inside `loop.execute`.
    let loop: EventLoop
    private let server: ServerLoop
    private let listener: Listener

    init(index: Int, context: ServerContext, socket: ListeningSocket) throws {
        loop = try EventLoop(index: index)
        server = ServerLoop(loop: loop, context: context)
        listener = Listener(socket: socket, server: server)
        loop.start(name: "dcf-http-loop-\(index)")
        let actions = LoopActions(server: server, listener: listener)
        let startError = Mutex<SystemError?>(nil)
        let started = DispatchSemaphore(value: 0)
        loop.execute {
            do throws(SystemError) {
                try actions.listener.start()
            } catch {
                startError.withLock { $0 = error }
            }
            started.signal()
        }
        started.wait()
        if let error = startError.withLock({ $0 }) {
            stop()
            throw error
        }
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

    func closeAll() {
        listener.close()
        for connection in server.connections.values { connection.close(reason: .serverStopped) }
    }
}
