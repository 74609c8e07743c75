// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import DCFTraining
import Foundation
import Synchronization
import TestSupport

/// A temporary directory with a small global model, a log that records lines, and helpers to build
/// `ExternalCommandTrainer`s and update files for the external trainer tests.
final class ExternalTrainerFixture: Sendable {
    static let layerSizes = [4, 3, 2]
    static let version: ModelVersion = 7

    let directory: TemporaryDirectory
    let globalModel: Data
    private let recorded = RecordedLog()

    init(layerSizes: [Int] = ExternalTrainerFixture.layerSizes) throws {
        directory = try TemporaryDirectory(prefix: "dcf-external-trainer")
        globalModel = try MultilayerPerceptron(layerSizes: layerSizes, seed: 1).exportSafeTensors()
    }

    var logger: Logger {
        let sink = LogSink(level: .debug) { [recorded] line in recorded.lines.withLock { $0.append(line) } }
        return Logger(component: "agent", sink: sink)
    }

    /// Every log line written so far.
    var log: String { recorded.lines.withLock { $0.joined() } }

    func trainer(
        _ command: String, timeout: Duration = .seconds(60), extraEnvironment: [String: String] = [:]
    ) -> ExternalCommandTrainer {
        let configuration = ExternalTrainerConfiguration(
            command: command, timeout: timeout, workDirectory: directory.url.appendingPathComponent("work"),
            workerID: "site-a", extraEnvironment: extraEnvironment)
        return ExternalCommandTrainer(configuration: configuration, logger: logger)
    }

    /// Runs one round of `trainer` on the global model.
    func train(_ trainer: ExternalCommandTrainer, round: Int = 3) async throws -> Data {
        try await trainer.train(globalModel: globalModel, version: Self.version, round: round) { _ in }
    }

    /// Writes a safetensors file of the given tensors as F32 (or `dtype`) and returns its path, for `cp`.
    func writeUpdate(
        _ name: String, tensors: [(name: String, shape: [Int])], dtype: TensorDType = .float32,
        metadata: [String: String] = [:]
    ) throws -> String {
        var writer = SafeTensorsWriter(metadata: metadata)
        for tensor in tensors {
            let count = tensor.shape.reduce(1, *)
            try writer.add(name: tensor.name, shape: tensor.shape, values: [Float](repeating: 0.5, count: count),
                           as: dtype)
        }
        let path = directory.file(name)
        try writer.serialize().write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The global model's tensor names and shapes.
    static var tensorShapes: [(name: String, shape: [Int])] {
        get throws { try MultilayerPerceptron.tensorShapes(layerSizes: layerSizes) }
    }

    func remove() {
        directory.remove()
    }
}

/// Log lines written through the fixture's loggers.
final class RecordedLog: Sendable {
    let lines = Mutex<[String]>([])
}
