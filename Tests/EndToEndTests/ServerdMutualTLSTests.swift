// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import DCFWorker
import Foundation
import TestSupport
import Testing

/// A server with `tls.client_ca` serves only workers that present a certificate from that CA.
@Suite struct ServerdMutualTLSTests {
    private func worker(
        _ server: RunningServerd, _ fixture: ServerdFixture, client: CertificateFactory.Identity?
    ) throws -> DCFWorker {
        var configuration = DCFWorkerConfiguration(
            serverURL: URL(string: server.url)!, trustedCAFile: server.caFile, privateKeyFile: fixture.workerKeyFiles[0])
        configuration.clientCertificateFile = client?.certificateFile
        configuration.clientPrivateKeyFile = client?.privateKeyFile
        return try DCFWorker(
            configuration: configuration, callbacks: .idle,
            logger: Logger(component: "e2e-worker", sink: LogSink(level: .critical) { _ in }))
    }

    @Test func onlyWorkersWithTheCAsCertificateAreServed() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch(["--tls-client-ca", fixture.certificates.ca.certificateFile])
        defer { server.process.terminate(signal: SIGKILL) }

        let trusted = try worker(server, fixture, client: fixture.certificates.client)
        let registered = try await trusted.registerWorker()
        #expect(registered.rawValue == (try fixture.publicKeyHex(0)))

        for client in [nil, fixture.certificates.foreignClient] {
            let rejected = try worker(server, fixture, client: client)
            await #expect(throws: (any Error).self) { _ = try await rejected.registerWorker() }
        }
    }

    @Test func agentNeedsBothClientFiles() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-agent"),
            arguments: [
                "run", "--server", "https://127.0.0.1:9", "--key", fixture.workerKeyFiles[0],
                "--client-certificate", fixture.certificates.client.certificateFile,
            ],
            logFile: fixture.directory.file("agent.log"))
        #expect(process.waitForExit() == 78)
        #expect(process.output.contains("agent.client_certificate and agent.client_key go together"), "\(process.output)")
    }
}
