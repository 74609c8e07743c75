// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFSupport
import DCFWorker
import Foundation
import Testing

@testable import DCFServer

/// `DCFWorker` whose update waits for its turn at a server that admits one body at a time.
@Suite struct WorkerUploadTurnTests {
    /// The server restarts while the update waits, so the update's body never went out and its nonce is gone with
    /// the old process. The worker signs the update again for the new server instead of calling its outcome
    /// unknown.
    @Test func restartWhileWaitingSignsUpdateAgain() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try PlainUploadHarness(
            directory: directory, configure: { $0.maximumConcurrentUploads = 1 },
            limits: { $0.idleTimeout = .milliseconds(300) })
        let keyFile = directory.url.appendingPathComponent("worker.key").path
        let key = try Ed25519KeyFile.generate(at: keyFile)
        let holder = try TestWorker()
        try await first.addWorker(holder)
        try await first.addWorker(publicKey: key.publicKey.hexString)

        // Another worker's upload takes the only place and keeps it.
        let payload = Data(repeating: 4, count: 64 * 1024)
        let holding = try holder.signed(
            "POST", DCFRoute.updatePath, nonce: try await first.nonce(for: holder), body: payload, baseVersion: "1")
        let connection = try RawConnection(port: first.port)
        try connection.send(PlainUploadHarness.updateHead(holding, bodyCount: payload.count))
        #expect(try connection.readResponse().status == 100)
        try connection.send(payload.prefix(1000))

        var configuration = DCFWorkerConfiguration(
            serverURL: URL(string: "http://127.0.0.1:\(first.port)")!, privateKeyFile: keyFile)
        configuration.backoff = RetryBackoff(initialDelay: .milliseconds(100), maximumDelay: .milliseconds(500))
        // Resends continue until the second server listens, which on a loaded machine can take seconds.
        configuration.maximumUpdateResends = 60
        let worker = try DCFWorker(
            configuration: configuration, callbacks: IntegrationWorkerProbe(lastTrainedVersion: 1).callbacks,
            logger: Logger(component: "worker", sink: LogSink.standardError(level: .warning)))
        // The model's reply brings the next nonce. The server then closes the idle connection, so the update
        // goes out on a new one, which the client does not retry after a failure.
        _ = try await worker.globalModel()
        try await Task.sleep(for: .seconds(1))
        let update = try IntegrationWorkerProbe.update(from: 1)
        let sending = Task { try await worker.sendModelUpdate(update) }
        #expect(await first.waitFor { first.admission == (1, 1) })

        await first.stop(keepingState: true)
        let second = try PlainUploadHarness(directory: directory, port: first.port)
        do {
            _ = try await sending.value
        } catch {
            Issue.record("the update failed: \(error)")
        }
        #expect(second.strategy.updateCount == 1)
        #expect(second.strategy.lastUpdate?.payload == update)
        await second.stop(keepingState: true)
        connection.close()
    }
}
