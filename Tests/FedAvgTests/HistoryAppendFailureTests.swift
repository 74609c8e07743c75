// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Foundation
import Testing
@testable import FedAvg

/// A round record whose append to `history.jsonl` failed stays staged, and the next round appends it before it
/// stages its own record, so every stored version keeps its record.
@Suite struct HistoryAppendFailureTests {
    private let worker = WorkerID("aaaaaaaa01")!

    private func update(from version: ModelVersion) throws -> WorkerUpdate {
        let metadata = UpdateMetadata(numExamples: 1, baseVersion: version, metrics: [:])
        var writer = SafeTensorsWriter(metadata: metadata.safetensorsMetadata)
        try writer.add(name: "0.weight", shape: [2], values: [Float(1), 1])
        return WorkerUpdate(payload: writer.serialize(), baseVersion: version, bodySHA256: "")
    }

    @Test func failedAppendKeepsRecord() throws {
        let directory = try SmallModelFixture.temporaryDirectory("fedavg-history-append")
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try SmallModelFixture.strategy(in: directory, tensor: "0.weight", updateLimit: 1)
        let history = RoundHistory(directory: directory.appendingPathComponent("state"))

        // A directory in place of history.jsonl makes the append of version 2's record fail.
        try FileManager.default.createDirectory(at: history.historyURL, withIntermediateDirectories: false)
        _ = try strategy.receiveWorkerUpdate(worker, update(from: 1))
        #expect(strategy.currentVersion == 2)
        #expect(FileManager.default.fileExists(atPath: history.stagedURL.path))

        try FileManager.default.removeItem(at: history.historyURL)
        _ = try strategy.receiveWorkerUpdate(worker, update(from: 2))
        #expect(strategy.currentVersion == 3)
        #expect(try history.load().map(\.version) == [2, 3])
        #expect(!FileManager.default.fileExists(atPath: history.stagedURL.path))
    }
}
