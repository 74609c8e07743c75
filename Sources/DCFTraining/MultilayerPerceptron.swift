// SPDX-License-Identifier: Apache-2.0

/// A multilayer perceptron with ReLU between linear layers and Float32 parameters, laid out as PyTorch's
/// `nn.Sequential(nn.Linear, nn.ReLU, nn.Linear, ...)`.
///
/// Layer `k` has tensors `"\(2k).weight"` of shape `[out, in]` (row-major) and `"\(2k).bias"` of shape `[out]`;
/// the indices skip the parameterless ReLU modules, as PyTorch's `state_dict` does. The last layer's outputs
/// are logits, trained with softmax cross-entropy.
public struct MultilayerPerceptron: Sendable {
    /// The width of every layer, inputs first and classes last, such as `[784, 128, 10]`.
    public let layerSizes: [Int]
    /// Every parameter in one buffer: layer 0's weight then bias, then layer 1's, and so on.
    var parameters: [Float]
    let layers: [LinearLayout]

    /// The number of linear layers.
    public var linearLayerCount: Int { layers.count }
    /// The number of Float parameters, weights and biases together.
    public var parameterCount: Int { parameters.count }

    /// Creates a network initialized as PyTorch's `nn.Linear` default: every weight and bias drawn uniformly from
    /// `[-1/sqrt(fanIn), 1/sqrt(fanIn)]`, from a generator fixed by `seed`.
    ///
    /// The draws are in tensor order (`0.weight` row-major, `0.bias`, `2.weight`, ...). The values differ from
    /// PyTorch's for the same seed because the generators differ; the distribution is the same.
    ///
    /// - Throws: `TrainingError` when there are fewer than two sizes or a size is not positive.
    public init(layerSizes: [Int], seed: UInt64) throws {
        let layers = try LinearLayout.layouts(for: layerSizes)
        var parameters = [Float](repeating: 0, count: layers.last.map { $0.biasOffset + $0.outputs } ?? 0)
        var generator = SeededGenerator(seed: seed)
        for layer in layers {
            let bound = 1 / Float(layer.inputs).squareRoot()
            let end = layer.biasOffset + layer.outputs
            for index in layer.weightOffset..<end {
                parameters[index] = generator.nextFloat(in: -bound, bound)
            }
        }
        self.layerSizes = layerSizes
        self.layers = layers
        self.parameters = parameters
    }

    /// Creates a network of `layerSizes` with the parameters in `tensors`.
    ///
    /// - Throws: `TrainingError` when the sizes are invalid or the tensors do not match them.
    public init(layerSizes: [Int], tensors: [NamedTensor]) throws {
        try self.init(layerSizes: layerSizes, seed: 0)
        try load(tensors)
    }

    /// Returns the names and shapes of the tensors of a network of `layerSizes`, in `state_dict` order.
    ///
    /// - Throws: `TrainingError` when there are fewer than two sizes or a size is not positive.
    public static func tensorShapes(layerSizes: [Int]) throws -> [(name: String, shape: [Int])] {
        try LinearLayout.layouts(for: layerSizes).flatMap { layer in
            [(layer.weightName, [layer.outputs, layer.inputs]), (layer.biasName, [layer.outputs])]
        }
    }

    /// Returns every parameter as named tensors in `state_dict` order.
    public func exportTensors() -> [NamedTensor] {
        layers.flatMap { layer in
            [
                NamedTensor(
                    name: layer.weightName, shape: [layer.outputs, layer.inputs],
                    values: Array(parameters[layer.weightOffset..<layer.biasOffset])
                ),
                NamedTensor(
                    name: layer.biasName, shape: [layer.outputs],
                    values: Array(parameters[layer.biasOffset..<(layer.biasOffset + layer.outputs)])
                ),
            ]
        }
    }

    /// Replaces every parameter with the values of `tensors`, which may come in any order.
    ///
    /// - Throws: `TrainingError` when a tensor is missing, unexpected, repeated, of the wrong shape, or has a
    ///   value count other than its shape's. The parameters are then unchanged.
    public mutating func load(_ tensors: [NamedTensor]) throws {
        var byName: [String: NamedTensor] = [:]
        for tensor in tensors {
            guard byName.updateValue(tensor, forKey: tensor.name) == nil else {
                throw TrainingError.invalidTensors("tensor \(tensor.name) appears more than once")
            }
        }
        var updated = parameters
        for layer in layers {
            try copy(byName.removeValue(forKey: layer.weightName), [layer.outputs, layer.inputs], layer.weightName,
                     into: &updated, at: layer.weightOffset)
            try copy(byName.removeValue(forKey: layer.biasName), [layer.outputs], layer.biasName,
                     into: &updated, at: layer.biasOffset)
        }
        if let extra = byName.keys.sorted().first {
            throw TrainingError.invalidTensors(
                "unexpected tensor \(extra) for layer sizes \(layerSizes); expected only "
                    + layers.flatMap { [$0.weightName, $0.biasName] }.joined(separator: ", ")
            )
        }
        parameters = updated
    }

    private func copy(
        _ tensor: NamedTensor?, _ shape: [Int], _ name: String, into buffer: inout [Float], at offset: Int
    ) throws {
        guard let tensor else {
            throw TrainingError.invalidTensors(
                "tensor \(name) of shape \(shape) is missing for layer sizes \(layerSizes)"
            )
        }
        guard tensor.shape == shape else {
            throw TrainingError.invalidTensors(
                "tensor \(name) has shape \(tensor.shape) but layer sizes \(layerSizes) need \(shape)"
            )
        }
        guard tensor.values.count == shape.reduce(1, *) else {
            throw TrainingError.invalidTensors(
                "tensor \(name) of shape \(shape) has \(tensor.values.count) values, not \(shape.reduce(1, *))"
            )
        }
        buffer.replaceSubrange(offset..<(offset + tensor.values.count), with: tensor.values)
    }
}

/// The position of one linear layer's parameters in the flat parameter buffer.
struct LinearLayout: Sendable {
    let index: Int
    let inputs: Int
    let outputs: Int
    let weightOffset: Int
    var biasOffset: Int { weightOffset + inputs * outputs }

    /// The `nn.Sequential` index counts the ReLU module after each linear layer but the last.
    var weightName: String { "\(2 * index).weight" }
    var biasName: String { "\(2 * index).bias" }

    static func layouts(for layerSizes: [Int]) throws -> [LinearLayout] {
        guard layerSizes.count >= 2 else {
            throw TrainingError.invalidArchitecture(
                "\(layerSizes) has \(layerSizes.count) sizes; "
                    + "give inputs, any hidden widths, and classes, such as [784, 128, 10]"
            )
        }
        if let bad = layerSizes.first(where: { $0 <= 0 }) {
            throw TrainingError.invalidArchitecture("\(layerSizes) contains \(bad); every size must be positive")
        }
        var layouts: [LinearLayout] = []
        var offset = 0
        for index in 0..<(layerSizes.count - 1) {
            let layout = LinearLayout(
                index: index, inputs: layerSizes[index], outputs: layerSizes[index + 1], weightOffset: offset
            )
            layouts.append(layout)
            offset = layout.biasOffset + layout.outputs
        }
        return layouts
    }
}
