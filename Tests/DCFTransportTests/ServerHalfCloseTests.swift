// SPDX-License-Identifier: Apache-2.0
import COpenSSL
import Foundation
import TestSupport
import Testing

@testable import DCFTransport

@Suite struct ServerHalfCloseTests {
    @Test func halfClosedClientGetsResponse() async throws {
        let running = try RunningServer(handler: echoHandler())
        let client = try HTTPTestClient(port: running.port)
        try client.send("POST /half HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
        client.shutdownWrite()
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "POST /half 3")
        // The server may read the request before the end of stream arrives, and then it responds with keep-alive.
        // Either way it closes the connection after the response once it reads the end of stream.
        #expect(["close", "keep-alive"].contains(response.headers["connection"] ?? ""))
        #expect(try client.receiveUntilClosed().isEmpty)
        #expect(await running.waitFor { $0.openConnections == 0 })
        await running.stop()
    }

    @Test func closeNotifyAfterRequestGetsResponse() async throws {
        let fixture = try ServerTLSTests.TLSFixture(handler: echoHandler())
        let client = try HTTPTestClient(port: fixture.running.port, tls: fixture.clientContext)
        try client.send("GET /notify HTTP/1.1\r\nHost: localhost\r\n\r\n")
        client.shutdownWrite()
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "GET /notify 0")
        #expect(await fixture.running.waitFor { $0.openConnections == 0 })
        await fixture.stop()
    }

    /// A large response keeps going after the client's end of stream, until the client has read all of it.
    @Test func halfClosedClientGetsLargeResponse() async throws {
        let body = [UInt8](repeating: 0x62, count: 8 << 20)
        let handler = ClosureHandler { _, responder in
            responder.respond(HTTPResponse(status: .ok, body: .bytes(body)))
            return .discard
        }
        let running = try RunningServer(handler: handler)
        let client = try HTTPTestClient(port: running.port)
        try client.send("GET /large HTTP/1.1\r\nHost: t\r\n\r\n")
        client.shutdownWrite()
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.body.count == body.count)
        await running.stop()
    }

    /// The end of stream still ends a parked request, whether it arrives before or after the handler parks it.
    @Test func halfCloseEndsParkedRequest() async throws {
        let disconnected = Signal<Bool>()
        let parkNow = Signal<Bool>()
        let handler = ClosureHandler { _, responder in
            Task {
                _ = await parkNow.wait()
                responder.park(timeout: nil, onDisconnect: { disconnected.set(true) })
            }
            return .discard
        }
        let running = try RunningServer(handler: handler)
        let client = try HTTPTestClient(port: running.port)
        try client.send("GET /wait HTTP/1.1\r\nHost: t\r\n\r\n")
        client.shutdownWrite()
        parkNow.set(true)
        #expect(await disconnected.wait() == true)
        #expect(try client.receiveUntilClosed().isEmpty)
        #expect(await running.waitFor { $0.openConnections == 0 })
        #expect(running.server.statistics.parkedRequests == 0)
        await running.stop()
    }
}

@Suite struct ServerTLS12CloseNotifyTests {
    /// TLS 1.2 drops pending writes at a close_notify (RFC 5246, section 7.2.1), so the server closes without
    /// waiting for the handler's response.
    @Test func closeNotifyOverTLS12ClosesAtOnce() async throws {
        let pending = Signal<HTTPResponder>()
        let handler = ClosureHandler { _, responder in
            pending.set(responder)
            return .discard
        }
        let fixture = try ServerTLSTests.TLSFixture(handler: handler)
        let clientContext = try TLSContext(configuration: .client(
            trustedCAFile: fixture.certificates.ca.certificateFile, serverName: "localhost"))
        #expect(SSL_CTX_ctrl(clientContext.pointer, SSL_CTRL_SET_MAX_PROTO_VERSION, Int(TLS1_2_VERSION), nil) == 1)
        let client = try HTTPTestClient(port: fixture.running.port, tls: clientContext)
        try client.send("GET /notify HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let responder = await pending.wait()
        client.shutdownWrite()
        #expect(await fixture.running.waitFor { $0.openConnections == 0 })
        #expect(try client.receiveUntilClosed().isEmpty)
        #expect(responder?.respond(.text(.ok, "late")) == true)
        await fixture.stop()
    }
}
