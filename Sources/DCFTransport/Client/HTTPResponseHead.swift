// SPDX-License-Identifier: Apache-2.0

/// A response status line and header fields, parsed from raw bytes without Foundation string handling.
struct HTTPResponseHead {
    var minorVersion: Int
    var statusCode: Int
    var reason: String
    var headers: HTTPHeaders

    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")

    /// Parses the head in `bytes`, which ends before the blank line (CRLF CRLF) that closes it.
    ///
    /// - Throws: `HTTPClientError.invalidResponse` naming the malformed line.
    init(parsing bytes: UnsafeRawBufferPointer, server: String) throws {
        var lines = LineSequence(bytes: bytes)
        let statusLine = lines.next() ?? UnsafeRawBufferPointer(start: nil, count: 0)
        guard let status = Self.parseStatusLine(statusLine) else {
            throw HTTPClientError.invalidResponse(server, "malformed status line '\(Self.preview(statusLine))'")
        }
        (minorVersion, statusCode, reason) = status
        headers = HTTPHeaders()
        while let line = lines.next() {
            // A field line has a non-empty name without whitespace; obsolete line folding is rejected too.
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0,
                !line[..<colon].contains(where: { $0 == Self.space || $0 == Self.tab })
            else {
                throw HTTPClientError.invalidResponse(server, "malformed header line '\(Self.preview(line))'")
            }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: line[..<colon]), as: UTF8.self)
            headers.add(name: name, value: Self.trimmedValue(UnsafeRawBufferPointer(rebasing: line[(colon + 1)...])))
        }
    }

    /// Parses `HTTP/1.x SP 3DIGIT [SP reason]`.
    private static func parseStatusLine(_ line: UnsafeRawBufferPointer) -> (Int, Int, String)? {
        let prefix = Array("HTTP/1.".utf8)
        guard line.count >= 12, line.prefix(7).elementsEqual(prefix), line[8] == space else { return nil }
        guard line[7] == UInt8(ascii: "0") || line[7] == UInt8(ascii: "1") else { return nil }
        var code = 0
        for byte in line[9..<12] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            code = code * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard code >= 100, line.count == 12 || line[12] == space else { return nil }
        let reason = line.count > 13 ? String(decoding: UnsafeRawBufferPointer(rebasing: line[13...]), as: UTF8.self) : ""
        return (Int(line[7] - UInt8(ascii: "0")), code, reason)
    }

    /// The field value without leading and trailing spaces and tabs.
    private static func trimmedValue(_ value: UnsafeRawBufferPointer) -> String {
        var start = 0
        var end = value.count
        while start < end, value[start] == space || value[start] == tab { start += 1 }
        while end > start, value[end - 1] == space || value[end - 1] == tab { end -= 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: value[start..<end]), as: UTF8.self)
    }

    private static func preview(_ line: UnsafeRawBufferPointer) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: line.prefix(80)), as: UTF8.self)
    }

    /// The CRLF-separated lines of a head.
    private struct LineSequence {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        mutating func next() -> UnsafeRawBufferPointer? {
            guard offset < bytes.count else { return nil }
            var end = offset
            while end + 1 < bytes.count, !(bytes[end] == 13 && bytes[end + 1] == 10) { end += 1 }
            // Without a further CRLF the line runs to the end of the head.
            if end + 1 >= bytes.count { end = bytes.count }
            let line = UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
            offset = end + 2
            return line
        }
    }
}
