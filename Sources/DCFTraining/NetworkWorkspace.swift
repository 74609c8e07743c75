// SPDX-License-Identifier: Apache-2.0
internal import CBLAS
import Foundation

/// Buffers and kernels of the forward and backward passes for batches of up to `capacity` examples.
///
/// All buffers are allocated once, so a training loop allocates nothing per batch. Matrices are row-major
/// with one example per row; the products go through OpenBLAS's `cblas_sgemm` and `cblas_sgemv`.
final class NetworkWorkspace {
    let layers: [LinearLayout]
    let capacity: Int
    /// `activations[0]` is the input batch; `activations[k + 1]` is linear layer `k`'s output, after ReLU for
    /// every layer but the last, whose output is the logits.
    private let activations: [UnsafeMutablePointer<Float>]
    /// `deltas[k]` is the gradient of the loss with respect to linear layer `k`'s output before ReLU.
    private let deltas: [UnsafeMutablePointer<Float>]
    private let ones: UnsafeMutablePointer<Float>
    private let labels: UnsafeMutablePointer<Int>
    /// The gradient of every parameter, laid out as the model's flat parameter buffer.
    let gradients: UnsafeMutableBufferPointer<Float>

    init(layers: [LinearLayout], capacity: Int) {
        self.layers = layers
        self.capacity = capacity
        activations = [Self.allocate(capacity * layers[0].inputs)] + layers.map { Self.allocate(capacity * $0.outputs) }
        deltas = layers.map { Self.allocate(capacity * $0.outputs) }
        ones = Self.allocate(capacity)
        ones.update(repeating: 1, count: capacity)
        labels = .allocate(capacity: capacity)
        labels.initialize(repeating: 0, count: capacity)
        let parameterCount = layers.last.map { $0.biasOffset + $0.outputs } ?? 0
        gradients = UnsafeMutableBufferPointer(start: Self.allocate(parameterCount), count: parameterCount)
    }

    deinit {
        for buffer in activations + deltas + [ones, gradients.baseAddress!] { buffer.deallocate() }
        labels.deallocate()
    }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        buffer.initialize(repeating: 0, count: max(count, 1))
        return buffer
    }

    /// Copies the examples at `positions` into the input rows and label slots.
    func loadBatch(features: UnsafeBufferPointer<Float>, labels source: UnsafeBufferPointer<Int>,
                   positions: ArraySlice<Int>) {
        precondition(positions.count <= capacity, "batch of \(positions.count) exceeds capacity \(capacity)")
        let width = layers[0].inputs
        for (row, position) in positions.enumerated() {
            (activations[0] + row * width).update(from: features.baseAddress! + position * width, count: width)
            labels[row] = source[position]
        }
    }

    /// Computes every layer's output for the first `batchSize` input rows.
    func forward(parameters: UnsafePointer<Float>, batchSize: Int) {
        for layer in layers {
            let input = activations[layer.index]
            let output = activations[layer.index + 1]
            for row in 0..<batchSize {
                (output + row * layer.outputs).update(from: parameters + layer.biasOffset, count: layer.outputs)
            }
            // output = input · weightᵀ + output, where output already contains the bias in every row.
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batchSize), Int32(layer.outputs), Int32(layer.inputs),
                1, input, Int32(layer.inputs), parameters + layer.weightOffset, Int32(layer.inputs),
                1, output, Int32(layer.outputs)
            )
            if layer.index < layers.count - 1 {
                for element in 0..<(batchSize * layer.outputs) where output[element] < 0 { output[element] = 0 }
            }
        }
    }

    /// Returns the summed softmax cross-entropy loss and the number of correct argmax predictions of the
    /// batch, and when `deltaScale` is set, stores `deltaScale × (softmax − one-hot)` as the last layer's delta.
    func softmaxCrossEntropy(batchSize: Int, deltaScale: Float?) -> (lossSum: Double, correct: Int) {
        let classes = layers[layers.count - 1].outputs
        let logitsBase = activations[layers.count]
        let deltaBase = deltas[layers.count - 1]
        var lossSum = 0.0
        var correct = 0
        for row in 0..<batchSize {
            let logits = logitsBase + row * classes
            var best = 0
            for index in 1..<max(classes, 1) where logits[index] > logits[best] { best = index }
            let maximum = logits[best]
            var sum: Float = 0
            for index in 0..<classes { sum += exp(logits[index] - maximum) }
            let label = labels[row]
            lossSum += Double(log(sum) - (logits[label] - maximum))
            if best == label { correct += 1 }
            guard let deltaScale else { continue }
            let delta = deltaBase + row * classes
            for index in 0..<classes {
                let probability = exp(logits[index] - maximum) / sum
                delta[index] = deltaScale * (probability - (index == label ? 1 : 0))
            }
        }
        return (lossSum, correct)
    }

    /// The destination of the gradients that `backward` computes.
    enum GradientTarget {
        /// Store the gradients in `gradients`, added to the ones already there when `accumulate` is true.
        case store(accumulate: Bool)
        /// Subtract `learningRate` times the gradients from the parameters: one SGD step, without the
        /// extra passes of storing the gradients first.
        case descend(learningRate: Float)
    }

    /// Back-propagates the last layer's delta through every layer and delivers the gradients to `target`.
    func backward(parameters: UnsafeMutablePointer<Float>, batchSize: Int, target: GradientTarget) {
        let (destination, alpha, beta): (UnsafeMutablePointer<Float>, Float, Float)
        switch target {
        case .store(let accumulate): (destination, alpha, beta) = (gradients.baseAddress!, 1, accumulate ? 1 : 0)
        case .descend(let learningRate): (destination, alpha, beta) = (parameters, -learningRate, 1)
        }
        for layer in layers.reversed() {
            let delta = deltas[layer.index]
            let (rows, inputs, outputs) = (Int32(batchSize), Int32(layer.inputs), Int32(layer.outputs))
            if layer.index > 0 {
                // previous delta = (delta · weight) masked by where the previous layer's ReLU was active. It
                // reads the weight before the update below, as the gradient of the batch's loss requires.
                let previous = deltas[layer.index - 1]
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, inputs, outputs,
                    1, delta, outputs, parameters + layer.weightOffset, inputs, 0, previous, inputs
                )
                let activation = activations[layer.index]
                for element in 0..<(batchSize * layer.inputs) where activation[element] <= 0 { previous[element] = 0 }
            }
            // destination = alpha · deltaᵀ · input + beta · destination, shape [outputs, inputs].
            cblas_sgemm(
                CblasRowMajor, CblasTrans, CblasNoTrans, outputs, inputs, rows,
                alpha, delta, outputs, activations[layer.index], inputs, beta, destination + layer.weightOffset, inputs
            )
            // The bias gradient is deltaᵀ · ones, the column sums of delta.
            cblas_sgemv(
                CblasRowMajor, CblasTrans, rows, outputs, alpha, delta, outputs, ones, 1,
                beta, destination + layer.biasOffset, 1
            )
        }
    }
}
