// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A TCP server on 127.0.0.1 that sends every connection the same bytes and closes it, standing in for
/// a server that is not dcf-serverd, a broken proxy or a hostile server.
///
/// The server reads the request head (up to the blank line, or 64 KiB) before it responds, or with
/// `waitsForRequestHead` false, only the first bytes, such as a TLS ClientHello. With an empty response it closes
/// each connection right after accepting it, before reading anything, which a TLS client sees as a connection
/// closed during its handshake.
public final class CannedResponseServer: @unchecked Sendable {
    // @unchecked Sendable: every stored property is a constant, and the accept thread only reads them.
    public let port: Int
    private let listener: Int32
    private let response: [UInt8]
    private let waitsForRequestHead: Bool

    public init(response: [UInt8], waitsForRequestHead: Bool = true) throws {
        self.response = response
        self.waitsForRequestHead = waitsForRequestHead
        (listener, port) = try LoopbackSocket.listen(backlog: 16)
        Thread { [self] in acceptLoop() }.start()
    }

    /// Returns a server that responds with an HTTP/1.1 response of `status` (code and reason phrase) and `body`.
    public convenience init(
        status: String, contentType: String = "application/json", body: String, waitsForRequestHead: Bool = true
    ) throws {
        let bodyBytes = Array(body.utf8)
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(bodyBytes.count)\r\n"
            + "Connection: close\r\n\r\n"
        try self.init(response: Array(head.utf8) + bodyBytes, waitsForRequestHead: waitsForRequestHead)
    }

    /// Stops accepting; the accept thread closes the listening socket and ends.
    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else {
                if errno == EINTR { continue }
                close(listener)
                return
            }
            if !response.isEmpty { answer(connection) }
            close(connection)
        }
    }

    private func answer(_ connection: Int32) {
        var limit = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < 65536, !String(decoding: received, as: UTF8.self).contains("\r\n\r\n") {
            let count = recv(connection, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            received += buffer[0..<count]
            if !waitsForRequestHead { break }
        }
        _ = response.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
