// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
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

    /// `http://` for a server that speaks TLS: the server's plaintext hint arrives as one clean error.
    @Test func plainHTTPToTLSPortSaysToUseHTTPS() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }
        let plainURL = server.url.replacingOccurrences(of: "https://", with: "http://")
        let worker = try worker(url: plainURL, caFile: nil, fixture)

        let error = await #expect(throws: DCFWorkerError.self) { _ = try await worker.registerWorker() }
        let text = String(describing: error)
        #expect(text.contains("use https://"), "\(text)")
        #expect(text.contains(DCFErrorCode.badRequest.rawValue), "\(text)")
        #expect(!text.contains(DCFErrorCode.internalError.rawValue), "\(text)")
        #expect(!text.contains("\r"), "\(text)")
        #expect(!text.contains("\n"), "\(text)")
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
}
