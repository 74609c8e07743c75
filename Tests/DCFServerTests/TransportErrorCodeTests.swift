// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFTransport
import Foundation
import Testing

/// The dcf error codes of the responses the HTTP transport writes itself, before a request reaches the server.
@Suite struct TransportErrorCodeTests {
    /// A request line in another HTTP version is the client's mistake: `bad_request`, not `internal_error`, which
    /// tells an operator to look for a bug in the server.
    @Test func otherHTTPVersionIsBadRequest() async throws {
        try await PlainUploadHarness.run { harness in
            let connection = try RawConnection(port: harness.port)
            try connection.send("GET /healthz HTTP/2.0\r\nHost: test\r\n\r\n")
            let response = try connection.readResponse()
            #expect(response.status == 505)
            #expect(response.code == .badRequest, "\(response.text)")
            let message = try JSONDecoder().decode(DCFErrorResponse.self, from: Data(response.body)).message
            #expect(message.contains("HTTP/2.0"), "\(message)")
            #expect(message.contains("HTTP/1.1"), "\(message)")
            let metrics = try await harness.send(HTTPClientRequest(path: "/metrics"))
            let rejected = String(decoding: metrics.body, as: UTF8.self)
            #expect(rejected.contains("dcf_requests_rejected_total{code=\"bad_request\"} 1"), "\(rejected)")
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
        ("GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: test\r\n\r\n", 414, "limits.max_url_bytes"),
        ("GET /healthz HTTP/1.1\r\nHost: test\r\nX: \(String(repeating: "a", count: 20000))\r\n\r\n", 431,
         "limits.max_header_bytes"),
        ("GET /healthz HTTP/1.1\r\nHost: test\r\n\(String(repeating: "X: a\r\n", count: 150))\r\n", 431,
         "limits.max_header_count"),
    ])
    func limitErrorNamesSetting(_ request: String, _ status: Int, _ setting: String) async throws {
        try await PlainUploadHarness.run { harness in
            let connection = try RawConnection(port: harness.port)
            try connection.send(request)
            let response = try connection.readResponse()
            #expect(response.status == status)
            #expect(response.code == .badRequest, "\(response.text)")
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
            let message = try JSONDecoder().decode(DCFErrorResponse.self, from: Data(response.body)).message
            #expect(message.contains("limits.header_timeout"), "\(message)")
        }
    }
}
