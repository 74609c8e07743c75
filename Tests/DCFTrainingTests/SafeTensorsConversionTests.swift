// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFTraining
import Foundation
import Testing

@Suite struct SafeTensorsConversionTests {
    @Test func exportedFileRoundTrips() throws {
        let model = try MultilayerPerceptron(layerSizes: [12, 7, 3], seed: 5)
        let bytes = model.exportSafeTensors(metadata: ["format": "pt"])
        let file = try SafeTensors(bytes: bytes)
        #expect(Set(file.names) == ["0.weight", "0.bias", "2.weight", "2.bias"])
        #expect(file.metadata == ["format": "pt"])
        #expect(file.tensors.allSatisfy { $0.dtype == .float32 })
        #expect(file.tensor(named: "0.weight")?.info.shape == [7, 12])
        let loaded = try MultilayerPerceptron(layerSizes: [12, 7, 3], safeTensors: file)
        #expect(loaded.exportTensors() == model.exportTensors())
    }

    @Test func rejectsOtherDType() throws {
        let model = try MultilayerPerceptron(layerSizes: [4, 3], seed: 5)
        var writer = SafeTensorsWriter()
        for tensor in model.exportTensors() {
            try writer.add(name: tensor.name, shape: tensor.shape, values: tensor.values,
                           as: tensor.name == "0.bias" ? .float16 : .float32)
        }
        var target = try MultilayerPerceptron(layerSizes: [4, 3], seed: 6)
        let before = target.exportTensors()
        let error = #expect(throws: TrainingError.self) { try target.load(try SafeTensors(bytes: writer.serialize())) }
        #expect(error?.description.contains("0.bias") == true, "\(String(describing: error))")
        #expect(error?.description.contains("F16") == true, "\(String(describing: error))")
        #expect(target.exportTensors() == before)
    }

    @Test func rejectsWrongShapeAndNames() throws {
        let file = try SafeTensors(bytes: try MultilayerPerceptron(layerSizes: [4, 5, 3], seed: 1).exportSafeTensors())
        let wrongShape = #expect(throws: TrainingError.self) {
            try MultilayerPerceptron(layerSizes: [4, 6, 3], safeTensors: file)
        }
        #expect(wrongShape?.description.contains("0.weight") == true, "\(String(describing: wrongShape))")
        let wrongDepth = #expect(throws: TrainingError.self) {
            try MultilayerPerceptron(layerSizes: [4, 5], safeTensors: file)
        }
        #expect(wrongDepth?.description.contains("unexpected tensor 2.") == true, "\(String(describing: wrongDepth))")
    }
}
