// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFServer
import DCFSupport
import DCFWorker
import Foundation
import Synchronization
import TestSupport
import Testing

/// `DCFWorker` against `DCFServer` with the example strategy, over real TLS on 127.0.0.1.
@Suite(.serialized) struct IntegrationTests {
    private static let firstModel = GlobalModel(version: 1, bytes: Data("initial global model".utf8))

    /// Runs `body` with certificates, a key file, a started host and a worker; cleans everything up after.
    private func withSetup(
        keyListed: Bool = false, uploadCompression: DCFWorkerConfiguration.UploadCompression = .none,
        serverVersions: ProtocolVersionRange = .supported, lastTrainedVersion: ModelVersion = 3,
        workerLog: LogSink? = nil, configure: (inout DCFWorkerConfiguration) -> Void = { _ in },
        _ body: (IntegrationHost, DCFWorker, IntegrationWorkerProbe) async throws -> Void
    ) async throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let directory = certificates.directory.url.appendingPathComponent("run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let keyFile = directory.appendingPathComponent("worker.key").path
        let key = try Ed25519KeyFile.generate(at: keyFile)
        var admission = AdmissionMode.unsafe
        if keyListed {
            let keys = directory.appendingPathComponent("keys.txt")
            try (key.publicKey.hexString + "\n").write(to: keys, atomically: true, encoding: .utf8)
            admission = .safe(keyList: KeyListFile(url: keys))
        }
        let host = IntegrationHost(
            certificates: certificates, baseDirectory: directory, admission: admission,
            protocolVersions: serverVersions)
        try host.start(model: Self.firstModel)
        var configuration = DCFWorkerConfiguration(
            serverURL: host.url, trustedCAFile: certificates.ca.certificateFile, privateKeyFile: keyFile)
        configuration.uploadCompression = uploadCompression
        configuration.backoff = RetryBackoff(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(400))
        configure(&configuration)
        let probe = IntegrationWorkerProbe(lastTrainedVersion: lastTrainedVersion)
        let worker = try DCFWorker(
            configuration: configuration, callbacks: probe.callbacks,
            logger: Logger(component: "worker", sink: workerLog ?? host.logSink))
        probe.worker.withLock { $0 = worker }
        do {
            try await body(host, worker, probe)
        } catch {
            await host.stop()
            throw error
        }
        await host.stop()
    }

    @Test(arguments: [DCFWorkerConfiguration.UploadCompression.none, .deflate])
    func roundsAdvanceOverTLS(compression: DCFWorkerConfiguration.UploadCompression) async throws {
        try await withSetup(uploadCompression: compression) { host, worker, probe in
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
            // The signature covers the body as sent, so a compressed body has a different digest than the payload.
            let payloadDigest = try SHA256.hash(updates[2]).hexString
            #expect((host.strategy.lastUpdate?.bodySHA256 == payloadDigest) == (compression == .none))
        }
    }

    @Test func workerCarriesOnAfterRestart() async throws {
        try await withSetup(keyListed: true, lastTrainedVersion: 1) { host, worker, probe in
            let running = Task { try await worker.run() }
            try await probe.waitForVersion(2)
            let secondModel = try #require(probe.received.last)

            // The new server keeps the registry in the same state directory but has lost every nonce and
            // parked poll; its strategy resumes at version 2, as a durable strategy would.
            try await host.restart(model: GlobalModel(version: 2, bytes: secondModel.bytes))
            probe.trainThrough(3)
            let thirdBytes = Data("version 3 after restart".utf8)
            host.strategy.publish(GlobalModel(version: 3, bytes: thirdBytes))
            // The update trained from version 3 becomes version 4.
            try await probe.waitForVersion(4)
            worker.stop()
            await #expect(throws: CancellationError.self) { try await running.value }

            #expect(worker.workerID == WorkerID(worker.publicKeyHex))
            let thirdUpdate = try IntegrationWorkerProbe.update(from: 3)
            #expect(probe.received.map(\.version) == [1, 2, 3, 4])
            #expect(probe.received[2].bytes == thirdBytes)
            #expect(probe.received[3].bytes == thirdUpdate)
            #expect(host.strategy.updateCount == 1)
            #expect(host.strategy.lastUpdate?.payload == thirdUpdate)
            #expect(host.strategy.lastUpdate?.baseVersion == 3)
        }
    }

    /// After a run of failed requests while the server is down, the first request that succeeds is logged
    /// once, with the number of failed attempts, so the log shows where the outage ended.
    @Test func returnAfterOutageIsLoggedOnce() async throws {
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .info) { line in lines.withLock { $0.append(line) } }
        try await withSetup(keyListed: true, lastTrainedVersion: 0, workerLog: sink) { host, worker, probe in
            let running = Task { try await worker.run() }
            try await probe.waitForVersion(1)

            await host.stop()
            let deadline = ContinuousClock.now + .seconds(30)
            while lines.withLock({ $0 }).filter({ $0.contains("request failed") }).count < 2,
                ContinuousClock.now < deadline
            {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await host.restart(model: GlobalModel(version: 2, bytes: Data("version 2".utf8)))
            try await probe.waitForVersion(2)
            // More successful polls after the one that ended the outage must not repeat the line.
            host.strategy.publish(GlobalModel(version: 3, bytes: Data("version 3".utf8)))
            try await probe.waitForVersion(3)
            worker.stop()
            await #expect(throws: CancellationError.self) { try await running.value }

            let log = lines.withLock { $0 }
            let failures = log.filter { $0.contains("request failed") }.count
            let returns = log.filter { $0.contains("requests to the server succeed again") }
            #expect(failures >= 2, "\(log.joined())")
            #expect(returns.count == 1, "\(log.joined())")
            let line = try #require(returns.first)
            #expect(line.contains(" notice "), "\(line)")
            #expect(line.contains("after \(failures) failed attempts"), "\(line)")
        }
    }

    @Test func unsafeWorkerRegistersAgainAfterLostState() async throws {
        try await withSetup(lastTrainedVersion: 0) { host, worker, probe in
            let running = Task { try await worker.run() }
            try await probe.waitForVersion(1)
            let firstID = worker.workerID

            try await host.restart(model: Self.firstModel, losingState: true)
            host.strategy.publish(GlobalModel(version: 2, bytes: Data("version 2".utf8)))
            try await probe.waitForVersion(2)
            worker.stop()
            await #expect(throws: CancellationError.self) { try await running.value }

            #expect(firstID != WorkerID(worker.publicKeyHex))
            #expect(worker.workerID != firstID)
            #expect(host.strategy.registeredCalls == [worker.workerID])
            #expect(probe.received.last?.bytes == Data("version 2".utf8))
        }
    }

    /// An admin disables a worker, which drops its update of the open round, and enables it again. The worker
    /// registers again and trains the current model again, so the round gets its update back.
    @Test func reenabledWorkerGetsCurrentModelAgain() async throws {
        try await withSetup(keyListed: true, lastTrainedVersion: 0) { host, worker, probe in
            let running = Task { try await worker.run() }
            try await probe.waitForVersion(1)
            try host.setRegistered(worker.workerID, false)
            try await Task.sleep(for: .milliseconds(300))
            try host.setRegistered(worker.workerID, true)
            let deadline = ContinuousClock.now + .seconds(30)
            while probe.received.count < 2, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            worker.stop()
            await #expect(throws: CancellationError.self) { try await running.value }
            #expect(probe.received.map(\.version) == [1, 1])
        }
    }

    /// A server whose hold (2 s here) outlasts the worker's long-poll timeout has not failed: the worker polls
    /// again at once and logs the mismatch once, instead of a warning and a longer backoff after every poll.
    @Test func holdPastTheWorkerTimeoutIsNoFailure() async throws {
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .debug) { line in lines.withLock { $0.append(line) } }
        try await withSetup(lastTrainedVersion: 0, workerLog: sink, configure: { configuration in
            configuration.longPollTimeout = .milliseconds(500)
            configuration.backoff = RetryBackoff(initialDelay: .seconds(2), maximumDelay: .seconds(10))
        }) { host, worker, probe in
            let running = Task { try await worker.run() }
            try await probe.waitForVersion(1)
            // About five polls time out in this time.
            try await Task.sleep(for: .milliseconds(2600))
            host.strategy.publish(GlobalModel(version: 2, bytes: Data("version 2".utf8)))
            try await probe.waitForVersion(2)
            worker.stop()
            await #expect(throws: CancellationError.self) { try await running.value }

            let log = lines.withLock { $0 }
            #expect(!log.contains { $0.contains("request failed") }, "\(log.joined())")
            #expect(log.filter { $0.contains("notice") && $0.contains("long_poll_hold") }.count == 1, "\(log.joined())")
        }
    }

    @Test func noChangeReplyPollsAgain() async throws {
        try await withSetup(lastTrainedVersion: 0) { host, worker, probe in
            let running = Task { try await worker.run() }
            try await probe.waitForVersion(1)
            // The server's hold is 2 s, so the worker gets "no change" twice and sends a new long poll each time.
            try await Task.sleep(for: .milliseconds(4500))
            host.strategy.publish(GlobalModel(version: 2, bytes: Data("version 2".utf8)))
            try await probe.waitForVersion(2)
            worker.stop()
            await #expect(throws: CancellationError.self) { try await running.value }
            #expect(probe.received.map(\.version) == [1, 2])
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
