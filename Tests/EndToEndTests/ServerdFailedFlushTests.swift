// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import DCFWorker
import Foundation
import TestSupport
import Testing

/// An update is renamed into its round's directory, and that rename survives a power loss only once the directory
/// is flushed. Here the flush fails (a preloaded `fsync` returns `EIO` for the round directory), so the server must
/// not acknowledge the update. Once flushing works again, the worker's resend is acknowledged without counting the
/// update twice.
@Suite struct ServerdFailedFlushTests {
    @Test func updateIsAcknowledgedOnlyAfterItsDirectoryIsFlushed() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let fault = try FailingDirectoryFlush(directory: fixture.directory.path)
        try fault.breakFlushes()
        // Two updates close a round, so the first one stays in the round directory.
        let server = try fixture.launch(
            ["--update-lim", "2"], environment: fault.environment(failingFlushOf: "/rounds/from-v1"))
        defer { server.process.terminate(signal: SIGKILL) }
        var configuration = DCFWorkerConfiguration(
            serverURL: URL(string: server.url)!, trustedCAFile: server.caFile,
            privateKeyFile: fixture.workerKeyFiles[0])
        // The test resends the update itself, so it gets the reply to each copy.
        configuration.maximumUpdateResends = 0
        configuration.updateRetryWindow = .zero
        let worker = try DCFWorker(
            configuration: configuration, callbacks: .idle,
            logger: Logger(component: "failed-flush-worker", sink: .standardError(level: .error)))
        _ = try await worker.registerWorker()
        let update = try ServerdFixture.update(from: 1)

        await #expect(throws: DCFWorkerError.self, "an update whose directory flush failed was acknowledged") {
            try await worker.sendModelUpdate(update)
        }
        #expect(server.process.output.contains("cannot flush directory"), "no log line names the failed flush")
        #expect(try server.status().round["updates"] == 1, "the update left the round when its flush failed")

        try fault.repairFlushes()
        let reply = try await worker.sendModelUpdate(update)
        #expect(reply.message.contains("nothing changed"), "reply to the resend: \(reply.message)")
        #expect(try server.status().round["updates"] == 1)
    }

    /// An update rejected with 503 after a failed flush stays counted. When another update closes the round before
    /// the resend, the new version contains it, and the resend, which a stale base version still admits, must not
    /// enter the next round as a second copy.
    @Test func resendAfterTheRoundClosedCountsOnce() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        try ServerdFixture.write(
            try fixture.publicKeyHex(0) + "\n" + fixture.publicKeyHex(1) + "\n", to: fixture.keyListFile)
        let fault = try FailingDirectoryFlush(directory: fixture.directory.path)
        try fault.breakFlushes()
        let server = try fixture.launch(
            ["--update-lim", "2", "--max-staleness", "1"],
            environment: fault.environment(failingFlushOf: "/rounds/from-v1"))
        defer { server.process.terminate(signal: SIGKILL) }
        var workers: [DCFWorker] = []
        for keyFile in fixture.workerKeyFiles {
            var configuration = DCFWorkerConfiguration(
                serverURL: URL(string: server.url)!, trustedCAFile: server.caFile, privateKeyFile: keyFile)
            configuration.maximumUpdateResends = 0
            configuration.updateRetryWindow = .zero
            let worker = try DCFWorker(
                configuration: configuration, callbacks: .idle,
                logger: Logger(component: "failed-flush-worker", sink: .standardError(level: .error)))
            _ = try await worker.registerWorker()
            workers.append(worker)
        }
        let update = try ServerdFixture.update(from: 1)

        await #expect(throws: DCFWorkerError.self, "an update whose directory flush failed was acknowledged") {
            try await workers[0].sendModelUpdate(update)
        }
        // The second update closes the round, so no flush of its directory is needed.
        let closing = try await workers[1].sendModelUpdate(try ServerdFixture.update(from: 1))
        #expect(closing.message.contains("closed the round"), "reply to the closing update: \(closing.message)")
        #expect(try server.status().modelVersion == 2)

        try fault.repairFlushes()
        let reply = try await workers[0].sendModelUpdate(update)
        #expect(reply.message.contains("nothing changed"), "reply to the resend: \(reply.message)")
        #expect(try server.status().round["updates"] == 0, "the resend entered the next round a second time")
    }

    /// A copy resent after its connection failed that gets a 503 has spent its nonce, so the same signed bytes
    /// sent again only get `replayed_request`. The worker must sign the update again and get it acknowledged,
    /// instead of giving up with the outcome unknown.
    @Test func resendAfter503IsSignedAgain() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        // Plain HTTP, so the proxy can read where the update's body ends.
        try fixture.removeTLSFiles()
        let fault = try FailingDirectoryFlush(directory: fixture.directory.path)
        try fault.breakFlushes()
        let server = try fixture.launch(
            ["--update-lim", "2", "--plain-http"], environment: fault.environment(failingFlushOf: "/rounds/from-v1"))
        defer { server.process.terminate(signal: SIGKILL) }
        // The first copy is cut before its body ends, and the resent copy gets the 503 of the failed flush.
        let proxy = try UpdateFaultProxy(serverPort: server.port) { try? fault.repairFlushes() }
        defer { proxy.stop() }
        let worker = try DCFWorker(
            configuration: DCFWorkerConfiguration(
                serverURL: URL(string: "http://127.0.0.1:\(proxy.port)")!, trustedCAFile: nil,
                privateKeyFile: fixture.workerKeyFiles[0]),
            callbacks: .idle, logger: Logger(component: "cut-upload-worker", sink: .standardError(level: .error)))
        _ = try await worker.registerWorker()

        let reply: UpdateResponse
        do {
            reply = try await worker.sendModelUpdate(try ServerdFixture.update(from: 1))
        } catch {
            Issue.record("\(error); server output: \(server.process.output)")
            return
        }
        #expect(reply.message.contains("nothing changed"), "reply: \(reply.message)")
        #expect(server.process.output.contains("cannot flush directory"), "the resent copy got no 503")
    }
}
