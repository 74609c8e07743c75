// SPDX-License-Identifier: Apache-2.0
import DCFTraining
import Testing

@Suite struct GradientCheckTests {
    @Test(arguments: [[5, 4, 3], [4, 6, 5, 3], [3, 2]])
    func gradientsMatchFiniteDifferences(layerSizes: [Int]) throws {
        let model = try MultilayerPerceptron(layerSizes: layerSizes, seed: 11)
        let dataset = try makeRandomDataset(
            count: 7, featureCount: layerSizes[0], classCount: layerSizes.last!, seed: 12
        )
        // A batch size below the dataset size also checks that gradients accumulate across batches.
        let (loss, gradients) = try model.lossAndGradients(on: dataset, batchSize: 3)
        let tensors = model.exportTensors()
        let reference = ReferenceNetwork(tensors)
        #expect(abs(loss - reference.meanLoss(on: dataset)) < 1e-5)

        // Central differences of the Double reference; a step of 1e-4 rarely crosses a ReLU kink.
        let step: Float = 1e-4
        for (tensor, gradient) in zip(tensors, gradients) {
            #expect(gradient.name == tensor.name)
            #expect(gradient.shape == tensor.shape)
            for index in tensor.values.indices {
                var plus = reference
                plus.tensors[tensor.name]!.values[index] += step
                var minus = reference
                minus.tensors[tensor.name]!.values[index] -= step
                let actualStep = Double(plus.tensors[tensor.name]!.values[index])
                    - Double(minus.tensors[tensor.name]!.values[index])
                let numeric = (plus.meanLoss(on: dataset) - minus.meanLoss(on: dataset)) / actualStep
                let analytic = Double(gradient.values[index])
                #expect(
                    abs(numeric - analytic) <= 1e-4 + 1e-3 * abs(numeric),
                    "\(tensor.name)[\(index)]: backprop \(analytic), finite difference \(numeric)"
                )
            }
        }
    }

    @Test func evaluationLossMatchesReference() throws {
        let model = try MultilayerPerceptron(layerSizes: [6, 8, 4], seed: 3)
        let dataset = try makeRandomDataset(count: 20, featureCount: 6, classCount: 4, seed: 4)
        let result = try model.evaluate(on: dataset, batchSize: 6)
        #expect(result.examples == 20)
        #expect(abs(result.loss - ReferenceNetwork(model.exportTensors()).meanLoss(on: dataset)) < 1e-5)
    }
}
