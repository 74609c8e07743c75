// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Reads one HTTP/1.1 response from a connection: the head, then the body by its framing.
struct HTTPResponseReader {
    /// The rule that marks the end of the body.
    enum Framing: Equatable {
        case none
        case contentLength(Int)
        case chunked
        case untilClose
    }

    /// A parsed status line and header fields.
    struct Head {
        var minorVersion: Int
        var statusCode: Int
        var reason: String
        var headers: HTTPHeaders
    }

    let connection: HTTPClientConnection
    let maximumHeadSize: Int
    private var server: String { connection.server }

    /// Reads heads until a final (non-1xx) one arrives and returns it.
    func readFinalHead() throws -> Head {
        while true {
            let head = try readHead()
            if Self.isFinal(head) { return head }
        }
    }

    /// Reads heads after a request head sent with `Expect: 100-continue`, skipping interim heads other than 100.
    ///
    /// - Returns: `nil` on `100 Continue`, so the body may follow, or the final head that arrived instead.
    /// - Throws: `HTTPClientError`. A timeout error names the wait for `100 Continue` in its description.
    func readContinueOrFinalHead() throws -> Head? {
        let step = "waiting for 100 Continue"
        do {
            while true {
                let head = try readHead(step: step)
                if head.statusCode == 100 { return nil }
                if Self.isFinal(head) { return head }
            }
        } catch let error as HTTPClientError {
            throw error.withTimeoutStep(step)
        }
    }

    /// Returns whether `head` is final, with a status of 200 or more or 101 Switching Protocols.
    private static func isFinal(_ head: Head) -> Bool {
        head.statusCode >= 200 || head.statusCode == 101
    }

    /// Reads one head. The error names `step` when the server closes the connection first.
    private func readHead(step: String = "waiting for the response head") throws -> Head {
        var searchedUpTo = 0
        while true {
            let bytes = connection.buffered
            if let end = Self.findHeadEnd(in: bytes, from: searchedUpTo) {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<end]), as: UTF8.self)
                connection.consume(end + 4)
                return try parseHead(text)
            }
            searchedUpTo = max(0, bytes.count - 3)
            let overflow = HTTPClientError.invalidResponse(server, "response head exceeds \(maximumHeadSize) bytes")
            guard try connection.fill(maximumBuffered: maximumHeadSize, overflow: overflow) else {
                throw HTTPClientError.connectionClosed(server, while: step)
            }
            if connection.buffered.count > maximumHeadSize { throw overflow }
        }
    }

    private static func findHeadEnd(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var index = start
        while index + 3 < bytes.count {
            if bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
                return index
            }
            index += 1
        }
        return nil
    }

    private func parseHead(_ text: String) throws -> Head {
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)[...]
        let statusLine = lines.popFirst() ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0",
            let code = Int(parts[1]), (100...999).contains(code)
        else {
            throw HTTPClientError.invalidResponse(server, "malformed status line '\(statusLine.prefix(80))'")
        }
        var headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                throw HTTPClientError.invalidResponse(server, "malformed header line '\(line.prefix(80))'")
            }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.add(name: String(line[..<colon]), value: value)
        }
        return Head(
            minorVersion: parts[0] == "HTTP/1.1" ? 1 : 0, statusCode: code,
            reason: parts.count > 2 ? String(parts[2]) : "", headers: headers
        )
    }

    /// Returns the body framing of `head`, the response to a request with `method`.
    func framing(of head: Head, method: String) throws -> Framing {
        if method == "HEAD" || head.statusCode == 204 || head.statusCode == 304 || head.statusCode < 200 {
            return .none
        }
        return try ResponseFraming.announced(by: head.headers, server: server)
    }

    /// Passes every body byte to `sink`, in pieces valid only during each call.
    func readBody(_ framing: Framing, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        switch framing {
        case .none: return
        case .contentLength(let length): try readFixed(length, into: sink)
        case .chunked: try readChunked(into: sink)
        case .untilClose:
            repeat {
                let piece = connection.buffered
                if !piece.isEmpty {
                    try sink(piece)
                    connection.consume(piece.count)
                }
            } while try connection.fill(overflow: .invalidResponse(server, "buffer overflow"))
            if connection.endedWithoutCloseNotify { throw HTTPClientError.closedWithoutCloseNotify(server) }
        }
    }

    private func readFixed(_ length: Int, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var remaining = length
        while remaining > 0 {
            if connection.buffered.isEmpty {
                guard try connection.fill(overflow: .invalidResponse(server, "buffer overflow")) else {
                    throw closedMidBody(received: length - remaining, of: length)
                }
            }
            let piece = UnsafeRawBufferPointer(rebasing: connection.buffered.prefix(remaining))
            try sink(piece)
            connection.consume(piece.count)
            remaining -= piece.count
        }
    }

    /// Returns the error for a connection that closed after `received` of the `length` bytes of a body or chunk.
    func closedMidBody(received: Int, of length: Int) -> HTTPClientError {
        HTTPClientError.connectionClosed(server, while: "receiving the body (\(received) of \(length) bytes received)")
    }

    private func readChunked(into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        while true {
            let sizeLine = try readLine()
            let digits = sizeLine.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
            guard let size = ResponseFraming.chunkSize(digits.trimmingSpaces()) else {
                throw HTTPClientError.invalidResponse(server, "invalid chunk size '\(sizeLine.prefix(40))'")
            }
            if size == 0 { break }
            try readFixed(size, into: sink)
            guard try readLine().isEmpty else {
                throw HTTPClientError.invalidResponse(server, "missing CRLF after a chunk")
            }
        }
        // Trailer fields are read and ignored up to the empty line that ends the message.
        while try !readLine().isEmpty {}
    }

    /// Reads one CRLF-terminated line of at most 8 KiB, without the CRLF.
    private func readLine() throws -> String {
        let limit = 8 << 10
        while true {
            let bytes = connection.buffered
            if let newline = bytes.firstIndex(of: 10) {
                var end = newline
                if end > 0 && bytes[end - 1] == 13 { end -= 1 }
                let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<end]), as: UTF8.self)
                connection.consume(newline + 1)
                return line
            }
            let overflow = HTTPClientError.invalidResponse(server, "chunk line exceeds \(limit) bytes")
            if bytes.count > limit { throw overflow }
            guard try connection.fill(overflow: overflow) else {
                throw HTTPClientError.connectionClosed(server, while: "receiving a chunked body")
            }
        }
    }
}
