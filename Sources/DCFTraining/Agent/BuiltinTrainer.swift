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
        let file: SafeTensors
        do {
            file = try SafeTensors(bytes: globalModel)
        } catch {
            // Damaged in transit or on the server's disk; the next download may be whole.
            throw AgentTrainerError("the global model v\(version) is not a valid safetensors file: \(error)")
        }
        var network: MultilayerPerceptron
        do {
            network = try MultilayerPerceptron(layerSizes: layerSizes, safeTensors: file)
        } catch {
            let fix: String
            if let sizes = Self.layerSizes(of: file), sizes != layerSizes {
                fix = "the server's model has layer sizes \(sizes.map(String.init).joined(separator: ",")); set "
                    + "builtin.layers (--layers) to that, or use the trainer the server's model was made for"
            } else {
                fix = "check the agent's layer sizes (builtin.layers, --layers) against the server's initial model, "
                    + "which dcf-agent init-model makes for this trainer"
            }
            throw AgentTrainerError(
                "the global model v\(version) does not fit the built-in \(layerSizes.map(String.init).joined(separator: "-")) "
                    + "MLP: \(error); \(fix)", isConfigurationMismatch: true)
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

    /// The layer sizes of an MLP saved as `exportSafeTensors` writes it (`0.weight` [out, in], `2.weight`, ...),
    /// or nil when `file` contains no such chain of weights.
    static func layerSizes(of file: SafeTensors) -> [Int]? {
        let weights = file.tensors.compactMap { info -> (index: Int, shape: [Int])? in
            guard info.name.hasSuffix(".weight"), let index = Int(info.name.dropLast(".weight".count)),
                info.shape.count == 2
            else { return nil }
            return (index, info.shape)
        }.sorted { $0.index < $1.index }
        guard let first = weights.first else { return nil }
        var sizes = [first.shape[1]]
        for weight in weights {
            guard weight.shape[1] == sizes.last else { return nil }
            sizes.append(weight.shape[0])
        }
        return sizes
    }
}
