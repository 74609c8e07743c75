// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFTransport
import Foundation
import Testing

/// The dcf error codes of the responses the HTTP transport writes itself, before a request reaches the server.
@Suite struct TransportErrorCodeTests {
    /// A request line in another HTTP version is the client's mistake: `unsupported_http_version`, not
    /// `internal_error`, which would send an operator looking for a bug in the server.
    @Test func otherHTTPVersionHasOwnCode() async throws {
        try await PlainUploadHarness.run { harness in
            let connection = try RawConnection(port: harness.port)
            try connection.send("GET /healthz HTTP/2.0\r\nHost: test\r\n\r\n")
            let response = try connection.readResponse()
            #expect(response.status == 505)
            #expect(response.rawCode == "unsupported_http_version", "\(response.text)")
            let message = try JSONDecoder().decode(DCFErrorResponse.self, from: Data(response.body)).message
            #expect(message.contains("HTTP/2.0"), "\(message)")
            #expect(message.contains("HTTP/1.1"), "\(message)")
            let metrics = try await harness.send(HTTPClientRequest(path: "/metrics"))
            let rejected = String(decoding: metrics.body, as: UTF8.self)
            #expect(
                rejected.contains("dcf_requests_rejected_total{code=\"unsupported_http_version\"} 1"), "\(rejected)")
            #expect(!rejected.contains("code=\"internal_error\""), "\(rejected)")
        }
    }

    /// Load balancers probe health with HEAD: the head of the GET response, with no body.
    @Test func headHealthzAnswersWithoutBody() async throws {
        try await PlainUploadHarness.run { harness in
            let get = try await harness.send(HTTPClientRequest(path: "/healthz"))
            let head = try await harness.send(HTTPClientRequest(method: "HEAD", path: "/healthz"))
            #expect(head.statusCode == 200)
            #expect(head.body.isEmpty)
            #expect(get.body.isEmpty == false)
            #expect(head.headers["Content-Length"] == String(get.body.count))
            // The connection stays usable: no body bytes were left in it.
            let after = try await harness.send(HTTPClientRequest(path: "/healthz"))
            #expect(after.statusCode == 200)
            #expect(after.body == get.body)
        }
    }

    /// A request past a transport limit gets a message naming the setting behind that limit.
    @Test(arguments: [
        ("GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: test\r\n\r\n", 414, "uri_too_long",
         "limits.max_url_bytes"),
        ("GET /healthz HTTP/1.1\r\nHost: test\r\nX: \(String(repeating: "a", count: 20000))\r\n\r\n", 431,
         "header_too_large", "limits.max_header_bytes"),
        ("GET /healthz HTTP/1.1\r\nHost: test\r\n\(String(repeating: "X: a\r\n", count: 150))\r\n", 431,
         "header_too_large", "limits.max_header_count"),
    ])
    func limitErrorNamesSetting(_ request: String, _ status: Int, _ code: String, _ setting: String) async throws {
        try await PlainUploadHarness.run { harness in
            let connection = try RawConnection(port: harness.port)
            try connection.send(request)
            let response = try connection.readResponse()
            #expect(response.status == status)
            #expect(response.rawCode == code, "\(response.text)")
            let message = try JSONDecoder().decode(DCFErrorResponse.self, from: Data(response.body)).message
            #expect(message.contains(setting), "\(message)")
        }
    }

    @Test func headTimeoutNamesSettings() async throws {
        try await PlainUploadHarness.run(limits: { $0.headerTimeout = .milliseconds(200) }) { harness in
            let connection = try RawConnection(port: harness.port)
            try connection.send("GET /healthz HTTP/1.1\r\nHost: te")
            let response = try connection.readResponse()
            #expect(response.status == 408)
            #expect(response.rawCode == "request_timeout", "\(response.text)")
            let message = try JSONDecoder().decode(DCFErrorResponse.self, from: Data(response.body)).message
            // The message names the setting that applies, by its config key only.
            #expect(message.contains("(limits.header_timeout)"), "\(message)")
            #expect(!message.contains("headerTimeout"), "\(message)")
            #expect(!message.contains("limits.body_timeout"), "\(message)")
        }
    }

    /// A body that stops arriving: `request_timeout`, which a worker retries, not `bad_request`, which it does not.
    @Test func bodyTimeoutIsRequestTimeout() async throws {
        let limits: (inout HTTPServerLimits) -> Void = {
            $0.bodyTimeout = .milliseconds(200)
            $0.minBodyRate = 0
        }
        try await PlainUploadHarness.run(limits: limits) { harness in
            let connection = try RawConnection(port: harness.port)
            try connection.send("POST /dcf/register HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nab")
            let response = try connection.readResponse()
            #expect(response.status == 408)
            #expect(response.rawCode == "request_timeout", "\(response.text)")
            let message = try JSONDecoder().decode(DCFErrorResponse.self, from: Data(response.body)).message
            #expect(message.contains("(limits.body_timeout)"), "\(message)")
            #expect(!message.contains("bodyTimeout"), "\(message)")
            #expect(!message.contains("limits.header_timeout"), "\(message)")
        }
    }

    /// A body that keeps arriving, but below `limits.min_body_rate`, gets the same code as a stalled one.
    @Test func slowBodyIsRequestTimeout() async throws {
        let limits: (inout HTTPServerLimits) -> Void = {
            $0.bodyTimeout = .seconds(1)
            $0.minBodyRate = 100
        }
        try await PlainUploadHarness.run(limits: limits) { harness in
            let connection = try RawConnection(port: harness.port)
            try connection.send("POST /dcf/register HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n")
            // One byte per 100 ms stays within the body timeout but falls below 100 bytes per second after the
            // 1 s allowance. The loop stops at the first response byte, or after 300 bytes.
            for _ in 0..<300 {
                if connection.hasInput(within: 100) { break }
                try connection.send("x")
            }
            let response = try connection.readResponse()
            #expect(response.status == 408)
            #expect(response.rawCode == "request_timeout", "\(response.text)")
            let message = try JSONDecoder().decode(DCFErrorResponse.self, from: Data(response.body)).message
            #expect(message.contains("(limits.min_body_rate)"), "\(message)")
            #expect(!message.contains("minBodyRate"), "\(message)")
            #expect(!message.contains("limits.header_timeout"), "\(message)")
        }
    }

    @Test func unsupportedTransferEncodingHasOwnCode() async throws {
        try await PlainUploadHarness.run { harness in
            let connection = try RawConnection(port: harness.port)
            try connection.send(
                "POST /dcf/register HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
            let response = try connection.readResponse()
            #expect(response.status == 501)
            #expect(response.rawCode == "unsupported_transfer_encoding", "\(response.text)")
        }
    }

    /// The statuses whose codes already named the failure: a malformed request and a body over the transport's
    /// own limit, whose `Content-Length` is rejected before the head reaches the dcf handler.
    @Test(arguments: [
        ("GET /healthz HTTP/1.1\r\nHost: test\r\nbad header\r\n\r\n", 400, "bad_request"),
        ("POST /dcf/register HTTP/1.1\r\nHost: test\r\nContent-Length: 99999999\r\n\r\n", 413, "body_too_large"),
    ])
    func transportRejectionCode(_ request: String, _ status: Int, _ code: String) async throws {
        try await PlainUploadHarness.run(limits: { $0.maxBodyBytes = 1_000_000 }) { harness in
            let connection = try RawConnection(port: harness.port)
            try connection.send(request)
            let response = try connection.readResponse()
            #expect(response.status == status)
            #expect(response.rawCode == code, "\(response.text)")
        }
    }

    /// A connection over `limits.max_connections` gets `unavailable`, which workers retry with backoff.
    @Test func fullServerIsUnavailable() async throws {
        try await PlainUploadHarness.run(limits: { $0.maxConnections = 1 }) { harness in
            let first = try RawConnection(port: harness.port)
            try first.send("GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            #expect(try first.readResponse().status == 200)
            let second = try RawConnection(port: harness.port)
            try second.send("GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            let response = try second.readResponse()
            #expect(response.status == 503)
            #expect(response.rawCode == "unavailable", "\(response.text)")
            let message = try JSONDecoder().decode(DCFErrorResponse.self, from: Data(response.body)).message
            #expect(message.contains("too many open connections"), "\(message)")
        }
    }
}
