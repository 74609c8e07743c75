// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The body framing that the header fields of a response announce, shared by `HTTPResponseReader` and the
/// multiplexed client's `HTTPResponseParser`. The status and request method that rule out a body are checked
/// by the callers.
enum ResponseFraming {
    /// Returns the framing that `headers` announce: chunked, `Content-Length`, or until the server closes.
    ///
    /// `Transfer-Encoding` overrides `Content-Length` (RFC 9112, section 6.3) and must list `chunked` alone,
    /// because the client decodes no other coding. `Content-Length` must be digits only. Repeated fields and
    /// comma-separated lists are read as one value when every member is the same, as RFC 9110, section 8.6
    /// allows, because proxies produce them. An empty member or two different values are invalid.
    /// - Throws: `HTTPClientError.invalidResponse` naming the field that is invalid or unsupported.
    static func announced(by headers: HTTPHeaders, server: String) throws -> HTTPResponseReader.Framing {
        let encodings = headers.values(for: "Transfer-Encoding")
        if !encodings.isEmpty {
            let codings = encodings.flatMap { $0.split(separator: ",").map { $0.trimmingSpaces().lowercased() } }
            guard codings == ["chunked"] else {
                let listed = encodings.joined(separator: ", ")
                throw HTTPClientError.invalidResponse(server, "unsupported Transfer-Encoding '\(listed.prefix(80))'")
            }
            return .chunked
        }
        let lengths = headers.values(for: "Content-Length")
        guard !lengths.isEmpty else { return .untilClose }
        let members = lengths.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let value = members[0].trimmingSpaces()
        guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let length = Int(value), members.allSatisfy({ $0.trimmingSpaces() == value })
        else {
            let listed = lengths.joined(separator: ",")
            throw HTTPClientError.invalidResponse(server, "invalid Content-Length '\(listed.prefix(80))'")
        }
        return .contentLength(length)
    }

    /// Returns whether a response head lets its connection carry another request: HTTP/1.1, no `Connection:
    /// close`, not 101 (the connection no longer carries HTTP/1.1 after it), and not framed by both
    /// `Transfer-Encoding` and `Content-Length`, which a proxy on the way may have framed by the length
    /// (RFC 9112, section 6.3).
    static func headAllowsReuse(minorVersion: Int, statusCode: Int, headers: HTTPHeaders) -> Bool {
        let ambiguousFraming = headers.contains("Transfer-Encoding") && headers.contains("Content-Length")
        return minorVersion == 1 && statusCode != 101 && !ambiguousFraming
            && !headers.containsToken("close", in: "Connection")
    }

    /// Returns the chunk size written in hexadecimal digits only, or nil for anything else, such as a sign.
    static func chunkSize<Text: StringProtocol>(_ digits: Text) -> Int? {
        guard !digits.isEmpty, digits.utf8.allSatisfy({ isHexDigit($0) }) else { return nil }
        return Int(digits, radix: 16)
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
            UInt8(ascii: "A")...UInt8(ascii: "F"):
            return true
        default:
            return false
        }
    }
}
