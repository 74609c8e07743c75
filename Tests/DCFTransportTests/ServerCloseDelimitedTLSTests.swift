// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@testable import DCFTransport

/// The server frames a streamed response to an HTTP/1.0 request by closing the connection. Over TLS it must send
/// close_notify after the body, because a client may reject a body that ends without it as possibly truncated.
@Suite struct ServerCloseDelimitedTLSTests {
    @Test(arguments: [3, 1 << 20])
    func streamedResponseEndsWithCloseNotify(bodySize: Int) async throws {
        let body = (0..<bodySize).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let handler = ClosureHandler { _, responder in
            if let writer = responder.startStreaming(status: .ok) {
                writer.write(body)
                writer.end()
            }
            return .discard
        }
        let fixture = try ServerTLSTests.TLSFixture(handler: handler)
        let client = try HTTPTestClient(port: fixture.running.port, tls: fixture.clientContext)
        try client.send("GET /stream HTTP/1.0\r\nHost: localhost\r\n\r\n")

        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.headers["content-length"] == nil)
        #expect(response.headers["transfer-encoding"] == nil)
        #expect(response.body == body)
        #expect(client.receivedCloseNotify)
        await fixture.stop()
    }
}
