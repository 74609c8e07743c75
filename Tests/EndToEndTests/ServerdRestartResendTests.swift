// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import TestSupport
import Testing

/// Resends of updates that a real `dcf-serverd` stored before it was killed with SIGKILL.
@Suite struct ServerdRestartResendTests {
    /// An update stored before the kill and aggregated after the restart is in the new version. Its worker, whose
    /// reply was lost, sends the same body again. With `max_staleness` 1 that body still validates against the new
    /// version, so only its stored digest keeps it from being counted a second time in the next round.
    @Test func resendAfterRecoveredRoundCountsOnce() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let payload = try ServerdFixture.update(from: 1)
        try await countUpdateThenKill(fixture, payload, closingRound: false)

        let second = try fixture.launch(Self.arguments, logName: "serverd-2.log")
        defer { second.process.terminate(signal: SIGKILL) }
        _ = try second.process.waitForLine(containing: "recovered the open round")
        let other = try second.worker(keyFile: fixture.workerKeyFiles[1])
        _ = try await other.registerWorker()
        let closing = try await other.sendModelUpdate(try ServerdFixture.update(from: 1))
        #expect(closing.message.contains("now version 2"), "reply: \(closing.message)")

        let resent = try await second.worker(keyFile: fixture.workerKeyFiles[0]).sendModelUpdate(payload)
        #expect(resent.message.contains("already aggregated into version 2"), "reply: \(resent.message)")
        let status = try second.status()
        #expect(status.modelVersion == 2)
        #expect(status.round["updates"] == .integer(0))
    }

    /// The round closes before the kill, so after the restart its digests come from `aggregated-bodies.json`, or from
    /// its stored files when the kill landed before the cleanup wrote that file. The worker whose reply was lost then
    /// sends the same body again. With `max_staleness` 1 that body still validates, but it must not join
    /// the next round as a second copy.
    @Test func resendAfterRestartFollowingCloseCountsOnce() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let payload = try ServerdFixture.update(from: 1)
        try await countUpdateThenKill(fixture, payload, closingRound: true)

        let second = try fixture.launch(Self.arguments, logName: "serverd-2.log")
        defer { second.process.terminate(signal: SIGKILL) }
        let resent = try await second.worker(keyFile: fixture.workerKeyFiles[0]).sendModelUpdate(payload)
        #expect(resent.message.contains("already aggregated into version 2"), "reply: \(resent.message)")
        #expect(try second.status().round["updates"] == .integer(0))
    }

    /// A kill after the closing update's version is stored but before the cleanup writes `aggregated-bodies.json`
    /// leaves the round's update files. Copying version 1 to version 2 after a kill with the round still open gives
    /// that state directory, so the test does not depend on when the kill lands.
    @Test func resendAfterKillBeforeDigestFileCountsOnce() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let payload = try ServerdFixture.update(from: 1)
        try await countUpdateThenKill(fixture, payload, closingRound: false)
        let models = URL(fileURLWithPath: fixture.stateDirectory).appendingPathComponent("models")
        try FileManager.default.copyItem(
            at: models.appendingPathComponent("v1.safetensors"), to: models.appendingPathComponent("v2.safetensors"))

        let second = try fixture.launch(Self.arguments, logName: "serverd-2.log")
        defer { second.process.terminate(signal: SIGKILL) }
        let resent = try await second.worker(keyFile: fixture.workerKeyFiles[0]).sendModelUpdate(payload)
        #expect(resent.message.contains("already aggregated into version 2"), "reply: \(resent.message)")
        let status = try second.status()
        #expect(status.modelVersion == 2)
        #expect(status.round["updates"] == .integer(0))
    }

    /// Rounds close at two updates, and an update trained from the version before the current one still validates.
    private static let arguments = ["--update-lim", "2", "--max-staleness", "1"]

    /// Starts the first server with every fixture worker in the key list, has worker 0 send `payload`, counted as
    /// 1 of 2, and with `closingRound` has worker 1 close the round into version 2; then kills the server with SIGKILL.
    private func countUpdateThenKill(_ fixture: ServerdFixture, _ payload: Data, closingRound: Bool) async throws {
        let keys = try fixture.workerKeyFiles.map { try ServerdFixture.publicKeyHex($0) }
        try ServerdFixture.write(keys.joined(separator: "\n") + "\n", to: fixture.keyListFile)
        let first = try fixture.launch(Self.arguments, logName: "serverd-1.log")
        defer { first.process.terminate(signal: SIGKILL) }
        let worker = try first.worker(keyFile: fixture.workerKeyFiles[0])
        _ = try await worker.registerWorker()
        let counted = try await worker.sendModelUpdate(payload)
        #expect(counted.message.contains("1 of 2 updates"), "reply: \(counted.message)")
        guard closingRound else { return }
        let other = try first.worker(keyFile: fixture.workerKeyFiles[1])
        _ = try await other.registerWorker()
        let closing = try await other.sendModelUpdate(try ServerdFixture.update(from: 1))
        #expect(closing.message.contains("now version 2"), "reply: \(closing.message)")
    }
}
