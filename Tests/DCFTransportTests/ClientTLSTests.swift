// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing
import TestSupport
@testable import DCFTransport

@Suite struct ClientTLSTests {
    private static let echo: ClientTestServer.Handler = { request, connection in
        try connection.respond(body: Data("\(request.method) \(request.path)".utf8))
    }

    private func client(_ certificates: CertificateFactory, port: Int, host: String = "localhost",
                        identity: CertificateFactory.Identity? = nil) throws -> HTTPClient {
        let tls = TLSConfiguration.client(
            trustedCAFile: certificates.ca.certificateFile,
            certificateChainFile: identity?.certificateFile, privateKeyFile: identity?.privateKeyFile
        )
        return try HTTPClient(host: host, port: port, configuration: HTTPClientConfiguration(transport: .tls(tls)))
    }

    @Test(arguments: ["localhost", "127.0.0.1"])
    func getOverVerifiedTLS(host: String) throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let server = try ClientTestServer(tls: certificates.serverConfiguration(certificates.server), handler: Self.echo)
        defer { server.stop() }

        let response = try client(certificates, port: server.port, host: host)
            .execute(HTTPClientRequest(path: "/status?x=1"))
        #expect(response.statusCode == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "GET /status?x=1")
    }

    @Test(arguments: [
        ("expired", "certificate expired"),
        ("self-signed", "unknown issuer"),
        ("wrong-host", "host name mismatch"),
    ])
    func rejectsBadServerCertificate(kind: String, expectedText: String) throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let identity = switch kind {
        case "expired": certificates.expiredServer
        case "self-signed": certificates.selfSignedServer
        default: certificates.wrongHostServer
        }
        let server = try ClientTestServer(tls: certificates.serverConfiguration(identity), handler: Self.echo)
        defer { server.stop() }

        let error = try #require(throws: HTTPClientError.self) {
            try client(certificates, port: server.port).execute(HTTPClientRequest(path: "/"))
        }
        #expect(error.tlsError?.verificationFailure != nil)
        #expect(error.description.contains(expectedText))
        #expect(error.description.contains("localhost:\(server.port)"))
    }

    @Test func connectionRefusedIsReported() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let port = Int(try FreePort.loopback())
        let error = try #require(throws: HTTPClientError.self) {
            try client(certificates, port: port, host: "127.0.0.1").execute(HTTPClientRequest(path: "/"))
        }
        #expect(error.isConnectionRefused)
        #expect(error.description.contains("connection refused"))
    }

    /// A server that closes the connection during the TLS handshake, as a restarting one does, got no byte of the
    /// request. A plain-TCP server that closes after reading the request head may have acted on it.
    @Test func closeDuringHandshakeIsBeforeRequest() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let closing = try CannedResponseServer(response: [])
        defer { closing.stop() }
        let duringHandshake = try #require(throws: HTTPClientError.self) {
            try client(certificates, port: closing.port, host: "127.0.0.1").execute(HTTPClientRequest(path: "/"))
        }
        #expect(duringHandshake.failedBeforeRequest, "\(duringHandshake)")

        let afterHead = try CannedResponseServer(response: Array("HTTP/1.1 200 OK\r\n".utf8))
        defer { afterHead.stop() }
        let plain = try HTTPClient(
            host: "127.0.0.1", port: afterHead.port, configuration: HTTPClientConfiguration(transport: .plainTCP))
        let afterRequest = try #require(throws: HTTPClientError.self) {
            try plain.execute(HTTPClientRequest(path: "/"))
        }
        #expect(!afterRequest.failedBeforeRequest, "\(afterRequest)")
    }

    @Test func mutualTLSWithClientCertificate() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let serverTLS = TLSConfiguration.mutualTLSServer(
            certificateChainFile: certificates.server.certificateFile,
            privateKeyFile: certificates.server.privateKeyFile,
            clientCAFile: certificates.ca.certificateFile
        )
        let server = try ClientTestServer(tls: serverTLS, handler: Self.echo)
        defer { server.stop() }

        let accepted = try client(certificates, port: server.port, identity: certificates.client)
            .execute(HTTPClientRequest(path: "/mutual"))
        #expect(accepted.statusCode == 200)

        let error = try #require(throws: HTTPClientError.self) {
            try client(certificates, port: server.port, identity: certificates.foreignClient)
                .execute(HTTPClientRequest(path: "/mutual"))
        }
        // With TLS 1.3 the rejection arrives as an alert or, when the server closes first, as a closed connection.
        let reported = error.tlsError != nil || error.description.contains("rejected this client's TLS certificate")
        #expect(reported, "unexpected error: \(error)")
        // The server thread records its error after sending the alert, so it may lag behind the client.
        var serverSawUnknownIssuer = false
        for _ in 0..<500 where !serverSawUnknownIssuer {
            serverSawUnknownIssuer = server.serverErrors.withLock { $0.contains { $0.contains("unknown issuer") } }
            if !serverSawUnknownIssuer { usleep(10_000) }
        }
        #expect(serverSawUnknownIssuer)
    }

    /// A response and close_notify that arrive together end the connection: the next request, whose streamed
    /// body cannot be sent twice, goes out on a new connection.
    @Test func closeNotifyWithResponseRetiresConnection() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let server = try ClientTestServer(tls: certificates.serverConfiguration(certificates.server)) { request, connection in
            guard request.path == "/last" else { return try Self.echo(request, connection) }
            try connection.corked {
                try connection.respond(body: Data("last".utf8))
                connection.sendCloseNotify()
            }
        }
        defer { server.stop() }
        let client = try client(certificates, port: server.port)

        #expect(try client.execute(HTTPClientRequest(path: "/last")).body == Data("last".utf8))
        let pieces = Mutex([Data("abc".utf8)])
        let upload = HTTPClientRequest(
            method: "POST", path: "/after",
            body: .stream(length: 3) { pieces.withLock { $0.popLast() } })
        let response = try client.execute(upload)
        #expect(String(decoding: response.body, as: UTF8.self) == "POST /after")
        #expect(client.openedConnectionCount == 2)
    }

    @Test func interoperatesWithOpenSSLServer() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let port = Int(try FreePort.loopback())
        let server = try LaunchedProcess(
            executable: "/usr/bin/openssl",
            arguments: [
                "s_server", "-accept", "127.0.0.1:\(port)", "-cert", certificates.server.certificateFile,
                "-key", certificates.server.privateKeyFile, "-www", "-naccept", "1",
            ],
            logFile: certificates.directory.file("s_server.log")
        )
        defer { server.terminate() }
        try server.waitForLine(containing: "ACCEPT")

        let response = try client(certificates, port: port).execute(HTTPClientRequest(path: "/"))
        #expect(response.statusCode == 200)
        #expect(String(decoding: response.body, as: UTF8.self).contains("TLSv1.3"))
    }
}
