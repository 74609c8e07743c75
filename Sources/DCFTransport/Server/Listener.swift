// SPDX-License-Identifier: Apache-2.0
import CLinux
import DCFSupport
import Glibc

/// A listening socket on one loop. Every loop binds its own socket to the same port with `SO_REUSEPORT`, so
/// the kernel spreads accepted connections over the loops.
final class Listener: EventHandler {
    /// Accepts at most this many connections per readiness event, so a burst cannot hold the loop.
    private static let acceptsPerEvent = 64

    let fd: Int32
    private let server: ServerLoop
    private var isOpen = true

    init(fd: Int32, server: ServerLoop) {
        self.fd = fd
        self.server = server
    }

    func start() throws(SystemError) {
        try server.loop.register(fd, events: .readable, handler: self)
    }

    /// Stops accepting and closes the socket; connections already accepted stay open.
    func close() {
        guard isOpen else { return }
        isOpen = false
        server.loop.deregister(fd)
        Glibc.close(fd)
    }

    func handleEvents(_ events: EpollEvents) {
        for _ in 0..<Self.acceptsPerEvent {
            guard isOpen else { return }
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let result = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                    Result { () throws(SystemError) in
                        try nonBlockingSyscall("accept4") {
                            CLinux_accept4(fd, raw, &length, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
                        }
                    }
                }
            }
            switch result {
            case .success(.value(let client)):
                admit(client, peer: SocketAddress.describe(address))
            case .success(.wouldBlock):
                return
            case .failure(let error):
                handleAcceptError(error)
                return
            }
        }
    }

    private func admit(_ client: Int32, peer: String) {
        let context = server.context
        let limit = context.limits.maxConnections
        let open = context.metrics.openConnections.add(1, ordering: .relaxed).newValue
        // Up to 10% over the limit, a connection gets a 503 response. Beyond that it closes without one, so an
        // overload cannot make the server spend handshakes on connections it rejects.
        guard open <= limit + max(1, limit / 10) else {
            context.metrics.openConnections.subtract(1, ordering: .relaxed)
            context.logger.debug("rejected connection over the limit", [("peer", peer), ("limit", "\(limit)")])
            Glibc.close(client)
            return
        }
        var one: Int32 = 1
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let transport: ConnectionTransport? = server.tls == nil ? PlainTransport(fd: client) : nil
        let connection = HTTPConnection(
            fd: client, peer: peer, server: server, transport: transport, isOverCapacity: open > limit
        )
        do {
            try connection.start()
        } catch {
            context.logger.error("cannot register connection", [("peer", peer), ("error", "\(error)")])
            connection.close(reason: .clientDisconnected)
        }
    }

    private func handleAcceptError(_ error: SystemError) {
        switch error.code {
        case ECONNABORTED, EPROTO, EPERM:
            return
        case EMFILE, ENFILE, ENOBUFS, ENOMEM:
            // Out of descriptors or memory: pause accepting briefly instead of spinning on a readable socket.
            server.context.logger.warning("cannot accept connections, pausing for 100 ms", [("error", "\(error)")])
            try? server.loop.modify(fd, events: [])
            server.loop.schedule(after: .milliseconds(100)) { [weak self] in
                guard let self, isOpen else { return }
                try? server.loop.modify(fd, events: .readable)
            }
        default:
            server.context.logger.error("accept failed", [("error", "\(error)")])
        }
    }
}
