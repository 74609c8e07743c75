// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import TestSupport
@testable import DCFTransport

/// Response heads whose body framing the client must reject instead of guessing, over a real connection, for
/// both `HTTPClient.execute(_:)` (which reads a `Content-Length` body straight into its storage) and the
/// streaming `execute(_:receiveBody:)`, and in `HTTPResponseParser` of the multiplexed client.
///
/// RFC 9112 allows only digits in `Content-Length` and a hexadecimal number as a chunk size. `chunked` must be
/// the only transfer coding, because the client decodes no other one. With `gzip, chunked` it would otherwise
/// return compressed bytes as the body.
@Suite struct ClientResponseFramingTests {
    static let cases: [(head: String, body: String, expected: String)] = [
        ("Content-Length: +4", "abcd", "invalid Content-Length"),
        ("Content-Length: 4\r\nContent-Length: +4", "abcd", "invalid Content-Length"),
        ("Content-Length: 4, 5", "abcd", "invalid Content-Length"),
        ("Content-Length: 4\r\nContent-Length: 4, 5", "abcd", "invalid Content-Length"),
        ("Content-Length: 4, , 4", "abcd", "invalid Content-Length"),
        ("Content-Length: 4,", "abcd", "invalid Content-Length"),
        ("Content-Length: ,4", "abcd", "invalid Content-Length"),
        ("Content-Length: 4, +4", "abcd", "invalid Content-Length"),
        ("Content-Length: 4, 0x4", "abcd", "invalid Content-Length"),
        ("Content-Length: 4 4", "abcd", "invalid Content-Length"),
        ("Transfer-Encoding: gzip, chunked", "4\r\nabcd\r\n0\r\n\r\n", "unsupported Transfer-Encoding"),
        ("Transfer-Encoding: xchunked", "4\r\nabcd\r\n0\r\n\r\n", "unsupported Transfer-Encoding"),
        ("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip", "4\r\nabcd\r\n0\r\n\r\n", "unsupported Transfer-Encoding"),
        ("Transfer-Encoding: chunked", "+4\r\nabcd\r\n0\r\n\r\n", "invalid chunk size"),
        ("Transfer-Encoding: chunked", "-0\r\n\r\n", "invalid chunk size"),
    ]

    private static func response(_ head: String, _ body: String) -> String {
        "HTTP/1.1 200 OK\r\n\(head)\r\nConnection: close\r\n\r\n\(body)"
    }

    private func client(port: Int) throws -> HTTPClient {
        let configuration = HTTPClientConfiguration(transport: .plainTCP, idleTimeout: .seconds(10))
        return try HTTPClient(host: "127.0.0.1", port: port, configuration: configuration)
    }

    @Test(arguments: cases)
    func wholeBodyRejectsFraming(head: String, body: String, expected: String) throws {
        let server = try CannedResponseServer(response: Array(Self.response(head, body).utf8))
        defer { server.stop() }
        let error = try #require(throws: HTTPClientError.self) {
            _ = try client(port: server.port).execute(HTTPClientRequest(path: "/"))
        }
        #expect(error.description.contains(expected), "\(error)")
    }

    /// A hostile server can announce a body far larger than memory under a generous limit. The client reserves
    /// the announced size before the first byte arrives, so a failed reservation must be an error, not the end
    /// of the process. Where the kernel grants the address space, the body is cut short instead.
    @Test func hugeAnnouncedBodyFailsCleanly() throws {
        let length = 1 << 46
        let server = try CannedResponseServer(response: Array(Self.response("Content-Length: \(length)", "abc").utf8))
        defer { server.stop() }
        var configuration = HTTPClientConfiguration(transport: .plainTCP, idleTimeout: .seconds(10))
        configuration.maximumResponseBodySize = length
        let client = try HTTPClient(host: "127.0.0.1", port: server.port, configuration: configuration)
        let error = try #require(throws: HTTPClientError.self) {
            _ = try client.execute(HTTPClientRequest(path: "/"))
        }
        let text = error.description
        #expect(text.contains("\(length) bytes") || text.contains("3 of \(length) bytes received"), "\(text)")
    }

    @Test(arguments: cases)
    func streamedBodyRejectsFraming(head: String, body: String, expected: String) throws {
        let server = try CannedResponseServer(response: Array(Self.response(head, body).utf8))
        defer { server.stop() }
        let error = try #require(throws: HTTPClientError.self) {
            _ = try client(port: server.port).execute(HTTPClientRequest(path: "/")) { _, _ in }
        }
        #expect(error.description.contains(expected), "\(error)")
    }

    @Test(arguments: cases)
    func multiplexedParserRejectsFraming(head: String, body: String, expected: String) throws {
        var parser = HTTPResponseParser(
            server: "test:1", requestMethod: "GET", maximumHeadSize: 1024, maximumBodySize: 1 << 20
        )
        let bytes = Array(Self.response(head, body).utf8)
        let error = try #require(throws: HTTPClientError.self) {
            _ = try bytes.withUnsafeBytes { try parser.consume($0) }
        }
        #expect(error.description.contains(expected), "\(error)")
    }

    /// A response framed by both `Transfer-Encoding` and `Content-Length` may be read differently by a proxy on
    /// the way (RFC 9112, section 6.3), and after `101 Switching Protocols` the connection no longer carries
    /// HTTP/1.1. The client must not send another request on such a connection.
    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: example\r\nConnection: Upgrade\r\n\r\n",
    ])
    func connectionNotReusedAfter(response: String) throws {
        let server = try ClientTestServer(tls: nil) { request, connection in
            guard request.path == "/first" else { return try connection.respond(body: Data("next".utf8)) }
            try connection.write(Data(response.utf8))
        }
        defer { server.stop() }
        let client = try client(port: server.port)
        _ = try client.execute(HTTPClientRequest(path: "/first"))
        let next = try client.execute(HTTPClientRequest(path: "/next"))
        #expect(String(decoding: next.body, as: UTF8.self) == "next")
        #expect(client.openedConnectionCount == 2)
    }

    /// The multiplexed client's parser ends keep-alive after the same responses.
    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: example\r\nConnection: Upgrade\r\n\r\n",
    ])
    func multiplexedParserEndsKeepAliveAfter(response: String) throws {
        var parser = HTTPResponseParser(
            server: "test:1", requestMethod: "GET", maximumHeadSize: 1024, maximumBodySize: 1 << 20
        )
        let bytes = Array(response.utf8)
        _ = try bytes.withUnsafeBytes { try parser.consume($0) }
        #expect(parser.isComplete)
        #expect(!parser.allowsKeepAlive)
    }

    /// The same values written the way RFC 9112 allows still work: spaces around them, a coding in other case,
    /// and a repeated `Content-Length` of the same value. RFC 9110, section 8.6 lets a recipient read such
    /// repeated fields or lists as one value.
    static let validCases: [(head: String, body: String)] = [
        ("Content-Length:  4 ", "abcd"),
        ("Content-Length: 4\r\nContent-Length: 4", "abcd"),
        ("Content-Length: 4, 4", "abcd"),
        ("Content-Length: 4,4,4", "abcd"),
        ("Content-Length: 4 ,\t4\r\nContent-Length: 4", "abcd"),
        ("Transfer-Encoding: Chunked ", "4\r\nabcd\r\n0\r\n\r\n"),
        ("Transfer-Encoding: chunked", "4;name=value\r\nabcd\r\n0\r\n\r\n"),
    ]

    @Test(arguments: validCases)
    func validFramingStillWorks(head: String, body: String) throws {
        let server = try CannedResponseServer(response: Array(Self.response(head, body).utf8))
        defer { server.stop() }
        let whole = try client(port: server.port).execute(HTTPClientRequest(path: "/"))
        #expect(String(decoding: whole.body, as: UTF8.self) == "abcd")
        var streamed = Data()
        _ = try client(port: server.port).execute(HTTPClientRequest(path: "/")) { _, piece in
            streamed.append(contentsOf: piece)
        }
        #expect(String(decoding: streamed, as: UTF8.self) == "abcd")
    }

    @Test(arguments: validCases)
    func multiplexedParserAcceptsValidFraming(head: String, body: String) throws {
        var parser = HTTPResponseParser(
            server: "test:1", requestMethod: "GET", maximumHeadSize: 1024, maximumBodySize: 1 << 20
        )
        let bytes = Array(Self.response(head, body).utf8)
        _ = try bytes.withUnsafeBytes { try parser.consume($0) }
        #expect(parser.isComplete)
        #expect(parser.response.map { String(decoding: $0.body, as: UTF8.self) } == "abcd")
    }
}
