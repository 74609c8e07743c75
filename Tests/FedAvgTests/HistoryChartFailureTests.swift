// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFSupport
import Foundation
import Synchronization
import Testing
@testable import FedAvg

/// The chart `history.svg` is drawn after the round record is appended and flushed, so a chart that cannot be
/// written must be reported as such, with the history intact and the record appended once.
@Suite struct HistoryChartFailureTests {
    private func update(baseVersion: UInt64) throws -> WorkerUpdate {
        let metadata = UpdateMetadata(numExamples: 1, baseVersion: ModelVersion(baseVersion)).safetensorsMetadata
        var writer = SafeTensorsWriter(metadata: metadata)
        try writer.add(name: "w", shape: [2], values: [Float(1), 1])
        return WorkerUpdate(payload: writer.serialize(), baseVersion: ModelVersion(baseVersion), bodySHA256: "")
    }

    @Test func chartFailureKeepsHistory() throws {
        let directory = try SmallModelFixture.temporaryDirectory("chart")
        defer { try? FileManager.default.removeItem(at: directory) }
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .warning) { line in lines.withLock { $0.append(line) } }
        let strategy = try SmallModelFixture.strategy(in: directory, tensor: "w", updateLimit: 1, logSink: sink)
        let state = directory.appendingPathComponent("state")
        // A directory where the chart goes makes the chart's rename fail and leaves the history file writable.
        let chart = state.appendingPathComponent("history.svg")
        try FileManager.default.createDirectory(at: chart, withIntermediateDirectories: false)
        let worker = WorkerID("aaaaaaaa")!

        _ = try strategy.receiveWorkerUpdate(worker, try update(baseVersion: 1))
        _ = try strategy.receiveWorkerUpdate(worker, try update(baseVersion: 2))

        #expect(strategy.currentVersion == 3)
        let records = try RoundHistory(directory: state).load()
        #expect(records.map(\.version) == [2, 3])
        #expect(!FileManager.default.fileExists(atPath: RoundHistory(directory: state).stagedURL.path))
        let logged = lines.withLock { $0 }
        #expect(!logged.contains { $0.contains("cannot write the round history") }, "\(logged)")
        #expect(!logged.contains { $0.contains("failed to append") }, "\(logged)")
        let chartErrors = logged.filter { $0.contains(chart.path) }
        #expect(chartErrors.count == 2, "\(logged)")
        #expect(chartErrors.allSatisfy { $0.contains("history is intact") }, "\(logged)")
    }
}
