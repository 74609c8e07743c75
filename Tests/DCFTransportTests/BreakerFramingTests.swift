// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DCFTransport

/// Request framing that other HTTP implementations read differently must be rejected, not guessed at: a proxy
/// in front of a `plain_http` server would otherwise see other request boundaries than the server.
@Suite struct BreakerFramingTests {
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

    /// RFC 9112 allows no whitespace inside a chunk size, so "1 0" is not 0x10.
    @Test func chunkSizeWithSpaceRejected() {
        let request = "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1 0\r\n"
            + String(repeating: "x", count: 16) + "\r\n0\r\n\r\n"
        #expect(throws: HTTPParseError.self) { _ = try parse(request) }
    }

    /// A lone LF before the real end of the head must not end the field section early and silently drop the
    /// fields after it (here Transfer-Encoding). Only the head is fed, so an error can come from the head alone.
    @Test func bareLineFeedKeepsLaterFields() {
        let head = "POST /a HTTP/1.1\r\nHost: h\r\n\nTransfer-Encoding: chunked\r\n\r\n"
        let parsed: [HTTPRequestHead]
        do {
            parsed = try parse(head).heads
        } catch {
            return  // Rejecting the head is correct.
        }
        #expect(parsed.count == 1)
        #expect(parsed.first?.headers.contains("Transfer-Encoding") == true, "the field after the bare LF was dropped")
    }
}
