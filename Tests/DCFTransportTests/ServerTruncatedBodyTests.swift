// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

@testable import DCFTransport

/// A request body needs `Content-Length` or chunked framing, so a stream that ends inside it, with or without
/// TLS close_notify, fails the body instead of ending it. The server therefore never needs close_notify to
/// trust a request body.
@Suite struct ServerTruncatedBodyTests {
    typealias Probe = ServerDeferredBodyTests.Probe

    /// How the client ends its stream in the middle of the body.
    enum StreamEnd: CaseIterable {
        /// close_notify, then a TCP FIN.
        case closeNotify
        /// A TCP FIN only, as when someone on the path cuts the stream.
        case bareEnd
    }

    static let cutRequests = [
        "PUT /data HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nabc",
        "PUT /data HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    ]

    @Test(arguments: StreamEnd.allCases, cutRequests)
    func cutBodyFailsOverTLS(end: StreamEnd, request: String) async throws {
        let probe = Probe()
        let fixture = try ServerTLSTests.TLSFixture(handler: probe.handler())
        let client = try HTTPTestClient(port: fixture.running.port, tls: fixture.clientContext)
        try client.send(request)
        #expect(await probe.waitFor { $0.start != nil })
        probe.start?.requestMore()
        #expect(await probe.waitFor { $0.received.count == 3 })

        switch end {
        case .closeNotify: client.shutdownWrite()
        case .bareEnd: shutdown(client.fd, Int32(SHUT_WR))
        }
        #expect(await probe.waitFor { $0.error != nil })
        #expect(probe.error == .clientDisconnected)
        #expect(!probe.ended)
        #expect(String(decoding: probe.received, as: UTF8.self) == "abc")
        await fixture.stop()
    }

    @Test(arguments: cutRequests)
    func cutBodyFailsOverPlainHTTP(request: String) async throws {
        let probe = Probe()
        let running = try RunningServer(handler: probe.handler())
        let client = try HTTPTestClient(port: running.port)
        try client.send(request)
        #expect(await probe.waitFor { $0.start != nil })
        probe.start?.requestMore()
        #expect(await probe.waitFor { $0.received.count == 3 })

        client.shutdownWrite()
        #expect(await probe.waitFor { $0.error != nil })
        #expect(probe.error == .clientDisconnected)
        #expect(!probe.ended)
        await running.stop()
    }
}
