// SPDX-License-Identifier: Apache-2.0

/// One step of request parsing.
enum HTTPParseEvent {
    /// A complete head and how its body is delimited.
    case head(HTTPRequestHead, HTTPBodyFraming)
    /// Body bytes: this range of the input passed to `parse`.
    case body(Range<Int>)
    /// The end of the request: the body, if any, is complete.
    case end
}

/// An incremental HTTP/1.1 request parser: feed it bytes as they arrive, one event per call.
///
/// The parser copies only head and chunk-size bytes that span reads; body bytes are returned as ranges of
/// the caller's input, so a large body streams through without being buffered here.
struct HTTPRequestParser {
    private enum State {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case complete
    }

    let limits: HTTPParserLimits
    private var state = State.head
    private var pending: [UInt8] = []
    private var bodyBytes = 0
    /// Whether the empty line allowed before the current request line was dropped.
    private var skippedEmptyLine = false
    /// Bytes of the current request's trailer section so far, line ends included.
    private var trailerBytes = 0

    init(limits: HTTPParserLimits) {
        self.limits = limits
    }

    /// Whether the parser holds a partial head or line: bytes of a request whose head is not complete.
    var hasPartialHead: Bool {
        if case .head = state { return !pending.isEmpty }
        return false
    }

    /// Whether the current request's body is being read.
    var isReadingBody: Bool {
        switch state {
        case .head, .complete: false
        default: true
        }
    }

    /// Whether the current request is complete and `takeEnd` will return `.end`.
    var isAtRequestEnd: Bool {
        if case .complete = state { return true }
        return false
    }

    /// Prepares for the next request on the connection after `.end`.
    mutating func reset() {
        state = .head
        pending = []
        bodyBytes = 0
        skippedEmptyLine = false
        trailerBytes = 0
    }

    /// Consumes a prefix of `input` and returns how much, with the event it completed, if any.
    ///
    /// Returns `(0, nil)` only at the end of a request that was not reset, or when `input` is empty.
    mutating func parse(_ input: UnsafeRawBufferPointer) throws(HTTPParseError) -> (consumed: Int, event: HTTPParseEvent?) {
        guard !input.isEmpty else { return (0, nil) }
        switch state {
        case .head:
            return try parseHead(input)
        case .fixedBody(let remaining):
            let count = min(remaining, input.count)
            state = remaining == count ? .complete : .fixedBody(remaining: remaining - count)
            return (count, .body(0..<count))
        case .chunkSize:
            return try parseChunkSize(input)
        case .chunkData(let remaining):
            let count = min(remaining, input.count)
            state = remaining == count ? .chunkDataEnd : .chunkData(remaining: remaining - count)
            return (count, .body(0..<count))
        case .chunkDataEnd:
            return try parseChunkDataEnd(input)
        case .trailers:
            return try parseTrailers(input)
        case .complete:
            return (0, nil)
        }
    }

    /// Returns `.end` once after the last body byte; call before `parse` so a request without a body ends.
    mutating func takeEnd() -> HTTPParseEvent? {
        guard case .complete = state else { return nil }
        reset()
        return .end
    }

    private mutating func parseHead(_ input: UnsafeRawBufferPointer) throws(HTTPParseError) -> (Int, HTTPParseEvent?) {
        if !skippedEmptyLine, let skipped = skipEmptyLine(input) { return (skipped, nil) }
        let searchStart = max(0, pending.count - 3)
        let previous = pending.count
        let room = limits.maxHeaderBytes - pending.count
        pending.append(contentsOf: input.prefix(max(0, room) + 1))
        let headEnd = findEmptyLine(in: pending, from: searchStart)
        // Checked as bytes arrive, so a head ended by bare LFs only is rejected now rather than at the timeout.
        try rejectBareLineFeed(in: pending, from: previous, to: headEnd ?? pending.count)
        guard let end = headEnd else {
            if pending.count > limits.maxHeaderBytes { throw tooLargeError() }
            return (pending.count - previous, nil)
        }
        let consumed = end - previous
        let limits = limits
        let result = pending.withUnsafeBytes { bytes in
            Result { () throws(HTTPParseError) in
                try HTTPRequestHeadParser.parse(UnsafeRawBufferPointer(rebasing: bytes[..<end]), limits: limits)
            }
        }
        let parsed = try result.get()
        pending = []
        switch parsed.1 {
        case .none: state = .complete
        case .contentLength(let length): state = .fixedBody(remaining: length)
        case .chunked: state = .chunkSize
        }
        return (consumed, .head(parsed.0, parsed.1))
    }

    /// Drops one CRLF before a request line, as RFC 9112, section 2.2, advises, because some clients send one
    /// after a request body. Returns the bytes of `input` it used, or nil when `input` does not continue an
    /// empty line. A lone CR is kept as a partial head until the next byte shows whether LF follows it.
    private mutating func skipEmptyLine(_ input: UnsafeRawBufferPointer) -> Int? {
        let carriageReturn = UInt8(ascii: "\r")
        let lineFeed = UInt8(ascii: "\n")
        if pending == [carriageReturn], input[0] == lineFeed {
            pending = []
            skippedEmptyLine = true
            return 1
        }
        guard pending.isEmpty, input[0] == carriageReturn else { return nil }
        guard input.count > 1 else {
            pending = [carriageReturn]
            return 1
        }
        guard input[1] == lineFeed else { return nil }
        skippedEmptyLine = true
        return 2
    }

    /// The error for a head that outgrew `maxHeaderBytes`: 414 while the request line is still incomplete.
    private func tooLargeError() -> HTTPParseError {
        if !pending.contains(UInt8(ascii: "\n")) { return .uriTooLong(limit: limits.maxURILength) }
        return .headerFieldsTooLarge("request head larger than \(limits.maxHeaderBytes) bytes")
    }

    private mutating func parseChunkSize(_ input: UnsafeRawBufferPointer) throws(HTTPParseError) -> (Int, HTTPParseEvent?) {
        guard let (line, consumed) = try takeLine(input, limit: 1024) else { return (input.count, nil) }
        let size = try Self.chunkSize(in: line)
        bodyBytes += size
        guard bodyBytes <= limits.maxBodyBytes else { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
        state = size == 0 ? .trailers : .chunkData(remaining: size)
        return (consumed, nil)
    }

    /// Reads the size from a chunk-size line. RFC 9112, section 7.1, allows only hex digits there, followed by
    /// nothing or by optional whitespace and a `;` extension. So "1 0" is an error and not 0x10, because a proxy
    /// in front of this server could read that line differently and split the body elsewhere.
    private static func chunkSize(in line: [UInt8]) throws(HTTPParseError) -> Int {
        let digits = line.prefix(while: isHexDigit)
        let afterDigits = line.dropFirst(digits.count)
        let extensionStart = afterDigits.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        // At most 15 hex digits keep the size below 2^60, so adding it to `bodyBytes` cannot overflow.
        guard !digits.isEmpty, digits.count <= 15, afterDigits.isEmpty || extensionStart.first == UInt8(ascii: ";"),
            let size = Int(String(decoding: digits, as: UTF8.self), radix: 16)
        else {
            throw .malformed(
                "invalid chunk size line \(printable(line)); send the size in hex digits, optionally followed by ';'"
                    + " and chunk extensions")
        }
        return size
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    private mutating func parseChunkDataEnd(_ input: UnsafeRawBufferPointer) throws(HTTPParseError) -> (Int, HTTPParseEvent?) {
        guard let (line, consumed) = try takeLine(input, limit: 2) else { return (input.count, nil) }
        guard line.isEmpty else { throw .malformed("chunk data longer than its size") }
        state = .chunkSize
        return (consumed, nil)
    }

    private mutating func parseTrailers(_ input: UnsafeRawBufferPointer) throws(HTTPParseError) -> (Int, HTTPParseEvent?) {
        // Trailer fields are read and dropped: nothing in this server uses them. The section as a whole is held to
        // the limit of a head, so a client cannot extend a request without end past `maxBodyBytes`.
        guard let (line, consumed) = try takeLine(input, limit: limits.maxHeaderBytes) else { return (input.count, nil) }
        trailerBytes += line.count + 2
        guard trailerBytes <= limits.maxHeaderBytes else {
            throw .headerFieldsTooLarge("trailer section larger than \(limits.maxHeaderBytes) bytes")
        }
        if line.isEmpty { state = .complete }
        return (consumed, nil)
    }

    /// Returns one CRLF-terminated line without its terminator, joining bytes kept from earlier reads, and
    /// how many bytes of `input` it used; nil when `input` ends first, having kept all of it.
    private mutating func takeLine(
        _ input: UnsafeRawBufferPointer,
        limit: Int
    ) throws(HTTPParseError) -> ([UInt8], Int)? {
        guard let newline = input.firstIndex(of: UInt8(ascii: "\n")) else {
            pending.append(contentsOf: input)
            if pending.count > limit { throw .malformed("line longer than \(limit) bytes in chunked body") }
            return nil
        }
        var line = pending + input[..<newline]
        pending = []
        guard line.last == UInt8(ascii: "\r") else { throw .malformed("line in chunked body not ended by CRLF") }
        line.removeLast()
        if line.count > limit { throw .malformed("line longer than \(limit) bytes in chunked body") }
        return (line, newline + 1)
    }

    /// Throws when a line feed in `bytes[start..<end]` is not preceded by a carriage return.
    ///
    /// RFC 9112, section 2.2, lets a server accept a bare LF as a line end, but a proxy that does not would see
    /// other field boundaries. An empty line made of a bare LF would then end the field section early here and
    /// drop the fields after it, such as `Transfer-Encoding`.
    private func rejectBareLineFeed(in bytes: [UInt8], from start: Int, to end: Int) throws(HTTPParseError) {
        for index in start..<end where bytes[index] == UInt8(ascii: "\n") {
            guard index > 0, bytes[index - 1] == UInt8(ascii: "\r") else {
                throw .malformed(
                    "line feed without a carriage return at byte \(index) of the request head; end each line with CRLF")
            }
        }
    }

    private func findEmptyLine(in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var index = start
        while index + 3 < bytes.count {
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 {
                return index + 4
            }
            index += 1
        }
        return nil
    }

    /// Renders up to 40 bytes of `line` in quotes for an error message. Bytes outside printable ASCII become
    /// `\xNN`, because the message goes into the response body and the log.
    private static func printable(_ line: [UInt8]) -> String {
        var text = line.prefix(40).map { byte in
            guard (0x20..<0x7F).contains(byte) else {
                let hex = String(byte, radix: 16, uppercase: true)
                return byte < 0x10 ? "\\x0" + hex : "\\x" + hex
            }
            return String(UnicodeScalar(byte))
        }.joined()
        if line.count > 40 { text += "..." }
        return "'\(text)'"
    }
}
