// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import Foundation

@testable import FedAvg

/// A FedAvg strategy over a model of one float32 tensor of two zeros, kept in a test's own directory.
enum SmallModelFixture {
    /// Creates a fresh directory for one test's state, which the caller removes.
    static func temporaryDirectory(_ prefix: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Opens the strategy in `directory`, writing the initial model on the first call; a later call is a restart.
    static func strategy(
        in directory: URL, tensor: String, updateLimit: Int = 2, maxStaleness: UInt64 = 0,
        logSink: LogSink = LogSink(level: .critical) { _ in }
    ) throws -> FedAvgStrategy {
        let initial = directory.appendingPathComponent("initial.safetensors")
        if !FileManager.default.fileExists(atPath: initial.path) {
            var writer = SafeTensorsWriter()
            try writer.add(name: tensor, shape: [2], values: [Float(0), 0])
            try writer.serialize().write(to: initial)
        }
        var configuration = FedAvgConfiguration(stateDirectory: directory.appendingPathComponent("state"))
        configuration.initialModel = initial
        configuration.updateLimit = updateLimit
        configuration.maxStaleness = maxStaleness
        return try FedAvgStrategy(
            configuration: configuration, logger: Logger(component: "fedavg", sink: logSink))
    }
}
