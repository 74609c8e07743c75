// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFSupport
import Foundation
import Synchronization
import Testing
@testable import FedAvg

/// A worker the server stops trusting (an admin disables or removes it, or its key leaves the key list) must not
/// shape the next global model through an update it sent earlier in the open round.
@Suite struct UnregisteredWorkerUpdateTests {
    private func payload(_ value: Float, examples: Int) throws -> Data {
        let metadata = UpdateMetadata(numExamples: examples, baseVersion: 1).safetensorsMetadata
        var writer = SafeTensorsWriter(metadata: metadata)
        try writer.add(name: "w", shape: [2], values: [value, value])
        return writer.serialize()
    }

    private func temporaryDirectory(_ prefix: String) throws -> URL {
        try SmallModelFixture.temporaryDirectory(prefix)
    }

    @Test func unregisteredUpdateNotAveraged() throws {
        let directory = try temporaryDirectory("unregistered")
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        let removed = WorkerID("aaaaaaaa")!
        let honest = [WorkerID("bbbbbbbb")!, WorkerID("cccccccc")!]
        for worker in [removed] + honest { strategy.registerWorker(worker) }

        _ = try strategy.receiveWorkerUpdate(
            removed, WorkerUpdate(payload: try payload(1000, examples: 1), baseVersion: 1, bodySHA256: ""))
        strategy.unregisterWorker(removed)
        #expect(strategy.roundStatus()["updates"] == 0, "the unregistered worker's update is still in the round")

        // With the removed worker's update still counted, the round closes after the first honest update and the
        // second one is stale, so these calls may throw. The model checked below shows the outcome.
        for worker in honest {
            _ = try? strategy.receiveWorkerUpdate(
                worker, WorkerUpdate(payload: try payload(1, examples: 1), baseVersion: 1, bodySHA256: ""))
        }
        let global = try #require(strategy.returnGlobalModel())
        let values = try #require(try SafeTensors(bytes: global.bytes).tensor(named: "w")).floatValues()
        #expect(values == [1, 1], "the next version averaged in the unregistered worker's update: \(values)")
    }

    private func makeStrategy(_ directory: URL) throws -> FedAvgStrategy {
        try SmallModelFixture.strategy(in: directory, tensor: "w")
    }

    /// A key that left the key list while the server was down: the restarted server registers every worker but
    /// that one, and its stored update must not count, then or after another restart.
    @Test func restartDropsUpdatesOfWorkersNoLongerRegistered() throws {
        let directory = try temporaryDirectory("retain")
        defer { try? FileManager.default.removeItem(at: directory) }
        let removedWorker = WorkerID("aaaaaaaa")!
        let registeredWorker = WorkerID("bbbbbbbb")!
        do {
            let strategy = try makeStrategy(directory)
            _ = try strategy.receiveWorkerUpdate(
                removedWorker, WorkerUpdate(payload: try payload(1000, examples: 1), baseVersion: 1, bodySHA256: ""))
        }
        let restarted = try makeStrategy(directory)
        #expect(restarted.roundStatus()["updates"] == 1)
        restarted.registerWorker(registeredWorker)
        restarted.retainOnlyRegisteredWorkers([registeredWorker])
        #expect(restarted.roundStatus()["updates"] == 0)
        #expect(try makeStrategy(directory).roundStatus()["updates"] == 0)
    }

    /// A restart that finds none of the open round's workers registered drops every update of the round, which
    /// happens when the registry was replaced by an older copy. The operator must see it as a warning that names
    /// the registry file.
    @Test func restartDroppingEveryUpdateWarns() throws {
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .warning) { line in lines.withLock { $0.append(line) } }
        let (directory, _, restarted) = try restartWithTwoUpdates("drop-all", logSink: sink)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(restarted.roundStatus()["updates"] == 2)
        restarted.retainOnlyRegisteredWorkers([])
        #expect(restarted.roundStatus()["updates"] == 0)
        let warnings = lines.withLock { $0 }.filter { $0.contains(" warning ") }
        #expect(warnings.count == 1, "\(warnings)")
        let warning = try #require(warnings.first)
        #expect(warning.contains("none of their workers is registered"), "\(warning)")
        #expect(warning.contains(directory.appendingPathComponent("state/registry.sqlite").path), "\(warning)")
        #expect(warning.contains("updates=2"), "\(warning)")
    }

    /// Dropping some of the recovered updates is the usual outcome of a key that left the key list, so it
    /// logs no warning.
    @Test func restartDroppingSomeUpdatesDoesNotWarn() throws {
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .warning) { line in lines.withLock { $0.append(line) } }
        let (directory, workers, restarted) = try restartWithTwoUpdates("drop-some", logSink: sink)
        defer { try? FileManager.default.removeItem(at: directory) }
        restarted.registerWorker(workers[1])
        restarted.retainOnlyRegisteredWorkers([workers[1]])
        #expect(restarted.roundStatus()["updates"] == 1)
        #expect(lines.withLock { $0 }.isEmpty, "\(lines.withLock { $0 })")
    }

    /// Stores an update of each of two workers in a round that needs three, then starts a new strategy on the same
    /// directory that logs to `logSink`.
    private func restartWithTwoUpdates(
        _ name: String, logSink: LogSink
    ) throws -> (URL, [WorkerID], FedAvgStrategy) {
        let directory = try temporaryDirectory(name)
        let workers = [WorkerID("aaaaaaaa")!, WorkerID("bbbbbbbb")!]
        do {
            let strategy = try SmallModelFixture.strategy(in: directory, tensor: "w", updateLimit: 3)
            for worker in workers {
                _ = try strategy.receiveWorkerUpdate(
                    worker, WorkerUpdate(payload: try payload(1, examples: 1), baseVersion: 1, bodySHA256: ""))
            }
        }
        let restarted = try SmallModelFixture.strategy(in: directory, tensor: "w", updateLimit: 3, logSink: logSink)
        return (directory, workers, restarted)
    }

    /// The update was authenticated before the worker was unregistered and reaches the strategy after.
    @Test func updateArrivingAfterUnregisterIsRefused() throws {
        let directory = try temporaryDirectory("race")
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        let worker = WorkerID("aaaaaaaa")!
        strategy.registerWorker(worker)
        strategy.unregisterWorker(worker)
        let error = #expect(throws: DCFErrorResponse.self) {
            _ = try strategy.receiveWorkerUpdate(
                worker, WorkerUpdate(payload: try payload(5, examples: 1), baseVersion: 1, bodySHA256: ""))
        }
        #expect(error?.code == .unregisteredWorker)
        #expect(strategy.roundStatus()["updates"] == 0)
        strategy.registerWorker(worker)
        _ = try strategy.receiveWorkerUpdate(
            worker, WorkerUpdate(payload: try payload(5, examples: 1), baseVersion: 1, bodySHA256: ""))
        #expect(strategy.roundStatus()["updates"] == 1)
    }
}
