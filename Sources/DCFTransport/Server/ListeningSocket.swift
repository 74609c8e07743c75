// SPDX-License-Identifier: Apache-2.0
import Glibc

/// The one listening socket of a server, shared by the listeners of all its loops.
///
/// Each loop's `Listener` keeps a reference while its `epoll` watches the socket, and drops it after
/// deregistering, so the socket is closed once no loop watches it.
final class ListeningSocket: Sendable {
    let fd: Int32
    let port: Int

    /// Binds `host:port` and starts listening.
    ///
    /// - Throws: `HTTPServerError` naming the address and the failed call, such as `bind` with `EADDRINUSE`.
    init(host: String, port: Int, backlog: Int32) throws(HTTPServerError) {
        do {
            fd = try SocketAddress.makeListeningSocket(host: host, port: port, backlog: backlog)
        } catch {
            throw HTTPServerError.cannotListen(host: host, port: port, error)
        }
        do {
            self.port = try SocketAddress.localPort(of: fd)
        } catch {
            Glibc.close(fd)
            throw HTTPServerError.cannotListen(host: host, port: port, error)
        }
    }

    deinit {
        Glibc.close(fd)
    }
}
