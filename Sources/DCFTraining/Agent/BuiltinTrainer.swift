// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
public import Foundation

/// The agent's built-in trainer: evaluates the global MLP on the site's held-out data, trains it on the
/// site's training data, and returns the result as an update with its example count and metrics.
public struct BuiltinTrainer: AgentTrainer {
    public let layerSizes: [Int]
    public let options: TrainingOptions
    public let data: SiteData

    /// - Parameter options: the SGD settings; the seed is varied per round so each round shuffles anew.
    public init(layerSizes: [Int], options: TrainingOptions, data: SiteData) {
        self.layerSizes = layerSizes
        self.options = options
        self.data = data
    }

    public func train(
        globalModel: Data, version: ModelVersion, round: Int, progress: @escaping @Sendable (Double) -> Void
    ) async throws -> Data {
        var network: MultilayerPerceptron
        do {
            network = try MultilayerPerceptron(layerSizes: layerSizes, safeTensors: try SafeTensors(bytes: globalModel))
        } catch {
            throw AgentTrainerError(
                "the global model v\(version) does not fit the built-in \(layerSizes.map(String.init).joined(separator: "-")) "
                    + "MLP: \(error); check the agent's layer sizes against the server's initial model")
        }
        let evaluation = data.heldOut.count > 0 ? try network.evaluate(on: data.heldOut) : nil
        var roundOptions = options
        roundOptions.seed = options.seed &+ UInt64(truncatingIfNeeded: version.rawValue) &* 0x9E37_79B9_7F4A_7C15
        let result = try network.train(on: data.training, options: roundOptions) { snapshot in
            progress(Double(snapshot.examplesProcessed) / Double(max(snapshot.totalExamples, 1)))
        }
        var metrics = [UpdateMetricKeys.trainingLoss: result.meanLoss]
        if let evaluation {
            metrics[UpdateMetricKeys.evaluationLoss] = evaluation.loss
            metrics[UpdateMetricKeys.evaluationAccuracy] = evaluation.accuracy
            metrics[UpdateMetricKeys.evaluationExamples] = Double(evaluation.examples)
        }
        let metadata = UpdateMetadata(numExamples: result.examples, baseVersion: version, metrics: metrics)
        return network.exportSafeTensors(metadata: metadata.safetensorsMetadata)
    }
}
