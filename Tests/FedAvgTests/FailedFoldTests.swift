// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFSupport
import Foundation
import Testing
@testable import FedAvg

/// A fold that fails partway, because a stored update cannot be read to its end, must leave no partial sums.
/// The round is folded again later, so sums kept from the failed pass would count some tensors twice.
@Suite struct FailedFoldTests {
    private static func update(_ value: Float) throws -> Data {
        var writer = SafeTensorsWriter(metadata: UpdateMetadata(numExamples: 1, baseVersion: 1).safetensorsMetadata)
        try writer.add(name: "a", shape: [2], values: [value, value])
        try writer.add(name: "b", shape: [2], values: [value, value])
        return writer.serialize()
    }

    @Test func failedFoldLeavesNoPartialSums() throws {
        let directory = try SmallModelFixture.temporaryDirectory("failed-fold")
        defer { try? FileManager.default.removeItem(at: directory) }
        var initial = SafeTensorsWriter()
        try initial.add(name: "a", shape: [2], values: [Float(0), 0])
        try initial.add(name: "b", shape: [2], values: [Float(0), 0])
        try initial.serialize().write(to: directory.appendingPathComponent("initial.safetensors"))
        let strategy = try SmallModelFixture.strategy(in: directory, tensor: "a", updateLimit: 3)
        let workers = ["aaaaaaaa", "bbbbbbbb", "cccccccc"].map { WorkerID($0)! }
        workers.forEach(strategy.registerWorker)
        for (worker, value) in zip(workers.prefix(2), [Float(2), 4]) {
            let update = WorkerUpdate(payload: try Self.update(value), baseVersion: 1, bodySHA256: "")
            _ = try strategy.receiveWorkerUpdate(worker, update)
        }

        // Cut the second update's file where the tensor folded last starts, so the first tensor folds and the
        // last one fails to read.
        let (stored, cut) = try strategy.state.withLock { state in
            let entry = try #require(state.round.entries[workers[1]])
            let last = try #require(state.layouts.last)
            return (entry.url, try #require(entry.tensorOffsets[last.name]))
        }
        let original = try Data(contentsOf: stored)
        try FileHandle(forWritingTo: stored).truncate(atOffset: UInt64(cut))
        #expect(throws: FedAvgError.self) { try strategy.state.withLock { try strategy.foldPending(&$0) } }
        try original.write(to: stored)

        let reply = try strategy.receiveWorkerUpdate(
            workers[2], WorkerUpdate(payload: try Self.update(6), baseVersion: 1, bodySHA256: ""))
        #expect(reply.contains("closed the round"), "reply: \(reply)")
        let model = try SafeTensors(bytes: try #require(strategy.returnGlobalModel()).bytes)
        #expect(try model.tensor(named: "a")?.floatValues() == [4, 4])
        #expect(try model.tensor(named: "b")?.floatValues() == [4, 4])
    }
}
