// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFTraining
import Foundation
import Testing

/// How `BuiltinTrainer` reports a global model it cannot train. A damaged file may be whole on the next download,
/// but a model of other layer sizes never fits, so that error is marked as a configuration mismatch and names the
/// server model's sizes.
@Suite struct BuiltinTrainerTests {
    private func trainer(layers: [Int]) throws -> BuiltinTrainer {
        let train = try makeRandomDataset(count: 40, featureCount: layers[0], classCount: layers.last!, seed: 1)
        let test = try makeRandomDataset(count: 10, featureCount: layers[0], classCount: layers.last!, seed: 2)
        let data = try SiteDataSelection().apply(train: train, test: test)
        return BuiltinTrainer(layerSizes: layers, options: TrainingOptions(), data: data)
    }

    @Test func otherLayerSizesAreAConfigurationMismatch() async throws {
        let serverModel = try MultilayerPerceptron(layerSizes: [6, 5, 3], seed: 1).exportSafeTensors()
        let error = await #expect(throws: AgentTrainerError.self) {
            _ = try await trainer(layers: [6, 4, 3]).train(globalModel: serverModel, version: 7, round: 1) { _ in }
        }
        #expect(error?.isConfigurationMismatch == true)
        #expect(error?.description.contains("the server's model has layer sizes 6,5,3") == true, "\(String(describing: error))")
    }

    @Test func damagedModelIsNotAMismatch() async throws {
        let model = try MultilayerPerceptron(layerSizes: [6, 4, 3], seed: 1).exportSafeTensors()
        let error = await #expect(throws: AgentTrainerError.self) {
            _ = try await trainer(layers: [6, 4, 3]).train(globalModel: model.prefix(model.count / 2), version: 7, round: 1) { _ in }
        }
        #expect(error?.isConfigurationMismatch == false)
        #expect(error?.description.contains("not a valid safetensors file") == true, "\(String(describing: error))")
    }

    @Test func matchingModelTrains() async throws {
        let model = try MultilayerPerceptron(layerSizes: [6, 4, 3], seed: 1).exportSafeTensors()
        let update = try await trainer(layers: [6, 4, 3]).train(globalModel: model, version: 7, round: 1) { _ in }
        let metadata = try UpdateMetadata(safetensorsMetadata: try SafeTensors(bytes: update).metadata)
        #expect(metadata.baseVersion == 7)
    }
}
