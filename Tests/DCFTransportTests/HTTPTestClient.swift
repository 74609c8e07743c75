// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport

@testable import DCFTransport

/// A response as the test client parsed it.
struct TestResponse {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }
}

struct TestClientError: Error, CustomStringConvertible {
    let description: String
}

/// A blocking HTTP/1.1 client over a loopback socket, plain or TLS, that sends raw bytes and parses responses.
final class HTTPTestClient {
    let fd: Int32
    private let session: TLSSession?
    private var buffer: [UInt8] = []

    /// Connects to 127.0.0.1:`port`; with `tls`, completes a TLS handshake. Reads time out after `timeout` seconds.
    init(port: Int, tls: TLSContext? = nil, timeout: Int = 10) throws {
        let fd: Int32
        do {
            fd = try LoopbackSocket.connect(port: port, timeout: timeout)
        } catch {
            throw TestClientError(description: String(describing: error))
        }
        self.fd = fd
        guard let tls else {
            session = nil
            return
        }
        session = try TLSSession(context: tls, fileDescriptor: fd, serverName: "localhost")
        guard case .done = session!.handshake() else {
            Foundation.close(fd)
            throw TestClientError(description: "TLS handshake failed")
        }
    }

    deinit {
        Foundation.close(fd)
    }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let count = try bytes.withUnsafeBytes { raw in
                try writeSome(UnsafeRawBufferPointer(rebasing: raw[offset...]))
            }
            offset += count
        }
    }

    private func writeSome(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        if let session {
            guard case .done(let count) = session.write(bytes) else { throw TestClientError(description: "TLS write failed") }
            return count
        }
        let count = Foundation.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
        guard count > 0 else { throw TestClientError(description: "send failed: errno \(errno)") }
        return count
    }

    /// Ends the client's stream and keeps reading: sends close_notify over TLS, then shuts down the socket's
    /// write side.
    func shutdownWrite() {
        _ = session?.shutdown()
        Foundation.shutdown(fd, Int32(SHUT_WR))
    }

    /// Reads what arrives next; an empty array means the server closed the connection.
    func receive() throws -> [UInt8] {
        if !buffer.isEmpty {
            defer { buffer = [] }
            return buffer
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count: Int
        if let session {
            switch chunk.withUnsafeMutableBytes({ session.read(into: $0) }) {
            case .done(let read): count = read
            case .closed: count = 0
            case .failed: count = 0
            case .wantRead, .wantWrite: throw TestClientError(description: "read timed out")
            }
        } else {
            count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == ECONNRESET { return [] }
                throw TestClientError(description: "read failed or timed out: errno \(errno)")
            }
        }
        return Array(chunk[0..<count])
    }

    /// Whether the server ended the TLS stream with close_notify, and false for plain HTTP. Meaningful once a read
    /// returned the end of the stream.
    var receivedCloseNotify: Bool { session?.receivedCloseNotify ?? false }

    /// Reads until the server closes the connection and returns everything received.
    func receiveUntilClosed() throws -> [UInt8] {
        var all: [UInt8] = []
        while true {
            let chunk = try receive()
            if chunk.isEmpty { return all }
            all += chunk
        }
    }

    /// Reads one response; the body is passed to `onBody` in pieces when given, else collected.
    func readResponse(method: String = "GET", onBody: (([UInt8]) -> Void)? = nil) throws -> TestResponse {
        let headText = try readHead()
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw TestClientError(description: "invalid status line in \(headText)")
        }
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            let parts = line.split(separator: ":", maxSplits: 1)
            headers[parts[0].lowercased()] = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        }
        var response = TestResponse(status: status, headers: headers, body: [])
        let sink: ([UInt8]) -> Void = onBody ?? { response.body += $0 }
        if method == "HEAD" || status == 204 || status == 304 || status < 200 { return response }
        if headers["transfer-encoding"] == "chunked" {
            try readChunked(into: sink)
        } else if let length = headers["content-length"].flatMap({ Int($0) }) {
            try readExactly(length, into: sink)
        } else {
            sink(try receiveUntilClosed())
        }
        return response
    }

    private func readHead() throws -> String {
        while true {
            if let end = findEmptyLine() {
                let head = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                return head
            }
            let chunk = try receiveRaw()
            guard !chunk.isEmpty else { throw TestClientError(description: "connection closed before a response head") }
            buffer += chunk
        }
    }

    private func readExactly(_ length: Int, into sink: ([UInt8]) -> Void) throws {
        var remaining = length
        while remaining > 0 {
            if buffer.isEmpty {
                buffer = try receiveRaw()
                guard !buffer.isEmpty else { throw TestClientError(description: "closed with \(remaining) body bytes missing") }
            }
            let take = min(remaining, buffer.count)
            sink(Array(buffer[0..<take]))
            buffer.removeFirst(take)
            remaining -= take
        }
    }

    private func readChunked(into sink: ([UInt8]) -> Void) throws {
        while true {
            let sizeLine = try readLine()
            guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
                throw TestClientError(description: "invalid chunk size line '\(sizeLine)'")
            }
            if size == 0 {
                while try !readLine().isEmpty {}
                return
            }
            try readExactly(size, into: sink)
            _ = try readLine()
        }
    }

    private func readLine() throws -> String {
        while true {
            if let index = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[0..<index], as: UTF8.self).trimmingCharacters(in: ["\r"])
                buffer.removeFirst(index + 1)
                return line
            }
            let chunk = try receiveRaw()
            guard !chunk.isEmpty else { throw TestClientError(description: "closed inside a chunked body") }
            buffer += chunk
        }
    }

    private func receiveRaw() throws -> [UInt8] {
        let saved = buffer
        buffer = []
        let chunk = try receive()
        buffer = saved
        return chunk
    }

    private func findEmptyLine() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 0...(buffer.count - 4)
        where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return nil
    }
}
