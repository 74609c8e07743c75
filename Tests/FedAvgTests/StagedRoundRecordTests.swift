// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Foundation
import Testing

@testable import FedAvg

/// The staged round record (`history-pending.json`) when an append fails while the server keeps running, and
/// when something other than a file has its name.
@Suite struct StagedRoundRecordTests {
    private let workers = ["aaaaaaaa01", "bbbbbbbb02"].map { WorkerID($0)! }

    private func update(baseVersion: ModelVersion, value: Float) throws -> WorkerUpdate {
        let metadata = UpdateMetadata(numExamples: 1, baseVersion: baseVersion, metrics: [:])
        var writer = SafeTensorsWriter(metadata: metadata.safetensorsMetadata)
        try writer.add(name: "0.weight", shape: [2], values: [value, value])
        return WorkerUpdate(payload: writer.serialize(), baseVersion: baseVersion, bodySHA256: "")
    }

    private func finishRound(_ strategy: FedAvgStrategy, baseVersion: ModelVersion) throws {
        _ = try strategy.receiveWorkerUpdate(workers[0], update(baseVersion: baseVersion, value: 1))
        _ = try strategy.receiveWorkerUpdate(workers[1], update(baseVersion: baseVersion, value: 3))
    }

    /// A round whose history append failed keeps its staged record. The next round must append that record
    /// before it stages its own, or the earlier round is missing from the history for good.
    @Test func failedAppendIsAddedByNextRound() throws {
        let directory = try SmallModelFixture.temporaryDirectory("fedavg-staged")
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory.appendingPathComponent("state"))
        let strategy = try SmallModelFixture.strategy(in: directory, tensor: "0.weight")
        // A directory where the history file should be makes the append fail, even as root.
        try FileManager.default.createDirectory(at: history.historyURL, withIntermediateDirectories: false)
        try finishRound(strategy, baseVersion: 1)
        #expect(strategy.currentVersion == 2)
        #expect(FileManager.default.fileExists(atPath: history.stagedURL.path))

        try FileManager.default.removeItem(at: history.historyURL)
        try finishRound(strategy, baseVersion: 2)
        #expect(strategy.currentVersion == 3)
        #expect(try history.load().map(\.version) == [2, 3])
        #expect(!FileManager.default.fileExists(atPath: history.stagedURL.path))
    }

    /// Two rounds in a row whose appends fail keep both records staged, and the first round that can append
    /// adds them before its own, so the history misses no round.
    @Test func twoFailedAppendsAddedLater() throws {
        let directory = try SmallModelFixture.temporaryDirectory("fedavg-staged")
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory.appendingPathComponent("state"))
        let strategy = try SmallModelFixture.strategy(in: directory, tensor: "0.weight")
        try FileManager.default.createDirectory(at: history.historyURL, withIntermediateDirectories: false)
        try finishRound(strategy, baseVersion: 1)
        try finishRound(strategy, baseVersion: 2)
        #expect(strategy.currentVersion == 3)

        try FileManager.default.removeItem(at: history.historyURL)
        try finishRound(strategy, baseVersion: 3)
        #expect(strategy.currentVersion == 4)
        #expect(try history.load().map(\.version) == [2, 3, 4])
        #expect(!FileManager.default.fileExists(atPath: history.stagedURL.path))
    }

    /// When the earlier rounds' staged records still cannot be appended but this round's record can, appending
    /// this record alone would put the rounds out of order, and removing the staged file would lose the earlier
    /// ones. A symbolic link in place of the staged file makes only the recovery fail (it requires a regular
    /// file), while staging replaces the link with a file and the appends work, like a failure that clears
    /// between the two.
    @Test func recoveryFailureKeepsEarlierRecordFirst() throws {
        let directory = try SmallModelFixture.temporaryDirectory("fedavg-staged")
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory.appendingPathComponent("state"))
        let strategy = try SmallModelFixture.strategy(in: directory, tensor: "0.weight")
        try FileManager.default.createDirectory(at: history.historyURL, withIntermediateDirectories: false)
        try finishRound(strategy, baseVersion: 1)
        try FileManager.default.removeItem(at: history.historyURL)
        let copy = directory.appendingPathComponent("staged-copy.json")
        try FileManager.default.moveItem(at: history.stagedURL, to: copy)
        try FileManager.default.createSymbolicLink(at: history.stagedURL, withDestinationURL: copy)

        try finishRound(strategy, baseVersion: 2)
        #expect(strategy.currentVersion == 3)
        #expect(try history.load().map(\.version) == [2, 3])
        #expect(!FileManager.default.fileExists(atPath: history.stagedURL.path))
    }

    /// Records staged by failed appends are added at the next start when the server stops before another round.
    @Test func failedAppendsAreAddedAtRestart() throws {
        let directory = try SmallModelFixture.temporaryDirectory("fedavg-staged")
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory.appendingPathComponent("state"))
        do {
            let strategy = try SmallModelFixture.strategy(in: directory, tensor: "0.weight")
            try FileManager.default.createDirectory(at: history.historyURL, withIntermediateDirectories: false)
            try finishRound(strategy, baseVersion: 1)
            try finishRound(strategy, baseVersion: 2)
        }
        try FileManager.default.removeItem(at: history.historyURL)

        let restarted = try SmallModelFixture.strategy(in: directory, tensor: "0.weight")
        #expect(restarted.currentVersion == 3)
        #expect(try history.load().map(\.version) == [2, 3])
    }

    /// A directory in place of the staged file would make every aggregation fail at its first write, so the
    /// strategy must refuse to start with an error that names the file.
    @Test func directoryInPlaceOfStagedFileFailsStart() throws {
        let directory = try SmallModelFixture.temporaryDirectory("fedavg-staged")
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory.appendingPathComponent("state"))
        _ = try SmallModelFixture.strategy(in: directory, tensor: "0.weight")
        try FileManager.default.createDirectory(at: history.stagedURL, withIntermediateDirectories: false)

        let error = #expect(throws: FedAvgError.self) {
            try SmallModelFixture.strategy(in: directory, tensor: "0.weight")
        }
        #expect(error?.description.contains(history.stagedURL.path) == true)
        #expect(error?.description.contains("remove") == true)
    }
}
