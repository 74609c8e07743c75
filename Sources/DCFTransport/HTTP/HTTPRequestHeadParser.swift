// SPDX-License-Identifier: Apache-2.0

/// How the body of a request is delimited (RFC 9112, section 6).
enum HTTPBodyFraming: Equatable {
    case none
    case contentLength(Int)
    case chunked
}

/// Parses a complete request head (request line, fields and the empty line that ends them) into a value.
enum HTTPRequestHeadParser {
    static func parse(
        _ bytes: UnsafeRawBufferPointer,
        limits: HTTPParserLimits
    ) throws(HTTPParseError) -> (HTTPRequestHead, HTTPBodyFraming) {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).makeIterator()
        guard let requestLine = lines.next() else { throw .malformed("empty request") }
        var head = try parseRequestLine(removingCR(requestLine), limits: limits)
        var count = 0
        while let rawLine = lines.next() {
            let line = removingCR(rawLine)
            if line.isEmpty { break }
            count += 1
            if count > limits.maxHeaderCount {
                throw .headerFieldsTooLarge("more than \(limits.maxHeaderCount) header fields")
            }
            let (name, value) = try parseField(line)
            head.headers.add(name: name, value: value)
        }
        if head.minorVersion == 1, !head.headers.contains("Host") {
            throw .malformed("HTTP/1.1 request without a Host header field")
        }
        return (head, try framing(of: head, limits: limits))
    }

    /// Returns `line` without its final CR. `HTTPRequestParser` has already rejected a head with a bare LF, so
    /// every line here ends with CRLF.
    private static func removingCR(_ line: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        line.last == UInt8(ascii: "\r") ? line.dropLast() : line
    }

    private static func parseRequestLine(
        _ line: Slice<UnsafeRawBufferPointer>,
        limits: HTTPParserLimits
    ) throws(HTTPParseError) -> HTTPRequestHead {
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .malformed("request line is not 'METHOD target HTTP/1.x'")
        }
        guard parts[0].allSatisfy(isTokenByte) else { throw .malformed("invalid method token") }
        guard parts[1].count <= limits.maxURILength else { throw .uriTooLong(limit: limits.maxURILength) }
        guard parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .malformed("request target contains a control, space or non-ASCII byte")
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        let minor: Int
        switch version {
        case "HTTP/1.1": minor = 1
        case "HTTP/1.0": minor = 0
        case _ where version.hasPrefix("HTTP/"):
            throw HTTPParseError(status: .httpVersionNotSupported, detail: "unsupported version \(version)")
        default: throw .malformed("invalid HTTP version")
        }
        return HTTPRequestHead(
            method: String(decoding: parts[0], as: UTF8.self),
            target: String(decoding: parts[1], as: UTF8.self),
            minorVersion: minor
        )
    }

    private static func parseField(_ line: Slice<UnsafeRawBufferPointer>) throws(HTTPParseError) -> (String, String) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .malformed("header field without ':'") }
        let name = line[line.startIndex..<colon]
        // A name must be a token: this also rejects obsolete line folding and space before the colon.
        guard !name.isEmpty, name.allSatisfy(isTokenByte) else { throw .malformed("invalid header field name") }
        let value = line[(colon + 1)...]
        guard !value.contains(where: { $0 == 0 || $0 == UInt8(ascii: "\r") }) else {
            throw .malformed("header field value contains NUL or CR")
        }
        return (String(decoding: name, as: UTF8.self), String(String(decoding: value, as: UTF8.self).trimmingSpaces()))
    }

    private static func framing(of head: HTTPRequestHead, limits: HTTPParserLimits) throws(HTTPParseError) -> HTTPBodyFraming {
        let lengths = head.headers.values(for: "Content-Length")
        let codings = head.headers.values(for: "Transfer-Encoding")
        if !codings.isEmpty {
            guard lengths.isEmpty else { throw .malformed("both Transfer-Encoding and Content-Length") }
            // HTTP/1.0 has no Transfer-Encoding, so an intermediary may frame such a request differently.
            guard head.minorVersion >= 1 else { throw .malformed("Transfer-Encoding in an HTTP/1.0 request") }
            let list = codings.flatMap { $0.split(separator: ",").map { $0.trimmingSpaces().lowercased() } }
            guard list == ["chunked"] else {
                throw HTTPParseError(status: .notImplemented, detail: "unsupported Transfer-Encoding \(list)")
            }
            return .chunked
        }
        guard !lengths.isEmpty else { return .none }
        // Repeated fields and comma-separated lists are allowed when every value is the same (RFC 9110, 8.6).
        let values = Set(lengths.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map {
            String($0.trimmingSpaces())
        })
        guard values.count == 1, let value = values.first else {
            let listed = values.sorted().prefix(4).map { "'\($0.prefix(40))'" }.joined(separator: ", ")
            throw .malformed("conflicting Content-Length values \(listed)")
        }
        guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw .malformed("invalid Content-Length '\(value.prefix(40))'")
        }
        // More than 18 significant digits cannot be an Int, and such a length passes any body limit.
        let digits = value.drop { $0 == "0" }
        guard digits.count <= 18, let length = Int(value) else { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
        guard length <= limits.maxBodyBytes else { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
        return length == 0 ? .none : .contentLength(length)
    }
}

/// Whether `byte` may appear in an HTTP token (RFC 9110, section 5.6.2).
func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    default:
        return "!#$%&'*+-.^_`|~".utf8.contains(byte)
    }
}
