// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import DCFWorker
import Foundation
import TestSupport
import Testing

/// A worker given `http://` for a server that speaks TLS gets the server's plaintext hint as one clean error.
@Suite struct PlainHTTPToTLSPortTests {
    @Test func workerErrorSaysToUseHTTPS() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }
        let plainURL = server.url.replacingOccurrences(of: "https://", with: "http://")
        let worker = try DCFWorker(
            configuration: DCFWorkerConfiguration(
                serverURL: URL(string: plainURL)!, trustedCAFile: nil, privateKeyFile: fixture.workerKeyFiles[0]),
            callbacks: .idle, logger: Logger(component: "e2e-worker", sink: LogSink(level: .critical) { _ in }))

        let error = await #expect(throws: DCFWorkerError.self) { _ = try await worker.registerWorker() }
        let text = String(describing: error)
        #expect(text.contains("use https://"), "\(text)")
        #expect(text.contains(DCFErrorCode.badRequest.rawValue), "\(text)")
        #expect(!text.contains(DCFErrorCode.internalError.rawValue), "\(text)")
        #expect(!text.contains("\r") && !text.contains("\n"), "\(text)")
    }
}
