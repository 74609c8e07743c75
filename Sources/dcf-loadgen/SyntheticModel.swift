// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation

/// A float32 safetensors model of a chosen size, and the updates the simulated workers send for it.
enum SyntheticModel {
    /// Elements per tensor: 1 Mi float32 values (4 MiB), like a mid-sized layer.
    static let elementsPerTensor = 1 << 20

    /// Builds a model whose tensor data is `bytes` rounded down to whole float32 values, split into tensors
    /// `layers.K.weight` of at most `elementsPerTensor` values, filled with reproducible pseudo-random numbers
    /// in [-0.1, 0.1). Every mantissa bit varies, as in trained weights, so deflate saves almost nothing and
    /// the server serves the model uncompressed, as it would a real one.
    static func initial(bytes: Int) throws -> Data {
        var remaining = max(1, bytes / 4)
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        var layer = 0
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        while remaining > 0 {
            let count = min(remaining, elementsPerTensor)
            let values = (0..<count).map { _ in
                // xorshift64*: cheap and reproducible; the top 24 bits make a uniform float in [0, 1).
                state ^= state >> 12
                state ^= state << 25
                state ^= state >> 27
                let unit = Float((state &* 0x2545_F491_4F6C_DD1D) >> 40) / Float(1 << 24)
                return unit * 0.2 - 0.1
            }
            try writer.add(name: "layers.\(layer).weight", shape: [count], values: values)
            remaining -= count
            layer += 1
        }
        return writer.serialize()
    }

    /// Builds the update for `model` at `version`: every value plus 0.001, as if one step of training ran on
    /// one example, with the metadata FedAvg requires.
    static func update(for model: Data, version: ModelVersion) throws -> Data {
        let tensors = try SafeTensors(bytes: model)
        let metadata = UpdateMetadata(numExamples: 1, baseVersion: version)
        var writer = SafeTensorsWriter(metadata: metadata.safetensorsMetadata)
        for tensor in tensors.allTensors() {
            let values = try tensor.floatValues().map { $0 + 0.001 }
            try writer.add(name: tensor.info.name, shape: tensor.info.shape, values: values, as: tensor.info.dtype)
        }
        return writer.serialize()
    }
}
