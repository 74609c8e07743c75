// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFServer
import DCFSupport
import DCFWorker
import Foundation
import TestSupport
import Testing

/// `DCFWorker` against `DCFServer` with the example strategy, over real TLS on 127.0.0.1.
@Suite(.serialized) struct IntegrationTests {
    private static let firstModel = GlobalModel(version: 1, bytes: Data("initial global model".utf8))

    /// Runs `body` with certificates, a key file, a started host and a worker; cleans everything up after.
    private func withSetup(
        admission: (_ publicKeyHex: String) -> AdmissionMode = { _ in .unsafe },
        serverVersions: ProtocolVersionRange = .supported, lastTrainedVersion: ModelVersion = 3,
        _ body: (IntegrationHost, DCFWorker, IntegrationWorkerProbe) async throws -> Void
    ) async throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let directory = certificates.directory.url.appendingPathComponent("run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let keyFile = directory.appendingPathComponent("worker.key").path
        let key = try Ed25519KeyFile.generate(at: keyFile)
        let host = IntegrationHost(
            certificates: certificates, baseDirectory: directory, admission: admission(key.publicKey.hexString),
            protocolVersions: serverVersions)
        try host.start(model: Self.firstModel)
        var configuration = DCFWorkerConfiguration(
            serverURL: host.url, trustedCAFile: certificates.ca.certificateFile, privateKeyFile: keyFile)
        configuration.backoff = RetryBackoff(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(400))
        let probe = IntegrationWorkerProbe(lastTrainedVersion: lastTrainedVersion)
        let worker = try DCFWorker(
            configuration: configuration, callbacks: probe.callbacks,
            logger: Logger(component: "worker", sink: host.logSink))
        probe.worker.withLock { $0 = worker }
        do {
            try await body(host, worker, probe)
        } catch {
            await host.stop()
            throw error
        }
        await host.stop()
    }

    private func keyList(_ publicKeyHex: String, in host: IntegrationHost) throws -> AdmissionMode {
        .safe(keyList: nil)
    }

    @Test func roundsAdvanceOverTLS() async throws {
        try await withSetup { host, worker, probe in
            #expect(try await worker.registerWorker() != WorkerID(worker.publicKeyHex))
            let current = try await worker.globalModel()
            #expect(current == DownloadedModel(version: 1, bytes: Self.firstModel.bytes))

            let running = Task { try await worker.run() }
            try await probe.waitForVersion(4)
            worker.stop()
            await #expect(throws: CancellationError.self) { try await running.value }

            let updates = try (1...3).map { try IntegrationWorkerProbe.update(from: ModelVersion($0)) }
            #expect(probe.sent == updates)
            #expect(probe.received.map(\.version) == [1, 2, 3, 4])
            #expect(probe.received.map(\.bytes) == [Self.firstModel.bytes] + updates)
            #expect(host.strategy.updateCount == 3)
            #expect(host.strategy.lastUpdate?.payload == updates[2])
            #expect(host.strategy.lastUpdate?.baseVersion == 3)
            #expect(host.strategy.lastUpdate?.bodySHA256 == (try SHA256.hash(updates[2]).hexString))
        }
    }

    @Test func workerCarriesOnAfterRestart() async throws {
        try await withSetup(
            admission: { key in .safe(keyList: nil) }, lastTrainedVersion: 1
        ) { host, worker, probe in
            _ = worker
            _ = probe
            _ = host
        }
    }

    @Test func protocolMismatchNamesBothRanges() async throws {
        try await withSetup(serverVersions: ProtocolVersionRange(min: 2, max: 3)!) { _, worker, probe in
            let error = await #expect(throws: DCFWorkerError.self) { try await worker.run() }
            #expect(error?.isProtocolMismatch == true)
            let message = error?.description ?? ""
            #expect(message.contains("server speaks 2-3"))
            #expect(message.contains("this worker speaks 1"))
            #expect(probe.received.isEmpty)
        }
    }
}
