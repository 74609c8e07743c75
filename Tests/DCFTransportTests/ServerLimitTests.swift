// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@testable import DCFTransport

@Suite struct ServerLimitTests {
    private static func smallLimits() -> HTTPServerLimits {
        var limits = HTTPServerLimits()
        limits.maxHeaderBytes = 2048
        limits.maxHeaderCount = 10
        limits.maxURILength = 256
        limits.maxBodyBytes = 1000
        limits.headerTimeout = .milliseconds(200)
        limits.bodyTimeout = .milliseconds(200)
        return limits
    }

    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let request: String
        let status: Int
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "header too large", request: "GET / HTTP/1.1\r\nHost: t\r\nX-Big: \(String(repeating: "a", count: 3000))\r\n\r\n", status: 431),
        Case(name: "too many headers", request: "GET / HTTP/1.1\r\nHost: t\r\n" + (0..<12).map { "X-\($0): v\r\n" }.joined() + "\r\n", status: 431),
        Case(name: "URI too long", request: "GET /\(String(repeating: "u", count: 300)) HTTP/1.1\r\nHost: t\r\n\r\n", status: 414),
        Case(name: "URI too long, head unfinished", request: "GET /\(String(repeating: "u", count: 3000))", status: 414),
        Case(name: "body too large", request: "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n", status: 413),
        Case(name: "chunked body too large", request: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n", status: 413),
        Case(name: "malformed request line", request: "GARBAGE\r\n\r\n", status: 400),
        Case(name: "missing Host", request: "GET / HTTP/1.1\r\n\r\n", status: 400),
        Case(name: "space before colon", request: "GET / HTTP/1.1\r\nHost : t\r\n\r\n", status: 400),
        Case(name: "length and chunked", request: "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", status: 400),
        Case(name: "invalid length", request: "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 12a\r\n\r\n", status: 400),
        Case(name: "invalid chunk size", request: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", status: 400),
        Case(
            name: "negative chunk size",
            request: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nAA\r\n", status: 400),
        Case(
            name: "signed chunk size",
            request: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\nAA\r\n0\r\n\r\n", status: 400),
        Case(
            name: "trailer section too large",
            request: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
                + String(repeating: "X-T: v\r\n", count: 400) + "\r\n", status: 431),
        Case(name: "unknown transfer coding", request: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", status: 501),
        Case(name: "HTTP/2 version", request: "GET / HTTP/2.0\r\nHost: t\r\n\r\n", status: 505),
        Case(name: "stalled head", request: "GET / HTTP/1.1\r\nHost:", status: 408),
        Case(name: "stalled body", request: "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc", status: 408),
    ]

    @Test(arguments: cases)
    func limitAnsweredWithStatus(_ testCase: Case) async throws {
        let running = try RunningServer(limits: Self.smallLimits(), handler: echoHandler())
        let client = try HTTPTestClient(port: running.port)
        try client.send(testCase.request)
        let response = try client.readResponse()
        #expect(response.status == testCase.status)
        #expect(response.headers["connection"] == "close")
        if testCase.status == 408 {
            // The small limits set both timeouts to 200 ms.
            #expect(response.text.contains("200ms"))
            #expect(response.text.contains(testCase.name == "stalled head" ? "headerTimeout" : "bodyTimeout"))
        }
        #expect(try client.receiveUntilClosed().isEmpty)
        await running.stop()
    }

    /// A client that sends one byte at a time, each long before the body timeout, is cut off by the rate check.
    @Test func bodyBelowMinimumRateGets408() async throws {
        var limits = HTTPServerLimits.patient
        limits.bodyTimeout = .seconds(4)
        limits.minBodyRate = 100
        let running = try RunningServer(limits: limits, handler: echoHandler())
        let client = try HTTPTestClient(port: running.port)
        try client.send("POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n")
        // At one byte per 100 ms the body falls behind 100 bytes per second after the 4 s allowance.
        var waiting = pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)
        for _ in 0..<300 where poll(&waiting, 1, 100) == 0 {
            try client.send("x")
        }
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(response.text.contains("100 bytes/s"))
        #expect(response.text.contains("minBodyRate"))
        await running.stop()
    }

    @Test func collectLimitAnswers413() async throws {
        let handler = ClosureHandler { _, responder in
            .collect(maxBytes: 10) { body in responder.respond(.text(.ok, "\(body.count)")) }
        }
        let running = try RunningServer(handler: handler)
        let client = try HTTPTestClient(port: running.port)
        try client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 20\r\n\r\n01234567890123456789")
        #expect(try client.readResponse().status == 413)
        await running.stop()
    }

    @Test func connectionsOverLimitGet503() async throws {
        var limits = HTTPServerLimits()
        limits.maxConnections = 2
        let running = try RunningServer(limits: limits, loops: 1, handler: echoHandler())
        let first = try HTTPTestClient(port: running.port)
        let second = try HTTPTestClient(port: running.port)
        #expect(await running.waitFor { $0.openConnections == 2 })
        let third = try HTTPTestClient(port: running.port)
        try third.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try third.readResponse().status == 503)
        // Past the 10% margin the server closes without a response.
        let fourth = try HTTPTestClient(port: running.port)
        try? fourth.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try fourth.receiveUntilClosed().isEmpty)
        try first.send("GET /ok HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try first.readResponse().status == 200)
        _ = second
        await running.stop()
    }

    @Test func idleKeepAliveConnectionCloses() async throws {
        var limits = HTTPServerLimits()
        limits.idleTimeout = .milliseconds(100)
        let running = try RunningServer(limits: limits, handler: echoHandler())
        let client = try HTTPTestClient(port: running.port)
        try client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        #expect(try client.receiveUntilClosed().isEmpty)
        await running.stop()
    }

    @Test func invalidConfigurationIsRejected() throws {
        var limits = HTTPServerLimits()
        limits.maxConnections = 0
        let configuration = HTTPServerConfiguration(port: 0, security: .plaintext, limits: limits)
        let server = HTTPServer(configuration: configuration, handler: echoHandler(), logger: .init(component: "t", sink: .standardError(level: .error)))
        #expect(throws: HTTPServerError.self) { try server.start() }
    }
}

@Suite struct ServerWriteTimeoutTests {
    @Test func clientThatStopsReadingIsClosed() async throws {
        var limits = HTTPServerLimits()
        limits.writeTimeout = .milliseconds(200)
        let body = [UInt8](repeating: 1, count: 32 << 20)
        let handler = ClosureHandler { _, responder in
            responder.respond(HTTPResponse(status: .ok, body: .bytes(body)))
            return .discard
        }
        let running = try RunningServer(limits: limits, handler: handler)
        let client = try HTTPTestClient(port: running.port)
        var size: Int32 = 4096
        setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        try client.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(await running.waitFor { $0.bytesOut > 0 })
        #expect(await running.waitFor { $0.openConnections == 0 })
        await running.stop()
    }
}
