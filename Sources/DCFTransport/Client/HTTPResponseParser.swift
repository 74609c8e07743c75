// SPDX-License-Identifier: Apache-2.0
import Foundation

/// An incremental HTTP/1.1 response parser fed with whatever bytes the socket returned.
///
/// It consumes bytes up to the end of one final response and no further, so bytes that follow stay with the
/// caller. The head is parsed byte by byte; interim 1xx responses other than 101 are skipped.
struct HTTPResponseParser {
    private enum State {
        case head
        case fixedBody(remaining: Int)
        case chunkSizeLine
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailerLine
        case untilClose
        case complete
    }

    private let server: String
    private let requestMethod: String
    private let maximumHeadSize: Int
    private let maximumBodySize: Int
    private var state = State.head
    /// Head bytes, or the current chunk-size or trailer line, collected across reads.
    private var pending: [UInt8] = []
    /// How far `pending` was already searched for the end of the head.
    private var searchedHeadBytes = 0
    private var head: HTTPResponseHead?
    private var body = Data()

    /// Longest chunk-size or trailer line accepted.
    private static let maximumLineLength = 8 << 10

    init(server: String, requestMethod: String, maximumHeadSize: Int, maximumBodySize: Int) {
        self.server = server
        self.requestMethod = requestMethod
        self.maximumHeadSize = maximumHeadSize
        self.maximumBodySize = maximumBodySize
    }

    /// Whether the response is complete.
    var isComplete: Bool {
        if case .complete = state { return true }
        return false
    }

    /// Whether the body lasts until the server closes the connection (no `Content-Length`, not chunked).
    var readsUntilClose: Bool {
        if case .untilClose = state { return true }
        return false
    }

    /// The completed response, or nil until `isComplete`.
    var response: HTTPClientResponse? {
        guard isComplete, let head else { return nil }
        return HTTPClientResponse(statusCode: head.statusCode, reason: head.reason, headers: head.headers, body: body)
    }

    /// Whether the connection may carry another request after this response; see `ResponseFraming.headAllowsReuse`.
    var allowsKeepAlive: Bool {
        guard let head, isComplete else { return false }
        return ResponseFraming.headAllowsReuse(
            minorVersion: head.minorVersion, statusCode: head.statusCode, headers: head.headers)
    }

    /// Parses from `bytes` and returns how many it used; fewer than given only once the response is complete.
    ///
    /// - Throws: `HTTPClientError` for a malformed response or one over the size limits.
    mutating func consume(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            switch state {
            case .complete: return offset
            case .head: offset += try consumeHead(rest)
            case .fixedBody(let remaining):
                let count = min(remaining, rest.count)
                body.append(contentsOf: rest.prefix(count))
                offset += count
                state = remaining == count ? .complete : .fixedBody(remaining: remaining - count)
            case .chunkData(let remaining):
                let count = min(remaining, rest.count)
                try appendToBody(UnsafeRawBufferPointer(rebasing: rest.prefix(count)))
                offset += count
                state = remaining == count ? .chunkDataEnd : .chunkData(remaining: remaining - count)
            case .chunkSizeLine, .chunkDataEnd, .trailerLine:
                let (used, line) = try collectLine(rest)
                offset += used
                if let line { try handleLine(line) }
            case .untilClose:
                try appendToBody(rest)
                offset += rest.count
            }
        }
        return offset
    }

    /// Ends a body that lasts until the connection closes; call when the server closed the connection.
    ///
    /// - Returns: whether the response is now complete; false means it was cut off.
    mutating func finishAtEndOfStream() -> Bool {
        if case .untilClose = state { state = .complete }
        return isComplete
    }

    private mutating func appendToBody(_ bytes: UnsafeRawBufferPointer) throws {
        guard body.count + bytes.count <= maximumBodySize else {
            throw HTTPClientError.responseTooLarge(server, limit: maximumBodySize)
        }
        body.append(contentsOf: bytes)
    }

    // MARK: Head

    private mutating func consumeHead(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        let before = pending.count
        let taken = min(bytes.count, maximumHeadSize + 4 - before)
        pending.append(contentsOf: bytes.prefix(taken))
        guard let end = findHeadEnd() else {
            if pending.count >= maximumHeadSize + 4 {
                throw HTTPClientError.invalidResponse(server, "response head exceeds \(maximumHeadSize) bytes")
            }
            return taken
        }
        let parsed = try pending.withUnsafeBytes { raw in
            try HTTPResponseHead(parsing: UnsafeRawBufferPointer(rebasing: raw[..<end]), server: server)
        }
        pending.removeAll(keepingCapacity: true)
        searchedHeadBytes = 0
        // Bytes after the blank line belong to the body or the next response; give them back.
        let used = end + 4 - before
        if parsed.statusCode < 200 && parsed.statusCode != 101 { return used }
        head = parsed
        state = try bodyState(for: parsed)
        return used
    }

    private mutating func findHeadEnd() -> Int? {
        var index = max(0, searchedHeadBytes - 3)
        while index + 3 < pending.count {
            if pending[index] == 13, pending[index + 1] == 10, pending[index + 2] == 13, pending[index + 3] == 10 {
                return index
            }
            index += 1
        }
        searchedHeadBytes = pending.count
        return nil
    }

    private func bodyState(for head: HTTPResponseHead) throws -> State {
        if requestMethod == "HEAD" || head.statusCode == 204 || head.statusCode == 304 || head.statusCode == 101 {
            return .complete
        }
        let length: Int
        switch try ResponseFraming.announced(by: head.headers, server: server) {
        case .chunked: return .chunkSizeLine
        case .untilClose: return .untilClose
        case .contentLength(let announced): length = announced
        case .none: return .complete
        }
        guard length <= maximumBodySize else { throw HTTPClientError.responseTooLarge(server, limit: maximumBodySize) }
        return length == 0 ? .complete : .fixedBody(remaining: length)
    }

    // MARK: Chunked body

    /// Collects bytes up to and including LF into `pending`; returns the bytes used and the line without CRLF
    /// once it is whole.
    private mutating func collectLine(_ bytes: UnsafeRawBufferPointer) throws -> (Int, [UInt8]?) {
        guard let newline = bytes.firstIndex(of: 10) else {
            pending.append(contentsOf: bytes)
            guard pending.count <= Self.maximumLineLength else {
                throw HTTPClientError.invalidResponse(server, "chunk line exceeds \(Self.maximumLineLength) bytes")
            }
            return (bytes.count, nil)
        }
        pending.append(contentsOf: bytes[..<newline])
        if pending.last == 13 { pending.removeLast() }
        defer { pending.removeAll(keepingCapacity: true) }
        return (newline + 1, pending)
    }

    private mutating func handleLine(_ line: [UInt8]) throws {
        switch state {
        case .chunkSizeLine:
            let size = try Self.chunkSize(line, server: server)
            state = size == 0 ? .trailerLine : .chunkData(remaining: size)
        case .chunkDataEnd:
            guard line.isEmpty else { throw HTTPClientError.invalidResponse(server, "missing CRLF after a chunk") }
            state = .chunkSizeLine
        case .trailerLine:
            // Trailer fields are skipped up to the blank line that ends the message.
            if line.isEmpty { state = .complete }
        default:
            preconditionFailure("handleLine called in state \(state)")
        }
    }

    /// Parses the hexadecimal size at the start of a chunk-size line, before any `;` extension.
    private static func chunkSize(_ line: [UInt8], server: String) throws -> Int {
        var size = 0
        var digits = 0
        for byte in line {
            // More than 15 digits would overflow; the digit left over then fails the check below.
            guard let digit = hexValue(byte), digits < 15 else { break }
            size = size << 4 | digit
            digits += 1
        }
        let rest = line.dropFirst(digits).first
        let validEnd = rest == nil || rest == UInt8(ascii: ";") || rest == UInt8(ascii: " ") || rest == UInt8(ascii: "\t")
        guard digits > 0, validEnd else {
            let text = String(decoding: line.prefix(40), as: UTF8.self)
            throw HTTPClientError.invalidResponse(server, "invalid chunk size '\(text)'")
        }
        return size
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
