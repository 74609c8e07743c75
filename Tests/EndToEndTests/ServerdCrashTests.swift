// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import Foundation
import TestSupport
import Testing

/// Kills the real `dcf-serverd` with SIGKILL at chosen moments of its rounds while real workers upload, starts it
/// again on the same state directory each time, and checks that nothing it acknowledged was lost.
@Suite struct ServerdCrashTests {
    static let workerCount = 3

    @Test func killedServerKeepsAcknowledgedState() async throws {
        let server = try CrashedServerd(workers: Self.workerCount)
        defer { server.remove() }
        let workers = try AcknowledgingWorkers(
            keyFiles: server.workerKeyFiles, serverURL: server.url, caFile: server.caFile)
        defer { workers.stop() }
        var adminAdded: [String: Bool] = [:]

        // Right after the last registration was acknowledged.
        try await workers.registerAll()
        try server.kill()
        try server.restart()
        try checkRegistry(server, adminAdded: adminAdded)
        workers.start()

        // While the other uploads of a round are in flight: at the round's first acknowledgement.
        try await killAtAcknowledgement(server, workers, "the first update of a round") { $0.reply.contains(": 1 of ") }
        try checkRecoveredRound(server, workers)
        try checkRegistry(server, adminAdded: adminAdded)

        // Right after the acknowledgement of the update that closed a round.
        try await killAtAcknowledgement(server, workers, "the update that closed a round") {
            $0.reply.contains("closed the round")
        }
        try checkRecoveredRound(server, workers)

        // While a round is aggregated, at two renames. The first stores the new version after the round record is
        // staged. The second is the chart's, after the record is appended to the history and before the staged copy
        // is removed.
        try await killWhileAggregating(server, beforeStepOn: .versionStored)
        try checkRecoveredRound(server, workers)
        try await killWhileAggregating(server, beforeStepOn: .chartDrawn)
        try checkRecoveredRound(server, workers)

        // Right after an admin change was acknowledged, twice: one key added as registered, one only allowed.
        for registered in [true, false] {
            let key = try Self.newPublicKey(in: server.fixture.directory)
            let body = try JSONEncoder().encode(AdminAddWorkerRequest(publicKey: key, registered: registered))
            let response = try server.current.request("POST", DCFRoute.adminWorkersPath, body: body, admin: true)
            #expect(response.statusCode == 200, "\(String(decoding: response.body, as: UTF8.self))")
            adminAdded[key] = registered
            try server.kill()
            try server.restart()
            try checkRegistry(server, adminAdded: adminAdded)
            try checkRecoveredRound(server, workers)
        }

        // While the restarted server recovers, before it listens.
        try server.killDuringStartup()
        try server.restart()
        try checkRecoveredRound(server, workers)

        // The last round stays open with every worker's update but one. The last worker's limit is a version ahead
        // of the open round, so the rounds under way still close. If they have passed it already, the wait times out.
        let openVersion = UInt64(try server.openRound().version)
        let finalVersion = openVersion + 2
        workers.setLastVersion(finalVersion - 1, forWorker: Self.workerCount - 1)
        let senders = Set(0..<(Self.workerCount - 1))
        try await waitUntil("round from v\(finalVersion) holds \(senders.count) acknowledged updates") {
            let round = try server.openRound()
            return round.version == Int(finalVersion) && round.updates == senders.count
                && workers.acknowledgedWorkers(baseVersion: finalVersion) == senders
        }
        try server.kill()
        try server.restart()
        let recovered = try server.openRound()
        #expect(recovered.version == Int(finalVersion))
        #expect(recovered.updates == senders.count, "the open round lost an acknowledged update")
        workers.stop()

        try checkVersions(server, workers, through: finalVersion)
        try checkRegistry(server, adminAdded: adminAdded)
        #expect(workers.unexpectedFailures == [])
        for acknowledgement in workers.acknowledgements {
            // With max_staleness 0 an update joins only the round from its own base version.
            #expect(acknowledgement.round == acknowledgement.baseVersion, "\(acknowledgement.reply)")
        }
    }

    /// Kills the server from the worker that receives the first acknowledgement matching `matches`, then starts
    /// it again.
    private func killAtAcknowledgement(
        _ server: CrashedServerd, _ workers: AcknowledgingWorkers, _ moment: String,
        _ matches: @escaping @Sendable (AcknowledgedUpdate) -> Bool
    ) async throws {
        let pid = server.current.process.pid
        let fired = Shared(false)
        workers.setOnAcknowledgement { acknowledgement in
            guard matches(acknowledgement), fired.withLock({ fired in defer { fired = true }; return !fired }) else {
                return
            }
            kill(pid, SIGKILL)
        }
        try await waitUntil("a worker killed the server at \(moment)") { fired.withLock { $0 } }
        workers.setOnAcknowledgement(nil)
        try server.waitForExit()
        try server.restart()
    }

    /// The renames of an aggregation before which `killWhileAggregating` kills the server.
    private enum AggregationStep {
        /// The rename that stores the new version, after the round record is staged.
        case versionStored
        /// The rename of the history chart, after the version is stored and its record appended to the history,
        /// before the staged copy of the record is removed.
        case chartDrawn
    }

    /// Starts the server again so that it kills itself at the rename of `step` when the next round closes, checks
    /// what that left in the state directory, and starts the server again.
    private func killWhileAggregating(_ server: CrashedServerd, beforeStepOn step: AggregationStep) async throws {
        try server.kill()
        let next = (try server.storedVersions().last ?? 0) + 1
        let model = server.stateDirectory + "/models/v\(next).safetensors"
        try server.restart(killingAtRenameOnto: step == .versionStored ? model : "/history.svg")
        try await waitUntil("dcf-serverd killed itself while it aggregated the round from v\(next - 1)") {
            !server.current.process.isRunning
        }
        try server.waitForExit()
        let manager = FileManager.default
        #expect(manager.fileExists(atPath: server.stateDirectory + "/history-pending.json"))
        #expect(manager.fileExists(atPath: model) == (step == .chartDrawn))
        if step == .chartDrawn { #expect(try server.historyRecords().last?.version == Int(next)) }
        try server.restart()
    }

    /// Checks that the round open after a restart contains at least the updates acknowledged for it before the kill.
    private func checkRecoveredRound(_ server: CrashedServerd, _ workers: AcknowledgingWorkers) throws {
        // Taken before the status, so an update acknowledged in between can only raise the count.
        let acknowledged = workers.acknowledgements
        let round = try server.openRound()
        let forRound = Set(acknowledged.filter { $0.baseVersion == UInt64(round.version) }.map(\.worker))
        #expect(
            round.updates >= forRound.count,
            "round from v\(round.version) holds \(round.updates) updates after the restart; \(forRound.count) were acknowledged")
    }

    /// Checks that every worker in the key list is still registered and every admin-added key is still there.
    private func checkRegistry(_ server: CrashedServerd, adminAdded: [String: Bool]) throws {
        let entries = try server.current.workers()
        for keyFile in server.workerKeyFiles {
            let key = try ServerdFixture.publicKeyHex(keyFile)
            let entry = entries.first { $0.publicKey == key }
            #expect(entry?.status == "registered", "worker \(key.prefix(8)) lost its registration: \(String(describing: entry))")
        }
        for (key, registered) in adminAdded {
            let entry = entries.first { $0.publicKey == key }
            #expect(entry?.source == "admin", "admin-added key \(key.prefix(8)) is gone: \(String(describing: entry))")
            #expect(entry?.registered == registered, "admin-added key \(key.prefix(8)): \(String(describing: entry))")
        }
    }

    /// Checks versions 1 to `last`: consecutive, each parses, each aggregated one is the mean of every worker's
    /// update from the version before, and the history has one complete record for each.
    private func checkVersions(_ server: CrashedServerd, _ workers: AcknowledgingWorkers, through last: UInt64) throws {
        #expect(try server.storedVersions() == Array(1...last))
        for version in 2...last {
            let values = try server.values(ofVersion: version)
            let expected = workers.expectedMean(roundFrom: version - 1)
            let wrong = values.filter { abs($0 - expected) > 1e-4 * max(1, abs(expected)) }
            #expect(wrong.isEmpty, "v\(version) holds \(wrong.first ?? 0) where every value should be \(expected)")
        }
        let records = try server.historyRecords()
        #expect(records.map(\.version) == (2...last).map { Int($0) }, "history.jsonl versions")
        for record in records {
            #expect(record.baseVersion == record.version - 1, "history record of v\(record.version)")
            #expect(record.updatesUsed == Self.workerCount, "history record of v\(record.version)")
        }
    }

    private static func newPublicKey(in directory: TemporaryDirectory) throws -> String {
        let file = directory.file("admin-\(UUID().uuidString).key")
        _ = try Ed25519KeyFile.generate(at: file)
        return try ServerdFixture.publicKeyHex(file)
    }
}
