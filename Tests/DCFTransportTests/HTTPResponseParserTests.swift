// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import DCFTransport

@Suite struct HTTPResponseParserTests {
    private func parser(method: String = "GET", maximumBodySize: Int = 1 << 20) -> HTTPResponseParser {
        HTTPResponseParser(server: "test:1", requestMethod: method, maximumHeadSize: 1024, maximumBodySize: maximumBodySize)
    }

    /// Feeds `text` in pieces of `pieceSize` bytes and returns the parser and the bytes it used.
    private func feed(_ text: String, pieceSize: Int, into parser: inout HTTPResponseParser) throws -> Int {
        let bytes = Array(text.utf8)
        var used = 0
        var offset = 0
        while offset < bytes.count, !parser.isComplete {
            let end = min(offset + pieceSize, bytes.count)
            used += try bytes[offset..<end].withUnsafeBytes { try parser.consume($0) }
            offset = end
        }
        return used
    }

    @Test(arguments: [1, 2, 3, 7, 1000])
    func chunkedResponseStopsAtItsEnd(pieceSize: Int) throws {
        let response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nA;x=y\r\n0123456789\r\n0\r\n\r\n"
        var parser = parser()
        let used = try feed(response + "HTTP/1.1 204 Next\r\n\r\n", pieceSize: pieceSize, into: &parser)
        #expect(used == response.utf8.count)
        let parsed = try #require(parser.response)
        #expect(String(decoding: parsed.body, as: UTF8.self) == "abc0123456789")
        #expect(parser.allowsKeepAlive)
    }

    @Test(arguments: [1, 5, 1000])
    func contentLengthResponse(pieceSize: Int) throws {
        let response = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody"
        var parser = parser()
        let used = try feed(response + "extra", pieceSize: pieceSize, into: &parser)
        #expect(used == response.utf8.count)
        let parsed = try #require(parser.response)
        #expect(parsed.statusCode == 201)
        #expect(parsed.reason == "Created")
        #expect(String(decoding: parsed.body, as: UTF8.self) == "body")
        #expect(!parser.allowsKeepAlive)
    }

    @Test func bodyUntilCloseEndsAtEndOfStream() throws {
        var parser = parser()
        _ = try feed("HTTP/1.0 200 OK\r\n\r\nall of it", pieceSize: 4, into: &parser)
        #expect(!parser.isComplete)
        let finished = parser.finishAtEndOfStream()
        #expect(finished)
        #expect(String(decoding: try #require(parser.response).body, as: UTF8.self) == "all of it")
    }

    @Test func headResponseHasNoBody() throws {
        var parser = parser(method: "HEAD")
        _ = try feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", pieceSize: 100, into: &parser)
        #expect(parser.response?.body.isEmpty == true)
    }

    @Test(arguments: [
        ("HTTP/2 200 OK\r\n\r\n", "malformed status line"),
        ("HTTP/1.1 2x0 OK\r\n\r\n", "malformed status line"),
        ("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", "malformed header line"),
        ("HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "malformed header line"),
        ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "invalid Content-Length"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "invalid chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", "missing CRLF after a chunk"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n", "exceeds the limit"),
        ("HTTP/1.1 200 OK\r\nX: " + String(repeating: "v", count: 2000) + "\r\n\r\n", "head exceeds 1024 bytes"),
    ])
    func invalidResponseIsRejected(response: String, expected: String) throws {
        var parser = parser()
        let error = try #require(throws: HTTPClientError.self) { _ = try feed(response, pieceSize: 3, into: &parser) }
        #expect(error.description.contains(expected), "\(error)")
    }
}
