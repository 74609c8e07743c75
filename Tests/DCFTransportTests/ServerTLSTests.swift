// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import DCFTransport

@Suite struct ServerTLSTests {
    /// A TLS server on a random port with test certificates, plus a client context that trusts them.
    struct TLSFixture {
        let certificates: CertificateFactory
        let running: RunningServer
        let clientContext: TLSContext

        init(limits: HTTPServerLimits = .patient, handler: some HTTPHandler) throws {
            certificates = try CertificateFactory()
            let serverContext = try TLSContext(configuration: .server(
                certificateChainFile: certificates.server.certificateFile,
                privateKeyFile: certificates.server.privateKeyFile
            ))
            running = try RunningServer(security: .tls(serverContext), limits: limits, handler: handler)
            clientContext = try TLSContext(configuration: .client(
                trustedCAFile: certificates.ca.certificateFile, serverName: "localhost"
            ))
        }

        func stop() async {
            await running.stop()
            certificates.remove()
        }
    }

    @Test func handshakeAndKeepAliveOverTLS() async throws {
        let fixture = try TLSFixture(handler: echoHandler())
        let client = try HTTPTestClient(port: fixture.running.port, tls: fixture.clientContext)
        for index in 0..<3 {
            try client.send("POST /tls/\(index) HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello")
            #expect(try client.readResponse().text == "POST /tls/\(index) 5")
        }
        #expect(fixture.running.server.statistics.openConnections == 1)
        await fixture.stop()
    }

    @Test func plaintextRequestOnTLSPortIsClosed() async throws {
        let fixture = try TLSFixture(handler: echoHandler())
        let client = try HTTPTestClient(port: fixture.running.port)
        try client.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 400)
        #expect(response.text.contains("requires TLS"))
        #expect(try client.receiveUntilClosed().isEmpty)
        #expect(await fixture.running.waitFor { $0.openConnections == 0 })
        await fixture.stop()
    }

    /// Each plaintext connection costs no TLS work, so a client could open many to flood the log. One warning
    /// per 10 s is logged, shared by every server in the process, and the others are debug lines.
    @Test func plaintextOnTLSPortWarnsOnce() async throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .debug) { line in lines.withLock { $0.append(line) } }
        let context = try TLSContext(configuration: .server(
            certificateChainFile: certificates.server.certificateFile,
            privateKeyFile: certificates.server.privateKeyFile
        ))
        let running = try RunningServer(security: .tls(context), logSink: sink, handler: echoHandler())
        let attempts = 20
        for _ in 0..<attempts {
            let client = try HTTPTestClient(port: running.port)
            try client.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(try client.readResponse().status == 400)
            _ = try client.receiveUntilClosed()
        }
        #expect(await running.waitFor { $0.openConnections == 0 })
        let logged = lines.withLock { $0 }.filter { $0.contains("plaintext request on a TLS port") }
        #expect(logged.count == attempts, "\(logged)")
        #expect(logged.filter { $0.contains(" warning ") }.count <= 1, "\(logged)")
        await running.stop()
    }

    @Test func http2PrefaceOnTLSPortIsClosed() async throws {
        let fixture = try TLSFixture(handler: echoHandler())
        let client = try HTTPTestClient(port: fixture.running.port)
        try client.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        #expect(try client.receiveUntilClosed().isEmpty)
        #expect(await fixture.running.waitFor { $0.openConnections == 0 })
        await fixture.stop()
    }

    @Test func replacedContextServesNewConnections() async throws {
        let fixture = try TLSFixture(handler: echoHandler())
        let old = try HTTPTestClient(port: fixture.running.port, tls: fixture.clientContext)
        let replacement = try TLSContext(configuration: .server(
            certificateChainFile: fixture.certificates.selfSignedServer.certificateFile,
            privateKeyFile: fixture.certificates.selfSignedServer.privateKeyFile
        ))
        try fixture.running.server.replaceTLSContext(replacement)
        // The client trusts only the CA, so a handshake against the self-signed certificate must fail.
        #expect(throws: (any Error).self) { try HTTPTestClient(port: fixture.running.port, tls: fixture.clientContext) }
        try old.send("GET /still HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try old.readResponse().text == "GET /still 0")
        await fixture.stop()
    }

    @Test func parkedTLSRequestDisconnectIsNoticed() async throws {
        let disconnected = Signal<Bool>()
        let handler = ClosureHandler { _, responder in
            responder.park(timeout: nil, onDisconnect: { disconnected.set(true) })
            return .discard
        }
        let fixture = try TLSFixture(handler: handler)
        var client: HTTPTestClient? = try HTTPTestClient(port: fixture.running.port, tls: fixture.clientContext)
        try client?.send("GET /wait HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(await fixture.running.waitFor { $0.parkedRequests == 1 })
        client = nil
        #expect(await disconnected.wait() == true)
        #expect(await fixture.running.waitFor { $0.parkedRequests == 0 && $0.openConnections == 0 })
        await fixture.stop()
    }

    @Test func stalledHandshakeTimesOut() async throws {
        var limits = HTTPServerLimits()
        limits.handshakeTimeout = .milliseconds(100)
        let fixture = try TLSFixture(limits: limits, handler: echoHandler())
        let client = try HTTPTestClient(port: fixture.running.port)
        try client.send([0x16, 0x03, 0x01])
        #expect(try client.receiveUntilClosed().isEmpty)
        await fixture.stop()
    }
}

@Suite struct ServerTLSFileTests {
    @Test func fileBodyIsReadInChunksOverTLS() async throws {
        let directory = try TemporaryDirectory(prefix: "dcf-tls-file")
        defer { directory.remove() }
        let content = (0..<(1 << 20) + 12345).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let path = directory.path + "/blob.bin"
        try Data(content).write(to: URL(fileURLWithPath: path))
        let handler = ClosureHandler { _, responder in
            do {
                responder.respond(HTTPResponse(status: .ok, body: .file(try HTTPFileRegion(path: path))))
            } catch {
                responder.respond(.text(.internalServerError, "\(error)"))
            }
            return .discard
        }
        let fixture = try ServerTLSTests.TLSFixture(handler: handler)
        let client = try HTTPTestClient(port: fixture.running.port, tls: fixture.clientContext)
        try client.send("GET /blob HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try client.readResponse().body == content)
        await fixture.stop()
    }
}
