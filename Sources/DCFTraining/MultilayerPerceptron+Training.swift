// SPDX-License-Identifier: Apache-2.0
extension MultilayerPerceptron {
    /// Trains on `dataset` with minibatch SGD on the mean softmax cross-entropy of each batch.
    ///
    /// Each epoch visits the examples in a fresh shuffle drawn from `options.seed`, so the same model, data and
    /// options give the same parameters (for a fixed OpenBLAS thread count). Between batches the run stops with
    /// `CancellationError` when the current task is cancelled. When the run throws, the parameters are restored
    /// to their values before the call.
    ///
    /// - Parameter progress: called every `options.progressInterval` examples and at the end of each epoch.
    /// - Throws: `TrainingError` for invalid options, a dataset that does not fit the layer sizes, or a loss that
    ///   stops being finite because the learning rate is too high. `CancellationError` when cancelled.
    public mutating func train(
        on dataset: Dataset, options: TrainingOptions, progress: ((TrainingProgress) -> Void)? = nil
    ) throws -> TrainingResult {
        try options.validate()
        try checkCompatible(dataset)
        let workspace = NetworkWorkspace(layers: layers, capacity: min(options.batchSize, dataset.count))
        var generator = SeededGenerator(seed: options.seed)
        var order = Array(0..<dataset.count)
        let total = options.epochs * dataset.count
        var processed = 0
        var epochLoss = 0.0
        let initialParameters = parameters
        defer { if processed < total { parameters = initialParameters } }
        try parameters.withUnsafeMutableBufferPointer { parameters in
            let parameterBase = parameters.baseAddress!
            for epoch in 0..<options.epochs {
                generator.shuffle(&order)
                epochLoss = 0
                var nextReport = options.progressInterval
                for start in stride(from: 0, to: dataset.count, by: options.batchSize) {
                    if Task.isCancelled { throw CancellationError() }
                    let batch = order[start..<min(start + options.batchSize, dataset.count)]
                    let batchLoss = Self.step(
                        workspace, dataset, batch, parameterBase, learningRate: options.learningRate
                    )
                    guard batchLoss.isFinite else {
                        throw TrainingError.diverged(epoch: epoch, example: start, learningRate: options.learningRate)
                    }
                    epochLoss += batchLoss
                    processed += batch.count
                    let epochProcessed = start + batch.count
                    if epochProcessed >= nextReport || epochProcessed == dataset.count {
                        nextReport = (epochProcessed / options.progressInterval + 1) * options.progressInterval
                        progress?(TrainingProgress(
                            epoch: epoch, examplesProcessed: processed, totalExamples: total,
                            epochMeanLoss: epochLoss / Double(epochProcessed)
                        ))
                    }
                }
            }
        }
        return TrainingResult(
            meanLoss: epochLoss / Double(dataset.count), examples: dataset.count, examplesProcessed: processed
        )
    }

    /// Takes one SGD step on `batch` and returns the batch's summed loss before the step.
    private static func step(
        _ workspace: NetworkWorkspace, _ dataset: Dataset, _ batch: ArraySlice<Int>,
        _ parameters: UnsafeMutablePointer<Float>, learningRate: Float
    ) -> Double {
        dataset.features.withUnsafeBufferPointer { features in
            dataset.labels.withUnsafeBufferPointer { labels in
                workspace.loadBatch(features: features, labels: labels, positions: batch)
            }
        }
        workspace.forward(parameters: parameters, batchSize: batch.count)
        let (lossSum, _) = workspace.softmaxCrossEntropy(batchSize: batch.count, deltaScale: 1 / Float(batch.count))
        workspace.backward(parameters: parameters, batchSize: batch.count, target: .descend(learningRate: learningRate))
        return lossSum
    }

    /// Returns the mean cross-entropy loss and the accuracy of the model's argmax predictions on `dataset`.
    ///
    /// - Throws: `TrainingError` when the dataset does not fit the layer sizes or is empty.
    public func evaluate(on dataset: Dataset, batchSize: Int = 256) throws -> EvaluationResult {
        try checkCompatible(dataset)
        let workspace = NetworkWorkspace(layers: layers, capacity: min(max(batchSize, 1), dataset.count))
        var lossSum = 0.0
        var correct = 0
        parameters.withUnsafeBufferPointer { parameters in
            for start in stride(from: 0, to: dataset.count, by: workspace.capacity) {
                let batch = start..<min(start + workspace.capacity, dataset.count)
                let outcome = forwardAndLoss(workspace, dataset, Array(batch)[...], parameters.baseAddress!, scale: nil)
                lossSum += outcome.lossSum
                correct += outcome.correct
            }
        }
        let count = Double(dataset.count)
        return EvaluationResult(loss: lossSum / count, accuracy: Double(correct) / count, examples: dataset.count)
    }

    /// Returns the mean cross-entropy loss on `dataset` and its gradient with respect to every parameter,
    /// as tensors named and shaped like `exportTensors()`.
    ///
    /// - Throws: `TrainingError` when the dataset does not fit the layer sizes or is empty.
    public func lossAndGradients(
        on dataset: Dataset, batchSize: Int = 256
    ) throws -> (loss: Double, gradients: [NamedTensor]) {
        try checkCompatible(dataset)
        let workspace = NetworkWorkspace(layers: layers, capacity: min(max(batchSize, 1), dataset.count))
        var lossSum = 0.0
        // A copy, because `backward` takes a mutable pointer although `.store` only reads the parameters.
        var parameters = self.parameters
        parameters.withUnsafeMutableBufferPointer { parameters in
            for start in stride(from: 0, to: dataset.count, by: workspace.capacity) {
                let batch = Array(start..<min(start + workspace.capacity, dataset.count))[...]
                // Scaling each delta by 1/count makes the summed batch gradients the gradient of the mean loss.
                let scale = 1 / Float(dataset.count)
                lossSum += forwardAndLoss(workspace, dataset, batch, parameters.baseAddress!, scale: scale).lossSum
                workspace.backward(
                    parameters: parameters.baseAddress!, batchSize: batch.count, target: .store(accumulate: start > 0)
                )
            }
        }
        var gradientModel = self
        gradientModel.parameters = Array(workspace.gradients)
        return (lossSum / Double(dataset.count), gradientModel.exportTensors())
    }

    private func forwardAndLoss(
        _ workspace: NetworkWorkspace, _ dataset: Dataset, _ batch: ArraySlice<Int>,
        _ parameters: UnsafePointer<Float>, scale: Float?
    ) -> (lossSum: Double, correct: Int) {
        dataset.features.withUnsafeBufferPointer { features in
            dataset.labels.withUnsafeBufferPointer { labels in
                workspace.loadBatch(features: features, labels: labels, positions: batch)
            }
        }
        workspace.forward(parameters: parameters, batchSize: batch.count)
        return workspace.softmaxCrossEntropy(batchSize: batch.count, deltaScale: scale)
    }

    private func checkCompatible(_ dataset: Dataset) throws {
        guard dataset.count > 0 else { throw TrainingError.incompatibleData("the dataset has no examples") }
        guard dataset.featureCount == layerSizes[0] else {
            throw TrainingError.incompatibleData(
                "examples have \(dataset.featureCount) features but the first layer takes \(layerSizes[0])"
            )
        }
        let outputs = layerSizes[layerSizes.count - 1]
        guard dataset.classCount <= outputs else {
            throw TrainingError.incompatibleData(
                "labels name \(dataset.classCount) classes but the last layer has \(outputs) outputs"
            )
        }
    }
}
