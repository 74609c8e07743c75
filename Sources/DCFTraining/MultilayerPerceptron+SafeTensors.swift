// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
public import Foundation

extension MultilayerPerceptron {
    /// Creates a network of `layerSizes` with the parameters of a safetensors file.
    ///
    /// - Throws: `TrainingError` when the sizes are invalid or the file's tensors do not match them.
    public init(layerSizes: [Int], safeTensors file: SafeTensors) throws {
        try self.init(layerSizes: layerSizes, seed: 0)
        try load(file)
    }

    /// Replaces every parameter with the tensors of a safetensors file, which must hold exactly this network's
    /// tensors (`0.weight`, `0.bias`, `2.weight`, ...) as F32 with the right shapes.
    ///
    /// - Throws: `TrainingError` naming the tensor when one is missing, unexpected, of another dtype than F32,
    ///   or of the wrong shape. The parameters are then unchanged.
    public mutating func load(_ file: SafeTensors) throws {
        var tensors: [NamedTensor] = []
        for view in file.allTensors() {
            guard view.info.dtype == .float32 else {
                throw TrainingError.invalidTensors(
                    "tensor \(view.info.name) has dtype \(view.info.dtype), but the trainer reads only F32; "
                        + "convert the model to float32 before saving it"
                )
            }
            tensors.append(NamedTensor(name: view.info.name, shape: view.info.shape, values: try view.floatValues()))
        }
        try load(tensors)
    }

    /// Returns every parameter as a safetensors file of F32 tensors, with `metadata` as its `__metadata__`.
    ///
    /// The names, shapes and dtype are those of the `state_dict` of the PyTorch `nn.Sequential` of `nn.Linear`
    /// and `nn.ReLU` modules of the same sizes. `scripts/numpy_mlp.py --evaluate` reads such a file.
    public func exportSafeTensors(metadata: [String: String] = [:]) -> Data {
        var writer = SafeTensorsWriter(metadata: metadata)
        for tensor in exportTensors() {
            do {
                try writer.add(name: tensor.name, shape: tensor.shape, values: tensor.values)
            } catch {
                // The names are distinct and valid and the value counts match the shapes, so this is a bug.
                preconditionFailure("cannot write tensor \(tensor.name): \(error)")
            }
        }
        return writer.serialize()
    }
}
