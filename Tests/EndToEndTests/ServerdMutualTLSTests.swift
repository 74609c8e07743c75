// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import DCFTransport
import DCFWorker
import Foundation
import Synchronization
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

    /// A reload that makes client certificates required closes the connections opened without one, an idle
    /// keep-alive connection and a parked long poll, and logs how many it closed. Their clients must connect
    /// again, and the new handshake fails.
    @Test func reloadRequiringCertificatesClosesConnectionsWithoutOne() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let config = try String(contentsOfFile: fixture.configFile, encoding: .utf8)
        let keyLine = "private_key = \"\(fixture.privateKeyFile)\"\n"
        #expect(config.contains(keyLine))
        let optional = config.replacingOccurrences(
            of: keyLine,
            with: keyLine + "client_ca = \"\(fixture.certificates.ca.certificateFile)\"\n"
                + "require_client_certificate = false\n")
        try ServerdFixture.write(optional, to: fixture.configFile)
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }

        let idle = try HTTPClient(
            host: "127.0.0.1", port: server.port,
            configuration: HTTPClientConfiguration(
                transport: .tls(.client(trustedCAFile: server.caFile)), totalTimeout: .seconds(30)))
        let health = HTTPClientRequest(method: "GET", path: "/healthz")
        for _ in 0..<2 { #expect(try idle.execute(health).statusCode == 200) }
        #expect(idle.openedConnectionCount == 1)

        let versions = Mutex<[ModelVersion]>([])
        let callbacks = DCFWorkerCallbacks(
            globalModelVersionChanged: { _, version in versions.withLock { $0.append(version) } },
            getWorkerVersionOfGlobalModel: { versions.withLock { $0.last } })
        var configuration = DCFWorkerConfiguration(
            serverURL: URL(string: server.url)!, trustedCAFile: server.caFile, privateKeyFile: fixture.workerKeyFiles[0])
        configuration.longPollTimeout = .seconds(180)
        let waiting = try DCFWorker(
            configuration: configuration, callbacks: callbacks,
            logger: Logger(component: "e2e-worker", sink: LogSink(level: .critical) { _ in }))
        let loop = Task { try await waiting.run() }
        defer {
            waiting.stop()
            loop.cancel()
        }
        try await waitUntil("the worker without a certificate holds version 1 and its long poll is parked") {
            try versions.withLock({ $0 }) == [1] && server.metrics()["dcf_long_polls_parked"] == 1
        }

        try ServerdFixture.write(
            optional.replacingOccurrences(
                of: "require_client_certificate = false\n", with: "require_client_certificate = true\n"),
            to: fixture.configFile)
        kill(server.process.pid, SIGHUP)
        try server.process.waitForLine(containing: "reloaded TLS certificate and key", timeout: 30)

        #expect(throws: (any Error).self) { try idle.execute(health) }
        #expect(idle.openedConnectionCount == 2)
        let client = fixture.certificates.client
        try await waitUntil("no long poll is parked", bound: 30) {
            try server.metrics(client: client)["dcf_long_polls_parked"] == 0
        }
        let line = try server.process.waitForLine(containing: "client certificate policy changed", timeout: 30)
        #expect(line.contains("require_client_certificate=true"), "\(line)")
        let closed = line.firstMatch(of: #/closed=(\d+)/#).flatMap { Int($0.1) } ?? 0
        #expect(closed >= 2, "\(line)")
        #expect(try server.request("GET", "/healthz", client: client).statusCode == 200)
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
