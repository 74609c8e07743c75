// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import DCFTransport
import DCFWorker
import Foundation
import TestSupport
import Testing

/// Checks that a worker set up wrongly for its server gets an error that names the setting to fix.
@Suite struct WorkerMisconfigurationTests {
    private func worker(url: String, caFile: String?, _ fixture: ServerdFixture) throws -> DCFWorker {
        try DCFWorker(
            configuration: DCFWorkerConfiguration(
                serverURL: URL(string: url)!, trustedCAFile: caFile, privateKeyFile: fixture.workerKeyFiles[0]),
            callbacks: .idle, logger: Logger(component: "e2e-worker", sink: LogSink(level: .critical) { _ in }))
    }

    /// `http://` for a server that speaks TLS: the server's plaintext hint arrives as one clean configuration
    /// error that names `agent.server`, which retrying cannot fix.
    @Test func plainHTTPToTLSPortSaysToUseHTTPS() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }
        let plainURL = server.url.replacingOccurrences(of: "https://", with: "http://")
        let worker = try worker(url: plainURL, caFile: nil, fixture)

        let error = await #expect(throws: DCFWorkerError.self) { _ = try await worker.registerWorker() }
        let text = String(describing: error)
        #expect(error?.isInvalidConfiguration == true, "\(text)")
        #expect(text.contains("use https://"), "\(text)")
        #expect(text.contains("agent.server"), "\(text)")
        #expect(!text.contains(DCFErrorCode.internalError.rawValue), "\(text)")
        #expect(!text.contains("\r"), "\(text)")
        #expect(!text.contains("\n"), "\(text)")
    }

    /// A 400 from a plain HTTP server other than the TLS port's own reply is an ordinary server error, which a
    /// later retry may get past: a plain-text body, and a proxy's page that happens to mention TLS.
    @Test(arguments: [
        (contentType: "text/plain", body: "bad request\n"),
        ("text/html", "<html><body><h1>400 Bad Request</h1><p>The upstream requires TLS 1.2 or later.</p></body></html>\n"),
    ])
    func otherBadRequestIsNoConfigurationError(contentType: String, body: String) async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try CannedResponseServer(
            status: "400 Bad Request", contentType: contentType, body: body, waitsForRequestHead: true)
        defer { server.stop() }
        let worker = try worker(url: "http://127.0.0.1:\(server.port)", caFile: nil, fixture)

        let error = await #expect(throws: DCFWorkerError.self) { _ = try await worker.registerWorker() }
        let text = String(describing: error)
        #expect(error?.isInvalidConfiguration == false, "\(text)")
        #expect(error?.serverErrorCode == .badRequest, "\(text)")
    }

    /// `https://` for a plain HTTP server, such as one run with `plain_http`: its plaintext reply fails the
    /// handshake as "wrong version number", and the hint names http://.
    @Test func httpsToPlainServerSaysToUseHTTP() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try CannedResponseServer(
            status: "400 Bad Request", contentType: "text/plain", body: "no\n", waitsForRequestHead: false)
        defer { server.stop() }
        let worker = try worker(
            url: "https://127.0.0.1:\(server.port)", caFile: fixture.certificates.ca.certificateFile, fixture)

        let error = await #expect(throws: DCFWorkerError.self) { _ = try await worker.registerWorker() }
        let text = String(describing: error)
        #expect(text.contains("use http://"), "\(text)")
        #expect(text.contains("plain_http"), "\(text)")
    }

    @Test func untrustedCertificateNamesTheCAFile() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }
        let foreignCA = fixture.certificates.foreignCA.certificateFile
        let worker = try worker(url: server.url, caFile: foreignCA, fixture)

        let error = await #expect(throws: DCFWorkerError.self) { _ = try await worker.registerWorker() }
        let text = String(describing: error)
        #expect(text.contains("certificate verification failed"), "\(text)")
        #expect(text.contains("the CA file \(foreignCA)"), "\(text)")
        #expect(text.contains("--ca-file"), "\(text)")
    }

    /// A certificate from the trusted CA that names another host: the hint is about the name, not the CA.
    @Test func hostNameMismatchNamesAgentServer() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let wrongHost = fixture.certificates.wrongHostServer
        let server = try fixture.launch(["--tls-certificate", wrongHost.certificateFile, "--tls-key", wrongHost.privateKeyFile])
        defer { server.process.terminate(signal: SIGKILL) }
        let worker = try worker(url: server.url, caFile: server.caFile, fixture)

        let error = await #expect(throws: DCFWorkerError.self) { _ = try await worker.registerWorker() }
        let text = String(describing: error)
        #expect(text.contains("host name mismatch"), "\(text)")
        #expect(text.contains("agent.server"), "\(text)")
        #expect(text.contains("gen-certs.sh"), "\(text)")
        #expect(!text.contains("not trusted by"), "\(text)")
    }

    /// An expired certificate from the trusted CA: the hint is about the validity period and the clock, not the CA.
    @Test func expiredCertificateNamesValidity() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let expired = fixture.certificates.expiredServer
        let server = try fixture.launch(["--tls-certificate", expired.certificateFile, "--tls-key", expired.privateKeyFile])
        defer { server.process.terminate(signal: SIGKILL) }
        let worker = try worker(url: server.url, caFile: server.caFile, fixture)

        let error = await #expect(throws: DCFWorkerError.self) { _ = try await worker.registerWorker() }
        let text = String(describing: error)
        #expect(text.contains("certificate expired"), "\(text)")
        #expect(text.contains("validity period"), "\(text)")
        #expect(text.contains("clock"), "\(text)")
        #expect(!text.contains("not trusted by"), "\(text)")
    }

    /// A server with `tls.client_ca` and an agent without a client certificate: the error names both settings,
    /// whichever record layer reads the server's alert.
    @Test(arguments: TLSConfiguration.RecordLayer.allCases)
    func missingClientCertificateNamesSettings(recordLayer: TLSConfiguration.RecordLayer) async throws {
        let text = try await clientCertificateFailure(recordLayer: recordLayer) { _, _ in }
        #expect(text.contains("agent.client_certificate"), "\(text)")
        #expect(text.contains("agent.client_key"), "\(text)")
        #expect(!text.contains("rejected this client's TLS certificate"), "\(text)")
    }

    /// A client certificate from a CA that the server's `tls.client_ca` does not contain: the server sends an
    /// alert or closes the connection, and the error names the agent's certificate settings and the server's CA.
    @Test(arguments: TLSConfiguration.RecordLayer.allCases)
    func rejectedClientCertificateNamesSettings(recordLayer: TLSConfiguration.RecordLayer) async throws {
        let text = try await clientCertificateFailure(recordLayer: recordLayer) { configuration, fixture in
            configuration.clientCertificateFile = fixture.certificates.foreignClient.certificateFile
            configuration.clientPrivateKeyFile = fixture.certificates.foreignClient.privateKeyFile
        }
        #expect(text.contains("agent.client_certificate"), "\(text)")
        #expect(text.contains("tls.client_ca"), "\(text)")
    }

    /// Returns the registration error of a worker, set up by `configure`, against a server that requires client
    /// certificates signed by the fixture's CA.
    private func clientCertificateFailure(
        recordLayer: TLSConfiguration.RecordLayer,
        configure: (inout DCFWorkerConfiguration, ServerdFixture) -> Void
    ) async throws -> String {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch(["--tls-client-ca", fixture.certificates.ca.certificateFile])
        defer { server.process.terminate(signal: SIGKILL) }
        var configuration = DCFWorkerConfiguration(
            serverURL: URL(string: server.url)!, trustedCAFile: server.caFile, privateKeyFile: fixture.workerKeyFiles[0])
        configuration.tlsRecordLayer = recordLayer
        configure(&configuration, fixture)
        let worker = try DCFWorker(
            configuration: configuration, callbacks: .idle,
            logger: Logger(component: "e2e-worker", sink: LogSink(level: .critical) { _ in }))

        let error = await #expect(throws: DCFWorkerError.self) { _ = try await worker.registerWorker() }
        return String(describing: error)
    }
}
