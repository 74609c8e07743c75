// SPDX-License-Identifier: Apache-2.0
import CLinux
import Glibc
import Synchronization

/// Spreads accepted connections over a server's loops in turn, so each loop serves about as many.
///
/// `EPOLLEXCLUSIVE` wakes a loop that waits in `epoll_wait`, and on a quiet server that is mostly the same
/// loop, which would then run every TLS handshake and every write for its connections. Whichever loop accepts
/// a connection passes it to the next loop in turn through that loop's task queue.
final class ConnectionDistributor: @unchecked Sendable {  // Each `ServerLoop` is used only on its own loop.
    private let servers: [ServerLoop]
    private let nextIndex = Atomic<Int>(0)

    init(servers: [ServerLoop]) {
        precondition(!servers.isEmpty, "a server needs at least one event loop")
        self.servers = servers
    }

    /// Serves `accepted` on the next loop in turn: at once when that is `acceptingServer`'s loop, else after a hop.
    func assign(_ accepted: AcceptedConnection, acceptedOn acceptingServer: ServerLoop) {
        let turn = nextIndex.add(1, ordering: .relaxed).oldValue
        let target = servers[turn % servers.count]
        if target === acceptingServer {
            target.serve(accepted)
            return
        }
        let handover = Handover(server: target)
        target.loop.execute { handover.server.serve(accepted) }
    }
}

/// An accepted socket on its way to the loop that serves it, with what the accepting loop counted for it.
struct AcceptedConnection: Sendable {
    let fd: Int32
    /// The client as `host:port`, for log lines.
    let peer: String
    /// The address group and network whose counts include the connection.
    let counted: CountedGroups
    /// Whether the connection was accepted over `maxConnections` and responds 503 to its first request.
    let isOverCapacity: Bool
}

/// A loop's server state sent to that loop's own task queue.
private struct Handover: @unchecked Sendable {  // Dereferenced only inside a task of `server.loop`.
    let server: ServerLoop
}

extension ServerLoop {
    /// Registers an accepted, counted connection with this loop, or closes it when the loop has shut down or the
    /// server drains. A connection that another loop accepted reaches this loop through its task queue, maybe after
    /// the drain closed this loop's connections, and would otherwise keep the drain waiting for its grace period.
    func serve(_ accepted: AcceptedConnection) {
        guard !isClosed, !context.isDraining.load(ordering: .relaxed) else {
            context.releaseConnection(accepted.counted)
            Glibc.close(accepted.fd)
            return
        }
        let transport: ConnectionTransport? = tls == nil ? PlainTransport(fd: accepted.fd) : nil
        let connection = HTTPConnection(accepted, server: self, transport: transport)
        do {
            try connection.start()
        } catch {
            context.logger.error("cannot register connection", [("peer", accepted.peer), ("error", "\(error)")])
            connection.close(reason: .clientDisconnected)
        }
    }
}
