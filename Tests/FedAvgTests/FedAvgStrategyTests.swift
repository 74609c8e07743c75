// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFServer
import DCFSupport
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import FedAvg

@Suite struct FedAvgStrategyTests {
    private let workers = ["aaaaaaaa01", "bbbbbbbb02", "cccccccc03"].map { WorkerID($0)! }

    private func model(_ weight: [Float], _ bias: [Float], metadata: [String: String] = [:]) throws -> Data {
        var writer = SafeTensorsWriter(metadata: metadata)
        try writer.add(name: "0.weight", shape: [2, 2], values: weight)
        try writer.add(name: "0.bias", shape: [2], values: bias)
        return writer.serialize()
    }

    private func update(
        _ weight: [Float], _ bias: [Float], examples: Int, base: UInt64 = 1, metrics: [String: Double] = [:]
    ) throws -> WorkerUpdate {
        let metadata = UpdateMetadata(numExamples: examples, baseVersion: ModelVersion(base), metrics: metrics)
        let payload = try model(weight, bias, metadata: metadata.safetensorsMetadata)
        return WorkerUpdate(payload: payload, baseVersion: ModelVersion(base), bodySHA256: "")
    }

    private func makeStrategy(
        _ directory: URL, updateLimit: Int = 2, logSink: LogSink = LogSink(level: .critical) { _ in },
        configure: (inout FedAvgConfiguration) -> Void = { _ in }
    ) throws -> FedAvgStrategy {
        let initial = directory.appendingPathComponent("initial.safetensors")
        if !FileManager.default.fileExists(atPath: initial.path) {
            try model([0, 0, 0, 0], [0, 0]).write(to: initial)
        }
        var configuration = FedAvgConfiguration(stateDirectory: directory.appendingPathComponent("state"))
        configuration.initialModel = initial
        configuration.updateLimit = updateLimit
        configure(&configuration)
        return try FedAvgStrategy(configuration: configuration, logger: Logger(component: "fedavg", sink: logSink))
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fedavg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private func tensors(of bytes: Data) throws -> [String: [Float]] {
        let file = try SafeTensors(bytes: bytes)
        return try Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, try file.tensor(named: $0.name)!.floatValues()) })
    }

    @Test func initialModelBecomesVersionOne() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        #expect(strategy.returnGlobalModel()?.version == 1)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("state/models/v1.safetensors").path))
    }

    /// Without a stored version or an initial model, the error names the setting and its flag.
    @Test func missingInitialModelNamesSetting() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = FedAvgConfiguration(stateDirectory: directory.appendingPathComponent("state"))
        let logger = Logger(component: "fedavg", sink: LogSink(level: .critical) { _ in })
        let error = #expect(throws: FedAvgError.self) { _ = try FedAvgStrategy(configuration: configuration, logger: logger) }
        let text = String(describing: error)
        #expect(text.contains("fedavg.initial_model"), "\(text)")
        #expect(text.contains("--initial-model"), "\(text)")
    }

    /// An initial model that cannot be used: the error names the setting next to the file, so the operator
    /// knows which option to fix. Both the check before start and the start itself report it.
    @Test(arguments: ["missing", "directory", "garbage"])
    func unusableInitialModelNamesSetting(_ problem: String) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = directory.appendingPathComponent("initial.safetensors")
        switch problem {
        case "directory": try FileManager.default.createDirectory(at: model, withIntermediateDirectories: false)
        case "garbage": try Data("not a model".utf8).write(to: model)
        default: break
        }
        var configuration = FedAvgConfiguration(stateDirectory: directory.appendingPathComponent("state"))
        configuration.initialModel = model
        let checkError = #expect(throws: FedAvgError.self) { try FedAvgStrategy.checkInitialModel(configuration) }
        let checkText = String(describing: checkError)
        #expect(checkText.contains("fedavg.initial_model"), "\(checkText)")
        #expect(checkText.contains(model.path), "\(checkText)")
        let logger = Logger(component: "fedavg", sink: LogSink(level: .critical) { _ in })
        let startError = #expect(throws: FedAvgError.self) {
            _ = try FedAvgStrategy(configuration: configuration, logger: logger)
        }
        let startText = String(describing: startError)
        #expect(startText.contains("fedavg.initial_model"), "\(startText)")
        #expect(startText.contains(model.path), "\(startText)")
    }

    @Test func roundClosesAtUpdateLimitWithWeightedMean() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        let notifications = Atomic(0)
        strategy.onGlobalModelChange { notifications.add(1, ordering: .relaxed) }

        _ = try strategy.receiveWorkerUpdate(
            workers[0], update([1, 2, 3, 4], [8, 0], examples: 1, metrics: ["eval_accuracy": 0.5, "eval_examples": 10]))
        #expect(strategy.returnGlobalModel()?.version == 1)
        _ = try strategy.receiveWorkerUpdate(
            workers[1], update([5, 6, 7, 8], [0, 4], examples: 3, metrics: ["eval_accuracy": 0.9, "eval_examples": 30]))

        let global = try #require(strategy.returnGlobalModel())
        #expect(global.version == 2)
        #expect(notifications.load(ordering: .relaxed) == 1)
        let values = try tensors(of: global.bytes)
        #expect(values["0.weight"] == [4, 5, 6, 7])
        #expect(values["0.bias"] == [2, 3])
        let stored = try Data(contentsOf: directory.appendingPathComponent("state/models/v2.safetensors"))
        #expect(stored == global.bytes)

        let records = try RoundHistory(directory: directory.appendingPathComponent("state")).load()
        #expect(records.count == 1)
        #expect(records.first?.updatesUsed == 2)
        #expect(records.first?.trainingExamples == 4)
        #expect(abs((records.first?.evaluationAccuracy ?? 0) - 0.8) < 1e-12)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("state/history.svg").path))
    }

    @Test func rejectedUpdateLeavesRoundIntact() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        _ = try strategy.receiveWorkerUpdate(workers[0], update([2, 2, 2, 2], [2, 2], examples: 1))

        var badShape = SafeTensorsWriter(metadata: UpdateMetadata(numExamples: 5, baseVersion: 1).safetensorsMetadata)
        try badShape.add(name: "0.weight", shape: [4], values: [9, 9, 9, 9])
        try badShape.add(name: "0.bias", shape: [2], values: [9, 9])
        let rejected = [
            WorkerUpdate(payload: badShape.serialize(), baseVersion: 1, bodySHA256: ""),
            try update([.nan, 0, 0, 0], [0, 0], examples: 5),
            try update([1, 1, 1, 1], [1, 1], examples: 0),
            try update([1, 1, 1, 1], [1, 1], examples: 5, base: 0),
            WorkerUpdate(payload: try model([1, 1, 1, 1], [1, 1]), baseVersion: 1, bodySHA256: ""),
            WorkerUpdate(payload: Data("not safetensors".utf8), baseVersion: 1, bodySHA256: ""),
        ]
        for bad in rejected {
            #expect(throws: DCFErrorResponse.self) { try strategy.receiveWorkerUpdate(workers[1], bad) }
        }
        #expect(strategy.roundStatus()["updates"] == 1)
        #expect(strategy.roundStatus()["rejected"] == .integer(rejected.count))

        _ = try strategy.receiveWorkerUpdate(workers[1], update([4, 4, 4, 4], [4, 4], examples: 1))
        let values = try tensors(of: try #require(strategy.returnGlobalModel()).bytes)
        #expect(values["0.weight"] == [3, 3, 3, 3])
        let records = try RoundHistory(directory: directory.appendingPathComponent("state")).load()
        #expect(records.first?.rejected.count == rejected.count)
    }

    @Test func secondUpdateFromWorkerReplacesFirst() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        _ = try strategy.receiveWorkerUpdate(workers[0], update([100, 100, 100, 100], [100, 100], examples: 7))
        let reply = try strategy.receiveWorkerUpdate(workers[0], update([1, 1, 1, 1], [1, 1], examples: 1))
        #expect(reply.contains("replaced"))
        #expect(strategy.returnGlobalModel()?.version == 1)
        _ = try strategy.receiveWorkerUpdate(workers[1], update([3, 3, 3, 3], [3, 3], examples: 1))
        let values = try tensors(of: try #require(strategy.returnGlobalModel()).bytes)
        #expect(values["0.weight"] == [2, 2, 2, 2])
    }

    @Test func resendOfAcceptedBytesChangesNothing() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        let plain = try update([5, 5, 5, 5], [5, 5], examples: 1)
        let first = WorkerUpdate(payload: plain.payload, baseVersion: plain.baseVersion, bodySHA256: "ab12")
        _ = try strategy.receiveWorkerUpdate(workers[0], first)
        let reply = try strategy.receiveWorkerUpdate(workers[0], first)
        #expect(reply.contains("nothing changed"), "\(reply)")
        #expect(strategy.roundStatus()["updates"] == 1)
    }

    /// A worker restarted and trained the same model again into the same bytes, so the update is new to the
    /// worker but not to the round. The reply must be true for that case as well as for a resend.
    @Test func retrainedIdenticalUpdateIsNotCalledResend() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        let plain = try update([5, 5, 5, 5], [5, 5], examples: 1)
        _ = try strategy.receiveWorkerUpdate(workers[0], plain)
        let retrained = try update([5, 5, 5, 5], [5, 5], examples: 1)
        let reply = try strategy.receiveWorkerUpdate(workers[0], retrained)
        #expect(!reply.contains("resend"), "\(reply)")
        #expect(reply.contains("exact bytes"), "\(reply)")
        #expect(reply.contains("nothing changed"), "\(reply)")
        #expect(strategy.roundStatus()["updates"] == 1)
    }

    /// The first reply was lost in a crash, so the worker sends the same update to the restarted server. A
    /// compressed body differs from the stored file, which contains the payload as inflated, so the resend is
    /// recognised by its payload, not by the body's digest.
    @Test(arguments: [false, true]) func resendAfterRestartChangesNothing(compressed: Bool) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plain = try update([5, 5, 5, 5], [5, 5], examples: 1)
        let body = compressed ? Data("the body as deflated".utf8) : plain.payload
        let sent = WorkerUpdate(
            payload: plain.payload, baseVersion: plain.baseVersion, bodySHA256: try SHA256.hash(body).hexString)
        do {
            let strategy = try makeStrategy(directory)
            _ = try strategy.receiveWorkerUpdate(workers[0], sent)
        }
        let restarted = try makeStrategy(directory)
        for _ in 0...FedAvgStrategy.maximumReplacementsPerRound {
            let reply = try restarted.receiveWorkerUpdate(workers[0], sent)
            #expect(reply.contains("nothing changed"), "\(reply)")
        }
        #expect(restarted.roundStatus()["updates"] == 1)
        // A payload of the same size with other values still replaces the update.
        let other = try restarted.receiveWorkerUpdate(workers[0], update([6, 6, 6, 6], [6, 6], examples: 1))
        #expect(other.contains("replaced"), "\(other)")
    }

    @Test func replacementsPerRoundAreBounded() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        for value in 0...FedAvgStrategy.maximumReplacementsPerRound {
            let values = [Float](repeating: Float(value), count: 4)
            let reply = try strategy.receiveWorkerUpdate(
                workers[0], update(values, Array(values.prefix(2)), examples: 1))
            #expect(reply.contains("accepted"), "\(reply)")
        }
        let error = #expect(throws: DCFErrorResponse.self) {
            _ = try strategy.receiveWorkerUpdate(workers[0], update([9, 9, 9, 9], [9, 9], examples: 1))
        }
        #expect(error?.error.reason == "too_many_replacements")
        // The last accepted replacement is the one in the round.
        _ = try strategy.receiveWorkerUpdate(workers[1], update([4, 4, 4, 4], [4, 4], examples: 1))
        let values = try tensors(of: try #require(strategy.returnGlobalModel()).bytes)
        let last = Float(FedAvgStrategy.maximumReplacementsPerRound)
        #expect(values["0.bias"] == [(last + 4) / 2, (last + 4) / 2])
    }

    @Test func restartResumesVersionAndOpenRound() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            let strategy = try makeStrategy(directory)
            _ = try strategy.receiveWorkerUpdate(workers[0], update([1, 1, 1, 1], [1, 1], examples: 1))
            _ = try strategy.receiveWorkerUpdate(workers[1], update([3, 3, 3, 3], [3, 3], examples: 1))
            _ = try strategy.receiveWorkerUpdate(workers[0], update([10, 10, 10, 10], [10, 10], examples: 1, base: 2))
        }
        let restarted = try makeStrategy(directory)
        #expect(restarted.returnGlobalModel()?.version == 2)
        #expect(restarted.roundStatus()["updates"] == 1)
        _ = try restarted.receiveWorkerUpdate(workers[2], update([20, 20, 20, 20], [20, 20], examples: 1, base: 2))
        let values = try tensors(of: try #require(restarted.returnGlobalModel()).bytes)
        #expect(restarted.returnGlobalModel()?.version == 3)
        #expect(values["0.bias"] == [15, 15])
    }

    /// Blocks the strategy's cleanup queue until the returned semaphore is signalled, for at most 20 s.
    private func holdCleanup(of strategy: FedAvgStrategy) -> DispatchSemaphore {
        let release = DispatchSemaphore(value: 0)
        strategy.cleanupQueue.async { _ = release.wait(timeout: .now() + 20) }
        return release
    }

    /// The files of aggregated rounds are cleaned up on a queue of their own. When that queue falls a round
    /// behind, the cleanup of an older round must leave the open round's stored updates alone.
    @Test func lateCleanupKeepsOpenRound() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        let release = holdCleanup(of: strategy)
        defer { release.signal() }
        _ = try strategy.receiveWorkerUpdate(workers[0], update([1, 1, 1, 1], [1, 1], examples: 1))
        _ = try strategy.receiveWorkerUpdate(workers[1], update([1, 1, 1, 1], [1, 1], examples: 1))
        _ = try strategy.receiveWorkerUpdate(workers[0], update([2, 2, 2, 2], [2, 2], examples: 1, base: 2))
        _ = try strategy.receiveWorkerUpdate(workers[1], update([2, 2, 2, 2], [2, 2], examples: 1, base: 2))
        #expect(strategy.returnGlobalModel()?.version == 3)
        _ = try strategy.receiveWorkerUpdate(workers[0], update([4, 4, 4, 4], [4, 4], examples: 1, base: 3))

        // Both cleanups run now, after the round from version 3 has stored an update.
        release.signal()
        strategy.cleanupQueue.sync {}
        let stored = directory.appendingPathComponent("state/rounds/from-v3/\(workers[0].rawValue).safetensors")
        #expect(FileManager.default.fileExists(atPath: stored.path))
        _ = try strategy.receiveWorkerUpdate(workers[1], update([6, 6, 6, 6], [6, 6], examples: 1, base: 3))
        let global = try #require(strategy.returnGlobalModel())
        #expect(global.version == 4)
        #expect(try tensors(of: global.bytes)["0.bias"] == [5, 5])
    }

    @Test func serverStopWaitsForCleanup() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        let release = holdCleanup(of: strategy)
        defer { release.signal() }
        _ = try strategy.receiveWorkerUpdate(workers[0], update([1, 1, 1, 1], [1, 1], examples: 1))
        _ = try strategy.receiveWorkerUpdate(workers[1], update([1, 1, 1, 1], [1, 1], examples: 1))
        #expect(strategy.returnGlobalModel()?.version == 2)
        let aggregated = directory.appendingPathComponent("state/rounds/from-v1")
        #expect(FileManager.default.fileExists(atPath: aggregated.path))

        // The cleanup is held until after serverDidStop has started waiting, and it must not return before that.
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(200)) { release.signal() }
        strategy.serverDidStop()

        #expect(!FileManager.default.fileExists(atPath: aggregated.path))
    }

    @Test func oldVersionsBeyondKeepVersionsAreDeleted() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let models = directory.appendingPathComponent("state/models")
        func storedVersions() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: models.path).sorted()
        }
        do {
            let strategy = try makeStrategy(directory, updateLimit: 1) { $0.keepVersions = 2 }
            for base in UInt64(1)...3 {
                _ = try strategy.receiveWorkerUpdate(workers[0], update([1, 1, 1, 1], [1, 1], examples: 1, base: base))
            }
            #expect(strategy.returnGlobalModel()?.version == 4)
            strategy.cleanupQueue.sync {}
            #expect(try storedVersions() == ["v3.safetensors", "v4.safetensors"])
        }
        // A restart with a smaller setting deletes the surplus before serving. A setting of 0 keeps everything.
        _ = try makeStrategy(directory, updateLimit: 1) { $0.keepVersions = 0 }
        #expect(try storedVersions() == ["v3.safetensors", "v4.safetensors"])
        let restarted = try makeStrategy(directory, updateLimit: 1) { $0.keepVersions = 1 }
        #expect(try storedVersions() == ["v4.safetensors"])
        #expect(restarted.returnGlobalModel()?.version == 4)
    }

    @Test func pruningSkipsOddNamesAndLeftovers() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let models = directory.appendingPathComponent("state/models")
        do {
            let strategy = try makeStrategy(directory, updateLimit: 1)
            _ = try strategy.receiveWorkerUpdate(workers[0], update([1, 1, 1, 1], [1, 1], examples: 1))
        }
        // A copy under a name that is not a version, and a temporary file of a write cut short by a crash.
        let v2 = models.appendingPathComponent("v2.safetensors")
        for name in ["v02.safetensors", "v+2.safetensors", ".v3.safetensors.tmp-AbC123"] {
            try FileManager.default.copyItem(at: v2, to: models.appendingPathComponent(name))
        }
        let strategy = try makeStrategy(directory, updateLimit: 1) { $0.keepVersions = 1 }
        _ = try strategy.receiveWorkerUpdate(workers[0], update([1, 1, 1, 1], [1, 1], examples: 1, base: 2))
        _ = try strategy.receiveWorkerUpdate(workers[0], update([1, 1, 1, 1], [1, 1], examples: 1, base: 3))
        strategy.cleanupQueue.sync {}
        let names = try FileManager.default.contentsOfDirectory(atPath: models.path).sorted()
        #expect(names == ["v+2.safetensors", "v02.safetensors", "v4.safetensors"])
    }

    /// A process killed while it wrote an update into the open round leaves a temporary file there. The restart
    /// deletes it and keeps the round's stored update.
    @Test func restartDeletesLeftoversInOpenRound() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let round = directory.appendingPathComponent("state/rounds/from-v1")
        do {
            let strategy = try makeStrategy(directory)
            _ = try strategy.receiveWorkerUpdate(workers[0], update([1, 1, 1, 1], [1, 1], examples: 1))
        }
        let stored = "\(workers[0].rawValue).safetensors"
        let leftovers = [".\(workers[1].rawValue).safetensors.tmp-AbC123", ".\(stored).tmp-x9Y8z7"]
        for name in leftovers {
            try Data("partial".utf8).write(to: round.appendingPathComponent(name))
        }
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .notice) { line in lines.withLock { $0.append(line) } }

        let strategy = try makeStrategy(directory, logSink: sink)
        #expect(try FileManager.default.contentsOfDirectory(atPath: round.path) == [stored])
        #expect(strategy.roundStatus()["updates"] == .integer(1))
        let notice = lines.withLock { $0 }.first { $0.contains("deleted the temporary files") }
        for name in leftovers {
            #expect(notice?.contains("rounds/from-v1/\(name)") == true, "log: \(lines.withLock { $0 })")
        }
    }

    /// The sites evaluate the model they trained from, so the round's log line gives the accuracy as the base
    /// version's, next to the new version.
    @Test func roundLogLineNamesVersionOfAccuracy() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .info) { line in lines.withLock { $0.append(line) } }
        let strategy = try makeStrategy(directory, logSink: sink)
        _ = try strategy.receiveWorkerUpdate(
            workers[0], update([1, 2, 3, 4], [8, 0], examples: 1, metrics: ["eval_accuracy": 0.5, "eval_examples": 10]))
        _ = try strategy.receiveWorkerUpdate(
            workers[1], update([5, 6, 7, 8], [0, 4], examples: 3, metrics: ["eval_accuracy": 0.9, "eval_examples": 30]))
        try await waitUntil { lines.withLock { $0 }.contains { $0.contains("aggregated round") } }
        let line = try #require(lines.withLock { $0 }.first { $0.contains("aggregated round") })
        #expect(line.contains(" version=2 base_version=1 "), "\(line)")
        #expect(line.contains(" base_eval_accuracy=0.8000 "), "\(line)")
        #expect(!line.contains(" eval_accuracy="), "\(line)")
    }

    @Test func versionListGroupsRuns() {
        #expect(FedAvgStrategy.versionList([1, 5, 6, 7, 9]) == "v1, v5 to v7, v9")
        #expect(FedAvgStrategy.versionList([3]) == "v3")
    }

    @Test func deadlineWaitsForMinUpdatesThenAggregates() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory, updateLimit: 3) { configuration in
            configuration.minUpdates = 2
            configuration.roundDeadline = .milliseconds(500)
        }
        _ = try strategy.receiveWorkerUpdate(workers[0], update([1, 1, 1, 1], [1, 1], examples: 1))
        try await waitUntil { strategy.roundStatus()["waiting_for_min_updates"] == true }
        #expect(strategy.returnGlobalModel()?.version == 1)
        // Past the deadline the update that reaches min_updates closes the round itself, without waiting for
        // the deadline timer to fire again.
        let reply = try strategy.receiveWorkerUpdate(workers[1], update([3, 3, 3, 3], [3, 3], examples: 1))
        #expect(strategy.returnGlobalModel()?.version == 2)
        #expect(reply.hasSuffix("this update closed the round, now version 2"), "\(reply)")
        let values = try tensors(of: try #require(strategy.returnGlobalModel()).bytes)
        #expect(values["0.weight"] == [2, 2, 2, 2])
    }

    @Test func deadlineWarningIsLoggedOnce() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .warning) { line in lines.withLock { $0.append(line) } }
        let strategy = try makeStrategy(directory, updateLimit: 3, logSink: sink) { configuration in
            configuration.minUpdates = 2
            configuration.roundDeadline = .milliseconds(20)
        }
        _ = try strategy.receiveWorkerUpdate(workers[0], update([1, 1, 1, 1], [1, 1], examples: 1))
        try await waitUntil { strategy.roundStatus()["waiting_for_min_updates"] == true }
        // Ten more deadline periods pass. A timer that ran again would log once per period.
        try await Task.sleep(for: .milliseconds(200))
        let warnings = lines.withLock { $0 }.filter { $0.contains("round deadline passed") }
        #expect(warnings.count == 1, "\(warnings)")
    }

    /// A round that the deadline closed with min_updates, fewer than update_lim, and whose aggregation failed is
    /// aggregated again once the disk works. The retry used to demand update_lim updates, so such a round stayed
    /// open until some worker sent one more update, and with every worker waiting for the new version none did.
    @Test func failedAggregationAfterDeadlineIsRetried() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory, updateLimit: 3) { configuration in
            configuration.minUpdates = 1
            configuration.roundDeadline = .milliseconds(20)
        }
        try await waitUntil { strategy.roundStatus()["waiting_for_min_updates"] == true }
        // A plain file where the models directory should be makes storing the next version fail, even as root.
        let models = directory.appendingPathComponent("state/models")
        let aside = directory.appendingPathComponent("models-aside")
        try FileManager.default.moveItem(at: models, to: aside)
        try Data().write(to: models)
        let reply = try strategy.receiveWorkerUpdate(workers[0], update([2, 2, 2, 2], [2, 2], examples: 1))
        #expect(reply.contains("1 of 3"), "\(reply)")
        #expect(strategy.currentVersion == 1)

        try FileManager.default.removeItem(at: models)
        try FileManager.default.moveItem(at: aside, to: models)
        // The retry comes 5 s after the failure; the bound leaves room for a busy machine.
        for _ in 0..<600 where strategy.currentVersion == 1 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(strategy.currentVersion == 2, "the failed aggregation was not retried within 60 s")
        #expect(strategy.roundStatus()["updates"] == 0)
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<200 where !condition() {
            try await Task.sleep(for: .milliseconds(25))
        }
        #expect(condition(), "condition not met within 5 seconds")
    }
}
