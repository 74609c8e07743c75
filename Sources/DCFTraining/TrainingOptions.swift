// SPDX-License-Identifier: Apache-2.0

/// Settings of one minibatch SGD run.
public struct TrainingOptions: Sendable, Equatable {
    /// The SGD step size; each step subtracts `learningRate` times the gradient of the batch's mean loss.
    public var learningRate: Float = 0.05
    /// The number of passes over the dataset.
    public var epochs: Int = 1
    /// The number of examples per SGD step; the last batch of an epoch contains the remainder.
    public var batchSize: Int = 32
    /// The seed of the per-epoch shuffles; vary it between federated rounds to vary the batch order.
    public var seed: UInt64 = 0
    /// The number of examples between calls of the progress callback; each epoch's end also calls it.
    public var progressInterval: Int = 10_000

    /// Creates options with the defaults: learning rate 0.05, 1 epoch, batch size 32, seed 0.
    public init() {}

    /// Creates options with the given values and defaults for the rest.
    public init(learningRate: Float, epochs: Int, batchSize: Int, seed: UInt64 = 0) {
        self.learningRate = learningRate
        self.epochs = epochs
        self.batchSize = batchSize
        self.seed = seed
    }

    func validate() throws {
        guard learningRate.isFinite && learningRate > 0 else {
            throw TrainingError.invalidOptions("learning rate \(learningRate) must be a positive number")
        }
        guard epochs >= 1 else { throw TrainingError.invalidOptions("epochs is \(epochs); use 1 or more") }
        guard batchSize >= 1 else { throw TrainingError.invalidOptions("batch size is \(batchSize); use 1 or more") }
        guard progressInterval >= 1 else {
            throw TrainingError.invalidOptions("progress interval is \(progressInterval); use 1 or more")
        }
    }
}

/// A snapshot passed to the progress callback during training.
public struct TrainingProgress: Sendable, Equatable {
    /// The current epoch, counting from 0.
    public var epoch: Int
    /// The examples processed so far in this run, over all epochs.
    public var examplesProcessed: Int
    /// The examples this run processes in total: epochs times the dataset size.
    public var totalExamples: Int
    /// The mean cross-entropy loss of the current epoch's batches so far, measured before each step.
    public var epochMeanLoss: Double
}

/// The outcome of a training run.
public struct TrainingResult: Sendable, Equatable {
    /// The mean cross-entropy loss over the last epoch's examples, each measured before its batch's step.
    public var meanLoss: Double
    /// The number of distinct training examples, the weight of this update in FedAvg.
    public var examples: Int
    /// The examples processed over all epochs.
    public var examplesProcessed: Int
}

/// The outcome of an evaluation.
public struct EvaluationResult: Sendable, Equatable {
    /// The mean cross-entropy loss.
    public var loss: Double
    /// The fraction of examples whose highest logit is their label.
    public var accuracy: Double
    /// The number of examples evaluated.
    public var examples: Int
}
