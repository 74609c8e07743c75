// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DCFTransport

/// Request framing that other HTTP implementations read differently must be rejected, not guessed at: a proxy
/// in front of a `plain_http` server would otherwise see other request boundaries than the server.
@Suite struct HTTPFramingStrictnessTests {
    private static let limits = HTTPParserLimits(
        maxHeaderBytes: 4096, maxHeaderCount: 20, maxURILength: 1024, maxBodyBytes: 1 << 20)

    /// Parses `text` in one piece and returns the heads and the body bytes, or throws the parse error.
    private func parse(_ text: String) throws(HTTPParseError) -> (heads: [HTTPRequestHead], body: [UInt8]) {
        var parser = HTTPRequestParser(limits: Self.limits)
        var heads: [HTTPRequestHead] = []
        var body: [UInt8] = []
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            _ = parser.takeEnd()
            let result = bytes.withUnsafeBytes { raw in
                Result { () throws(HTTPParseError) in
                    let rest = UnsafeRawBufferPointer(rebasing: raw[offset...])
                    let (consumed, event) = try parser.parse(rest)
                    var chunk: [UInt8] = []
                    if case .body(let range) = event { chunk = Array(rest[range]) }
                    return (consumed, event, chunk)
                }
            }
            let (consumed, event, chunk) = try result.get()
            if case .head(let head, _) = event { heads.append(head) }
            body += chunk
            if consumed == 0 { break }
            offset += consumed
        }
        return (heads, body)
    }

    /// Returns the error that parsing `text` throws, or nil when it parses.
    private func parseError(_ text: String) -> HTTPParseError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    private static func chunked(sizeLine: String) -> String {
        "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\(sizeLine)\r\n"
            + String(repeating: "x", count: 16) + "\r\n0\r\n\r\n"
    }

    /// RFC 9112 allows only hex digits in a chunk size, then whitespace only before a `;` extension, so "1 0"
    /// is not 0x10.
    @Test(arguments: ["1 0", " 10", "10 ", "1\t0", "+10", "-10", "0x10", ";a=b", "10 a", "g"])
    func chunkSizeLineRejected(sizeLine: String) throws {
        let error = try #require(parseError(Self.chunked(sizeLine: sizeLine)))
        #expect(error.status == .badRequest)
        #expect(error.detail.contains("invalid chunk size line"))
    }

    @Test(arguments: ["10", "0010", "10;a=b", "10 ;a=b", "10\t;a", "10;a=\"x y\""])
    func chunkSizeLineAccepted(sizeLine: String) throws {
        let parsed = try parse(Self.chunked(sizeLine: sizeLine))
        #expect(parsed.heads.count == 1)
        #expect(parsed.body == Array(repeating: UInt8(ascii: "x"), count: 16))
    }

    @Test func chunkSizeErrorShowsLine() throws {
        let error = try #require(parseError(Self.chunked(sizeLine: "1 0\u{1}")))
        #expect(error.detail.contains("'1 0\\x01'"), "\(error.detail)")
    }

    /// A lone LF before the real end of the head must not end the field section early and silently drop the
    /// fields after it (here Transfer-Encoding), so every bare LF in a head is rejected.
    @Test(arguments: [
        "POST /a HTTP/1.1\r\nHost: h\r\n\nTransfer-Encoding: chunked\r\n\r\n",
        "POST /a HTTP/1.1\nHost: h\r\nContent-Length: 3\r\n\r\n",
        "POST /a HTTP/1.1\r\nHost: h\nContent-Length: 3\r\n\r\n",
        "\nPOST /a HTTP/1.1\r\nHost: h\r\n\r\n",
    ])
    func bareLineFeedInHeadRejected(head: String) throws {
        let error = try #require(parseError(head))
        #expect(error.status == .badRequest)
        #expect(error.detail.contains("line feed without a carriage return"))
    }

    /// HTTP/1.0 has no chunked coding; an intermediary could read such a body as the start of the next request.
    @Test func transferEncodingInHTTP10Rejected() throws {
        let error = try #require(parseError("POST /a HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"))
        #expect(error.status == .badRequest)
        #expect(error.detail.contains("HTTP/1.0"))
    }

    /// A head that ends in bare LFs only has no CRLFCRLF, so it is rejected as it arrives rather than left to
    /// wait for the header timeout.
    @Test func bareLineFeedRejectedBeforeHeadEnds() throws {
        let error = try #require(parseError("GET / HTTP/1.1\nHost: h\n\n"))
        #expect(error.status == .badRequest)
    }

    /// The check covers only the head: a body read in the same piece may hold bare LFs.
    @Test func bareLineFeedInBodyAccepted() throws {
        let parsed = try parse("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\na\nb")
        #expect(parsed.heads.count == 1)
        #expect(parsed.body == Array("a\nb".utf8))
    }
}
