// SPDX-License-Identifier: Apache-2.0
import DCFTraining
import Testing

@Suite struct ModelLayoutTests {
    @Test func namesAndShapesFollowSequential() throws {
        let model = try MultilayerPerceptron(layerSizes: [784, 128, 10], seed: 1)
        let tensors = model.exportTensors()
        #expect(tensors.map(\.name) == ["0.weight", "0.bias", "2.weight", "2.bias"])
        #expect(tensors.map(\.shape) == [[128, 784], [128], [10, 128], [10]])
        #expect(tensors.map(\.values.count) == [128 * 784, 128, 10 * 128, 10])
        #expect(model.parameterCount == 128 * 784 + 128 + 10 * 128 + 10)
    }

    @Test func reluModulesCountInIndices() throws {
        let shapes = try MultilayerPerceptron.tensorShapes(layerSizes: [10, 20, 30, 5])
        #expect(shapes.map(\.name) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"])
        #expect(shapes.map(\.shape) == [[20, 10], [20], [30, 20], [30], [5, 30], [5]])
    }

    @Test func initializationStaysWithinFanInBound() throws {
        let model = try MultilayerPerceptron(layerSizes: [784, 128, 10], seed: 2)
        for tensor in model.exportTensors() {
            let fanIn = tensor.name.hasPrefix("0.") ? 784 : 128
            let bound = 1 / Float(fanIn).squareRoot()
            let largest = tensor.values.map(abs).max()!
            #expect(largest <= bound, "\(tensor.name) has \(largest) above bound \(bound)")
            // A uniform draw of 10 or more values almost surely reaches past half the bound.
            #expect(largest > bound / 2, "\(tensor.name) spans only \(largest) of bound \(bound)")
            let mean = tensor.values.reduce(0, +) / Float(tensor.values.count)
            #expect(abs(mean) < bound / 2)
        }
    }

    @Test(arguments: [[], [784], [784, 0, 10], [-1, 10]])
    func invalidLayerSizesAreRejected(layerSizes: [Int]) {
        #expect(throws: TrainingError.self) { try MultilayerPerceptron(layerSizes: layerSizes, seed: 0) }
    }

    @Test func loadRoundTripsExportedTensors() throws {
        let source = try MultilayerPerceptron(layerSizes: [6, 5, 4], seed: 7)
        var target = try MultilayerPerceptron(layerSizes: [6, 5, 4], seed: 8)
        #expect(target.exportTensors() != source.exportTensors())
        try target.load(source.exportTensors().reversed())
        #expect(target.exportTensors() == source.exportTensors())
        let rebuilt = try MultilayerPerceptron(layerSizes: [6, 5, 4], tensors: source.exportTensors())
        #expect(rebuilt.exportTensors() == source.exportTensors())
    }

    /// Each case edits the exported tensors of a [6, 5, 4] network into something `load` must reject.
    static let invalidEdits: [(String, @Sendable ([NamedTensor]) -> [NamedTensor])] = [
        ("missing 2.bias", { $0.filter { $0.name != "2.bias" } }),
        ("extra 4.weight", { $0 + [NamedTensor(name: "4.weight", shape: [1], values: [0])] }),
        ("repeated 0.bias", { $0 + [$0[1]] }),
        ("transposed 0.weight", { tensors in
            var edited = tensors
            edited[0].shape = [6, 5]
            return edited
        }),
        ("short 2.bias values", { tensors in
            var edited = tensors
            edited[3].values.removeLast()
            return edited
        }),
        ("renamed weight", { tensors in
            var edited = tensors
            edited[0].name = "layer0.weight"
            return edited
        }),
    ]

    @Test(arguments: 0..<invalidEdits.count)
    func loadRejectsMismatchedTensors(caseIndex: Int) throws {
        let (label, edit) = Self.invalidEdits[caseIndex]
        var model = try MultilayerPerceptron(layerSizes: [6, 5, 4], seed: 7)
        let before = model.exportTensors()
        let error = #expect(throws: TrainingError.self, "\(label)") {
            try model.load(edit(try MultilayerPerceptron(layerSizes: [6, 5, 4], seed: 9).exportTensors()))
        }
        #expect(error?.description.contains("tensor") == true, "\(label): \(String(describing: error))")
        #expect(model.exportTensors() == before, "\(label) changed the parameters")
    }
}
