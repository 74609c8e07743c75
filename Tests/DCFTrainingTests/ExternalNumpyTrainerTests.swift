// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFTraining
import Foundation
import Testing
import TestSupport

/// Runs examples/python/numpy_trainer.py through `ExternalCommandTrainer` on a small Fashion-MNIST subset.
@Suite struct ExternalNumpyTrainerTests {
    static let installHint = "python3 with numpy and safetensors is required; run scripts/install-deps.sh --tests"

    @Test func numpyExampleProducesValidUpdate() async throws {
        try Self.requirePythonPackages()
        let fixture = try ExternalTrainerFixture(layerSizes: [784, 128, 10])
        defer { fixture.remove() }
        let script = BuiltProducts.packageRoot.appendingPathComponent("examples/python/numpy_trainer.py").path
        let trainer = fixture.trainer(
            "python3 '\(script)' --shard-index 1 --shard-count 4",
            extraEnvironment: ["TRAINER_MAX_EXAMPLES": "300", "TRAINER_HELD_OUT": "0.2"])
        let payload = try await fixture.train(trainer)

        let update = try SafeTensors(bytes: payload)
        try UpdateLayoutCheck(globalModel: try SafeTensors(bytes: fixture.globalModel)).check(update)
        let metadata = try UpdateMetadata(safetensorsMetadata: update.metadata)
        #expect(metadata.numExamples == 240)
        #expect(metadata.baseVersion == ExternalTrainerFixture.version)
        #expect(metadata.metrics[UpdateMetricKeys.evaluationExamples] == 60)
        let accuracy = try #require(metadata.metrics[UpdateMetricKeys.evaluationAccuracy])
        #expect((0...1).contains(accuracy))
        #expect(metadata.metrics[UpdateMetricKeys.evaluationLoss] != nil)
        #expect(metadata.metrics[UpdateMetricKeys.trainingLoss] != nil)
        let global = try SafeTensors(bytes: fixture.globalModel)
        #expect(update.tensor(named: "0.weight")?.copyBytes() != global.tensor(named: "0.weight")?.copyBytes(),
                "training left 0.weight unchanged")
        #expect(fixture.log.contains("stdout: epoch 1: mean training loss"), "\(fixture.log)")
    }

    /// Fails the test, with the install hint, unless python3 can import numpy and safetensors.
    static func requirePythonPackages() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import numpy, safetensors.numpy"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do {
            try process.run()
        } catch {
            Issue.record("could not start python3: \(error); \(installHint)")
            throw error
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(installHint)\n\(output)")
    }
}
