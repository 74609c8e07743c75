// SPDX-License-Identifier: Apache-2.0
import DCFTraining
import Foundation

/// A plain Double-precision forward pass over PyTorch-named tensors, independent of the BLAS kernels, used as
/// the reference that the trainer's loss and gradients are checked against.
struct ReferenceNetwork {
    var tensors: [String: NamedTensor]
    let linearLayerCount: Int

    init(_ tensors: [NamedTensor]) {
        self.tensors = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
        linearLayerCount = tensors.count / 2
    }

    /// Returns the mean softmax cross-entropy over `dataset`, computed in Double.
    func meanLoss(on dataset: Dataset) -> Double {
        var total = 0.0
        for example in 0..<dataset.count {
            let start = example * dataset.featureCount
            var activation = dataset.features[start..<(start + dataset.featureCount)].map(Double.init)
            for layer in 0..<linearLayerCount {
                activation = linear(layer, activation)
                if layer < linearLayerCount - 1 { activation = activation.map { max($0, 0) } }
            }
            let maximum = activation.max()!
            let logSum = log(activation.reduce(0) { $0 + exp($1 - maximum) }) + maximum
            total += logSum - activation[dataset.labels[example]]
        }
        return total / Double(dataset.count)
    }

    private func linear(_ layer: Int, _ input: [Double]) -> [Double] {
        let weight = tensors["\(2 * layer).weight"]!
        let bias = tensors["\(2 * layer).bias"]!
        let (outputs, inputs) = (weight.shape[0], weight.shape[1])
        return (0..<outputs).map { row in
            var sum = Double(bias.values[row])
            for column in 0..<inputs { sum += Double(weight.values[row * inputs + column]) * input[column] }
            return sum
        }
    }
}

/// Makes a dataset of random features in [-1, 1) and random labels, fixed by `seed`.
func makeRandomDataset(count: Int, featureCount: Int, classCount: Int, seed: UInt64) throws -> Dataset {
    var generator = SeededGenerator(seed: seed)
    let features = (0..<(count * featureCount)).map { _ in generator.nextFloat(in: -1, 1) }
    let labels = (0..<count).map { _ in generator.nextIndex(below: classCount) }
    return try Dataset(features: features, labels: labels, featureCount: featureCount, classCount: classCount)
}
