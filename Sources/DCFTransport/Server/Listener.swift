// SPDX-License-Identifier: Apache-2.0
import CLinux
import DCFSupport
import Glibc

/// One loop's watch on the server's shared listening socket.
///
/// Every loop's `epoll` watches the same socket with `EPOLLEXCLUSIVE`, so a new connection wakes one loop
/// instead of all of them. Two loops can still race for one connection, and the loser's `accept4` returns
/// `EAGAIN`, which ends its accept round. The loop that accepts does not keep the connection: the
/// `ConnectionDistributor` passes it to the loops in turn.
final class Listener: EventHandler {
    /// Accepts at most this many connections per readiness event, so a burst cannot hold the loop.
    private static let acceptsPerEvent = 64
    /// `EPOLLEXCLUSIVE` from `<sys/epoll.h>`: allowed with `EPOLL_CTL_ADD` only, never with `EPOLL_CTL_MOD`.
    private static let watchedEvents = EpollEvents.readable.union(EpollEvents(rawValue: 1 << 28))

    let fd: Int32
    private let server: ServerLoop
    private let distributor: ConnectionDistributor
    /// Set to nil on `close()`; the socket closes when the last loop lets go of it.
    private var socket: ListeningSocket?
    private var isOpen: Bool { socket != nil }
    private var isWatching = false

    init(socket: ListeningSocket, server: ServerLoop, distributor: ConnectionDistributor) {
        self.fd = socket.fd
        self.socket = socket
        self.server = server
        self.distributor = distributor
    }

    func start() throws(SystemError) {
        try watch()
    }

    /// Stops this loop's accepting; connections already accepted stay open, and other loops keep accepting
    /// until they close their listeners too.
    func close() {
        guard isOpen else { return }
        unwatch()
        socket = nil
    }

    private func watch() throws(SystemError) {
        try server.loop.register(fd, events: Self.watchedEvents, handler: self)
        isWatching = true
    }

    private func unwatch() {
        guard isWatching else { return }
        server.loop.deregister(fd)
        isWatching = false
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
                admit(client, peer: SocketAddress.describe(address), addressGroup: ClientAddressGroup(address))
            case .success(.wouldBlock):
                return
            case .failure(let error):
                handleAcceptError(error)
                return
            }
        }
    }

    private func admit(_ client: Int32, peer: String, addressGroup: ClientAddressGroup?) {
        let context = server.context
        let counted: CountedGroups
        switch context.acquireGroupCounts(for: addressGroup) {
        case .admitted(let groups):
            counted = groups
        case .overAddressLimit(let group, let limit):
            context.metrics.connectionsRejectedPerAddress.add(1, ordering: .relaxed)
            rejectOverGroupLimit(
                client, peer: peer, field: ("address", group.description), limit: limit, scope: "per-address",
                advice: "raise limits.max_connections_per_address if several workers share this address",
                repeats: Self.overAddressLimitCloses)
            return
        case .overNetworkLimit(let network, let limit):
            context.metrics.connectionsRejectedPerNetwork.add(1, ordering: .relaxed)
            rejectOverGroupLimit(
                client, peer: peer, field: ("network", network.description), limit: limit, scope: "per-network",
                advice: "raise limits.max_connections_per_network if several sites share this network",
                repeats: Self.overNetworkLimitCloses)
            return
        }
        let limit = context.limits.maxConnections
        let open = context.metrics.openConnections.add(1, ordering: .relaxed).newValue
        // Up to 10% over the limit, a connection gets a 503 response. Beyond that it closes without one, so an
        // overload cannot make the server spend handshakes on connections it rejects.
        guard open <= limit + max(1, limit / 10) else {
            context.releaseConnection(counted)
            let fields = [("peer", peer), ("limit", "\(limit)"), ("open", "\(open - 1)")]
            if let held = Self.overLimitCloses.admit() {
                context.logger.warning(
                    "closed a new connection over the connection limit; raise limits.max_connections if workers "
                        + "retry", fields + [("repeats_since_last_line", String(held))])
            } else {
                context.logger.debug("closed a new connection over the connection limit", fields)
            }
            Glibc.close(client)
            return
        }
        AcceptedSocketOptions.apply(to: client, receiveBufferBytes: context.limits.receiveBufferBytes)
        let accepted = AcceptedConnection(
            fd: client, peer: peer, counted: counted, isOverCapacity: open > limit)
        distributor.assign(accepted, acceptedOn: server)
    }

    /// Closes a new connection whose address or network group already has `limit` open connections, without a
    /// response or any TLS work. The warning names the group (`field`), and `repeats` limits how often it is
    /// logged; the lines held back go to debug without `advice`.
    private func rejectOverGroupLimit(
        _ client: Int32, peer: String, field: (String, String), limit: Int, scope: String, advice: String,
        repeats: LogRepeatLimit
    ) {
        let context = server.context
        let message = "closed a new connection over the \(scope) connection limit"
        let fields = [field, ("peer", peer), ("limit", "\(limit)")]
        if let held = repeats.admit() {
            context.logger.warning(message + "; " + advice, fields + [("repeats_since_last_line", String(held))])
        } else {
            context.logger.debug(message, fields)
        }
        Glibc.close(client)
    }

    private func handleAcceptError(_ error: SystemError) {
        switch error.code {
        case ECONNABORTED, EPROTO, EPERM:
            return
        case EMFILE, ENFILE, ENOBUFS, ENOMEM:
            // Out of descriptors or memory: pause accepting briefly instead of spinning on a readable socket.
            // `EPOLLEXCLUSIVE` rules out `EPOLL_CTL_MOD`, so the pause removes the watch and adds it again.
            if let held = Self.acceptPauseWarnings.admit() {
                server.context.logger.warning(
                    "cannot accept connections, pausing for 100 ms",
                    [("error", "\(error)"), ("repeats_since_last_line", String(held))])
            }
            unwatch()
            server.loop.schedule(after: .milliseconds(100)) { [weak self] in
                guard let self, isOpen, !isWatching else { return }
                do {
                    try watch()
                } catch {
                    server.context.logger.error("cannot resume accepting", [("error", "\(error)")])
                }
            }
        default:
            server.context.logger.error("accept failed", [("error", "\(error)")])
        }
    }
}
