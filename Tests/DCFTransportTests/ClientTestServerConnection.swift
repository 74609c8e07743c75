// SPDX-License-Identifier: Apache-2.0
import Foundation
@testable import DCFTransport

/// One blocking server-side connection of `ClientTestServer`, plain or TLS.
final class ClientTestServerConnection {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let descriptor: Int32
    private let session: TLSSession?
    private var pending = Data()

    init(descriptor: Int32, context: TLSContext?) throws {
        self.descriptor = descriptor
        session = try context.map { try TLSSession(context: $0, fileDescriptor: descriptor) }
        if let session {
            // The socket blocks, so the handshake finishes or fails in one call.
            if case .failed(let error) = session.handshake() { throw error }
        }
    }

    /// Reads the next request with its whole body, or returns nil when the client closed the connection.
    func readRequest() throws -> ClientTestServer.Request? {
        guard let head = try readRequestHead() else { return nil }
        return try readRequestBody(for: head)
    }

    /// Reads the next request head, without its body, or returns nil when the client closed the connection.
    func readRequestHead() throws -> ClientTestServer.RequestHead? {
        guard let headEnd = try readUntil(Data("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: pending.prefix(headEnd), as: UTF8.self)
        pending.removeFirst(headEnd + 4)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3 else { throw Failure(description: "bad request line in '\(head)'") }
        var headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw Failure(description: "bad header '\(line)'") }
            headers.add(
                name: String(line[..<colon]),
                value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            )
        }
        return ClientTestServer.RequestHead(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers)
    }

    /// Reads the body that `head` announces and returns the whole request.
    func readRequestBody(for head: ClientTestServer.RequestHead) throws -> ClientTestServer.Request {
        var body = BodyCollector()
        if head.headers["Transfer-Encoding"]?.lowercased() == "chunked" {
            try readChunkedBody(into: &body)
        } else {
            try readBody(count: Int(head.headers["Content-Length"] ?? "0") ?? 0, into: &body)
        }
        return ClientTestServer.Request(
            method: head.method, path: head.path, headers: head.headers, body: body.stored,
            bodyCount: body.count, bodyDigest: body.digest.finish()
        )
    }

    /// Whether a byte the server has not read yet is buffered here or waits in the socket. Plain TCP only,
    /// because a TLS session may hold bytes that `poll` does not report.
    var hasUnreadInput: Bool {
        if !pending.isEmpty { return true }
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0 && entry.revents & Int16(POLLIN) != 0 && peekByte()
    }

    private func peekByte() -> Bool {
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) == 1
    }

    /// Reads and drops input until the client closes the connection, for at most `limit`, and returns the number
    /// of bytes dropped, or nil when the client kept the connection open for all of `limit`.
    func discardUntilClosed(limit: Duration) throws -> Int? {
        let deadline = ContinuousClock.now + limit
        var count = pending.count
        pending.removeAll()
        while ContinuousClock.now < deadline {
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 100) > 0 else { continue }
            guard try receive() else { return count }
            count += pending.count
            pending.removeAll()
        }
        return nil
    }

    /// Keeps up to 16 MiB of a body in memory and hashes all of it, so huge uploads need no memory.
    private struct BodyCollector {
        var stored = Data()
        var count = 0
        let digest = ClientDigest()

        mutating func append(_ data: Data) {
            count += data.count
            digest.update(data)
            if count <= 16 << 20 { stored.append(data) } else { stored = Data() }
        }
    }

    private func readChunkedBody(into body: inout BodyCollector) throws {
        while true {
            guard let lineEnd = try readUntil(Data("\r\n".utf8)) else { throw Failure(description: "eof in chunks") }
            let sizeText = String(decoding: pending.prefix(lineEnd), as: UTF8.self)
            pending.removeFirst(lineEnd + 2)
            guard let size = Int(sizeText, radix: 16) else { throw Failure(description: "bad chunk '\(sizeText)'") }
            try readBody(count: size, into: &body)
            _ = try readExactly(2)
            if size == 0 { return }
        }
    }

    private func readBody(count: Int, into body: inout BodyCollector) throws {
        var remaining = count
        while remaining > 0 {
            if pending.isEmpty {
                guard try receive() else { throw Failure(description: "eof with \(remaining) body bytes missing") }
            }
            let piece = pending.prefix(remaining)
            body.append(Data(piece))
            pending.removeFirst(piece.count)
            remaining -= piece.count
        }
    }

    private func readExactly(_ count: Int) throws -> Data {
        while pending.count < count {
            guard try receive() else { throw Failure(description: "eof after \(pending.count) of \(count) bytes") }
        }
        let result = pending.prefix(count)
        pending.removeFirst(count)
        return Data(result)
    }

    private func readUntil(_ marker: Data) throws -> Int? {
        while true {
            if let range = pending.range(of: marker) { return range.lowerBound - pending.startIndex }
            guard try receive() else { return nil }
        }
    }

    private func receive() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        let count: Int = try buffer.withUnsafeMutableBytes { pointer in
            if let session {
                switch session.read(into: pointer) {
                case .done(let count): return count
                case .closed: return 0
                case .failed(let error): throw error
                case .wantRead, .wantWrite: throw Failure(description: "blocking socket reported want-read/write")
                }
            }
            let received = recv(descriptor, pointer.baseAddress, pointer.count, 0)
            return max(received, 0)
        }
        pending.append(contentsOf: buffer.prefix(count))
        return count > 0
    }

    /// Sends `bytes` completely.
    func write(_ bytes: Data) throws {
        try bytes.withUnsafeBytes { pointer in
            var offset = 0
            while offset < pointer.count {
                let rest = UnsafeRawBufferPointer(rebasing: pointer[offset...])
                if let session {
                    guard case .done(let count) = session.write(rest) else { throw Failure(description: "write") }
                    offset += count
                } else {
                    let sent = send(descriptor, rest.baseAddress, rest.count, Int32(MSG_NOSIGNAL))
                    guard sent > 0 else { throw Failure(description: "send errno \(errno)") }
                    offset += sent
                }
            }
        }
    }

    /// Runs `body` with TCP_CORK set, so what it writes leaves in as few segments as possible and reaches the
    /// client's socket together.
    func corked(_ body: () throws -> Void) throws {
        var on: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_CORK, &on, socklen_t(MemoryLayout<Int32>.size))
        defer {
            var off: Int32 = 0
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_CORK, &off, socklen_t(MemoryLayout<Int32>.size))
        }
        try body()
    }

    /// Sends TLS close_notify and keeps the socket open.
    func sendCloseNotify() {
        _ = session?.shutdown()
    }

    /// Sends a response with `Content-Length` framing.
    func respond(status: Int = 200, headers: [(String, String)] = [], body: Data = Data()) throws {
        var head = "HTTP/1.1 \(status) Test\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        try write(Data((head + "\r\n").utf8) + body)
    }

    /// Sends a chunked response made of `chunks`.
    func respondChunked(_ chunks: [Data]) throws {
        try write(Data("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
        for chunk in chunks where !chunk.isEmpty {
            try write(Data(String(chunk.count, radix: 16).utf8) + Data("\r\n".utf8) + chunk + Data("\r\n".utf8))
        }
        try write(Data("0\r\n\r\n".utf8))
    }
}
