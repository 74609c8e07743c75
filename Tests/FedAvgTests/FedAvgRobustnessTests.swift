// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFSupport
import Foundation
import Testing
@testable import FedAvg

/// Inputs that a careless or hostile worker, a crash or a failing disk can produce.
@Suite struct FedAvgRobustnessTests {
    private let workers = ["aaaaaaaa01", "bbbbbbbb02"].map { WorkerID($0)! }

    private func update(examples: Int, metrics: [String: Double] = [:], value: Float = 1) throws -> WorkerUpdate {
        let metadata = UpdateMetadata(numExamples: examples, baseVersion: 1, metrics: metrics)
        var writer = SafeTensorsWriter(metadata: metadata.safetensorsMetadata)
        try writer.add(name: "0.weight", shape: [2], values: [value, value])
        return WorkerUpdate(payload: writer.serialize(), baseVersion: 1, bodySHA256: "")
    }

    private func makeStrategy(_ directory: URL) throws -> FedAvgStrategy {
        try SmallModelFixture.strategy(in: directory, tensor: "0.weight")
    }

    /// Opens the strategy again as the server does at start: it hands over the registered workers, which lets a
    /// full recovered round close.
    private func restartStrategy(_ directory: URL) throws -> FedAvgStrategy {
        let strategy = try makeStrategy(directory)
        strategy.retainOnlyRegisteredWorkers(Set(workers))
        return strategy
    }

    private func temporaryDirectory() throws -> URL {
        try SmallModelFixture.temporaryDirectory("fedavg-robust")
    }

    @Test func hugeExampleCountIsRejected() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        #expect(throws: DCFErrorResponse.self) { try strategy.receiveWorkerUpdate(workers[0], update(examples: .max)) }
        #expect(strategy.roundStatus()["updates"] == 0)
    }

    @Test func overflowingMetricsLeaveRecordWritable() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        let huge = ["eval_loss": 1e308, "eval_examples": 1e308, "eval_accuracy": 0.5]
        _ = try strategy.receiveWorkerUpdate(workers[0], update(examples: 1, metrics: huge))
        _ = try strategy.receiveWorkerUpdate(workers[1], update(examples: 1, metrics: ["eval_loss": 2]))
        let records = try RoundHistory(directory: directory.appendingPathComponent("state")).load()
        #expect(records.count == 1)
        #expect(records.first?.evaluationLoss?.isFinite ?? true)
    }

    @Test func tornHistoryLineIsCutBeforeAppend() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory)
        let record = RoundRecord(
            version: 2, baseVersion: 1, updatesUsed: 1, rejected: [], evaluationLoss: nil, evaluationAccuracy: nil,
            trainingLoss: nil, trainingExamples: 1, bytesIn: 0, bytesOut: 0, aggregationSeconds: 0, roundSeconds: 0,
            finishedAt: Date(timeIntervalSince1970: 0))
        try history.append(record)
        let handle = try FileHandle(forWritingTo: history.historyURL)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"version\":3,\"base_ver".utf8))
        try handle.close()

        var next = record
        next.version = 3
        try history.append(next)
        #expect(try history.load().map(\.version) == [2, 3])
    }

    /// A rejection quotes values from the update, such as a tensor name, and goes back to the worker and into the
    /// round record. A name of megabytes must not make a response, the record in memory and `history.jsonl` each
    /// that large; the message keeps its start, naming the problem, and its end, naming the fix.
    @Test func rejectionOfHugeTensorNameIsShortened() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        let name = String(repeating: "n", count: 1_000_000)
        let header: [String: Any] = [
            name: ["dtype": "Q99", "shape": [1], "data_offsets": [0, 4]],
            "__metadata__": ["dcf.num_examples": "1", "dcf.base_version": "1"],
        ]
        var json = try JSONSerialization.data(withJSONObject: header)
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var payload = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { payload.append(contentsOf: $0) }
        payload.append(json)
        payload.append(contentsOf: [0, 0, 0, 0])

        let error = try #require(throws: DCFErrorResponse.self) {
            try strategy.receiveWorkerUpdate(
                workers[0], WorkerUpdate(payload: payload, baseVersion: 1, bodySHA256: ""))
        }
        #expect(error.error.reason == "malformed_model")
        #expect(error.message.count <= 2_100, "\(error.message.count) characters")
        #expect(error.message.contains("unsupported dtype \"Q99\""), "\(error.message.suffix(300))")
        #expect(error.message.contains("characters left out"))

        // The round record keeps the shortened reason.
        _ = try strategy.receiveWorkerUpdate(workers[0], update(examples: 1))
        _ = try strategy.receiveWorkerUpdate(workers[1], update(examples: 1))
        let history = directory.appendingPathComponent("state/history.jsonl")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: history.path)[.size] as? Int)
        #expect(size < 10_000, "history.jsonl is \(size) bytes")
        let records = try RoundHistory(directory: directory.appendingPathComponent("state")).load()
        #expect(records.first?.rejected.first?.reason.hasPrefix("malformed_model:") == true)
    }

    /// An update whose header is far larger than the global model's tensors need is rejected from its first 8
    /// bytes. Parsing a header costs about ten times its size in memory, up to the reader's 100 MB limit.
    @Test func oversizedHeaderIsRejectedUnparsed() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        var metadata = UpdateMetadata(numExamples: 1, baseVersion: 1).safetensorsMetadata
        metadata["padding"] = String(repeating: "x", count: 2 << 20)
        var writer = SafeTensorsWriter(metadata: metadata)
        try writer.add(name: "0.weight", shape: [2], values: [Float(1), 1])
        let payload = writer.serialize()

        let error = try #require(throws: DCFErrorResponse.self) {
            try strategy.receiveWorkerUpdate(workers[0], WorkerUpdate(payload: payload, baseVersion: 1, bodySHA256: ""))
        }
        #expect(error.error.reason == "layout_mismatch")
        #expect(error.message.contains("safetensors header is"), "\(error.message)")
        #expect(strategy.roundStatus()["updates"] == 0)
        // An update with the dcf metadata alone is still accepted.
        _ = try strategy.receiveWorkerUpdate(workers[0], update(examples: 1))
        #expect(strategy.roundStatus()["updates"] == 1)
    }

    @Test func failedAggregationKeepsUpdatesAndRetries() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        // A plain file where the models directory should be makes storing the next version fail, even as root.
        let models = directory.appendingPathComponent("state/models")
        try FileManager.default.moveItem(at: models, to: directory.appendingPathComponent("models-aside"))
        try Data().write(to: models)

        _ = try strategy.receiveWorkerUpdate(workers[0], update(examples: 1, value: 2))
        let reply = try strategy.receiveWorkerUpdate(workers[1], update(examples: 1, value: 4))
        #expect(reply.contains("2 of 2"))
        #expect(strategy.returnGlobalModel() == nil || strategy.currentVersion == 1)
        #expect(strategy.roundStatus()["updates"] == 2)

        try FileManager.default.removeItem(at: models)
        try FileManager.default.moveItem(at: directory.appendingPathComponent("models-aside"), to: models)
        for _ in 0..<150 where strategy.currentVersion == 1 { usleep(100_000) }
        #expect(strategy.currentVersion == 2, "aggregation was not retried within 15 s")
    }

    @Test func restartAggregatesFullRound() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let models = directory.appendingPathComponent("state/models")
        do {
            let strategy = try makeStrategy(directory)
            try FileManager.default.moveItem(at: models, to: directory.appendingPathComponent("models-aside"))
            try Data().write(to: models)
            _ = try strategy.receiveWorkerUpdate(workers[0], update(examples: 1, value: 2))
            _ = try strategy.receiveWorkerUpdate(workers[1], update(examples: 1, value: 4))
            #expect(strategy.currentVersion == 1)
        }
        try FileManager.default.removeItem(at: models)
        try FileManager.default.moveItem(at: directory.appendingPathComponent("models-aside"), to: models)

        let restarted = try restartStrategy(directory)
        #expect(restarted.currentVersion == 2)
        let global = try #require(restarted.returnGlobalModel())
        let model = try SafeTensors(bytes: global.bytes)
        #expect(try model.tensor(named: "0.weight")?.floatValues() == [3, 3])
    }

    /// A copy of a stored update under the worker's ID in capitals, as a hand-made restore could name it, names the
    /// same worker. The restart must fold that worker's update once, not once per file.
    @Test func capitalizedCopyOfStoredUpdateFoldsOnce() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            _ = try makeStrategy(directory).receiveWorkerUpdate(workers[0], update(examples: 1, value: 2))
        }
        let stored = RoundSpool(stateDirectory: directory.appendingPathComponent("state")).url(
            for: workers[0], roundFrom: 1)
        let copy = stored.deletingLastPathComponent().appendingPathComponent(
            workers[0].rawValue.uppercased() + ".safetensors")
        try FileManager.default.copyItem(at: stored, to: copy)

        let restarted = try restartStrategy(directory)
        _ = try restarted.receiveWorkerUpdate(workers[1], update(examples: 1, value: 4))
        #expect(restarted.currentVersion == 2)
        let global = try #require(restarted.returnGlobalModel())
        let model = try SafeTensors(bytes: global.bytes)
        #expect(try model.tensor(named: "0.weight")?.floatValues() == [3, 3])
    }

    /// The history is appended after the new version is stored. A crash in between (here the append fails and
    /// the strategy is dropped without removing anything) must not lose the round's record.
    @Test func recordOfVersionStoredBeforeCrashIsRecovered() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory.appendingPathComponent("state"))
        do {
            let strategy = try makeStrategy(directory)
            // A directory where the history file should be makes the append fail, even as root.
            try FileManager.default.createDirectory(at: history.historyURL, withIntermediateDirectories: false)
            _ = try strategy.receiveWorkerUpdate(workers[0], update(examples: 1, value: 2))
            _ = try strategy.receiveWorkerUpdate(workers[1], update(examples: 3, value: 4))
            #expect(strategy.currentVersion == 2)
        }
        try FileManager.default.removeItem(at: history.historyURL)

        let restarted = try makeStrategy(directory)
        #expect(restarted.currentVersion == 2)
        let records = try history.load()
        #expect(records.map(\.version) == [2])
        #expect(records.first?.trainingExamples == 4)
        #expect(!FileManager.default.fileExists(atPath: history.stagedURL.path))
    }

    /// A record staged for a version that a crash kept from being stored is dropped, because the round is
    /// aggregated again at the restart and recorded once.
    @Test func recordOfVersionNeverStoredIsNotKept() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let models = directory.appendingPathComponent("state/models")
        let history = RoundHistory(directory: directory.appendingPathComponent("state"))
        do {
            let strategy = try makeStrategy(directory)
            try FileManager.default.moveItem(at: models, to: directory.appendingPathComponent("models-aside"))
            try Data().write(to: models)
            _ = try strategy.receiveWorkerUpdate(workers[0], update(examples: 1, value: 2))
            _ = try strategy.receiveWorkerUpdate(workers[1], update(examples: 1, value: 4))
            #expect(strategy.currentVersion == 1)
        }
        #expect(FileManager.default.fileExists(atPath: history.stagedURL.path))
        try FileManager.default.removeItem(at: models)
        try FileManager.default.moveItem(at: directory.appendingPathComponent("models-aside"), to: models)

        let restarted = try restartStrategy(directory)
        #expect(restarted.currentVersion == 2)
        #expect(try history.load().map(\.version) == [2])
        #expect(!FileManager.default.fileExists(atPath: history.stagedURL.path))
    }

    @Test func updateFromFileIsScannedAndStored() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        func fileUpdate(_ name: String, value: Float) throws -> WorkerUpdate {
            let file = directory.appendingPathComponent(name)
            try update(examples: 1, value: value).payload.write(to: file)
            let payload = try Data(contentsOf: file, options: .alwaysMapped)
            return WorkerUpdate(payload: payload, baseVersion: 1, bodySHA256: "", payloadFile: file)
        }

        #expect(throws: DCFErrorResponse.self) { try strategy.receiveWorkerUpdate(workers[0], fileUpdate("nan", value: .nan)) }
        #expect(strategy.roundStatus()["updates"] == 0)
        _ = try strategy.receiveWorkerUpdate(workers[0], fileUpdate("two", value: 2))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("two").path))
        _ = try strategy.receiveWorkerUpdate(workers[1], fileUpdate("four", value: 4))
        let global = try #require(strategy.returnGlobalModel())
        let model = try SafeTensors(bytes: global.bytes)
        #expect(try model.tensor(named: "0.weight")?.floatValues() == [3, 3])
    }
}
