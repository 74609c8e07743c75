// SPDX-License-Identifier: Apache-2.0

/// A Float32 tensor with its PyTorch `state_dict` name, shape, and values in row-major order.
public struct NamedTensor: Equatable, Sendable {
    /// The `state_dict` key, such as `0.weight`.
    public var name: String
    /// The dimensions, outermost first, such as `[out, in]` for a linear layer's weight.
    public var shape: [Int]
    /// The elements in row-major order; the count equals the product of `shape`.
    public var values: [Float]

    /// Creates a tensor; the element count must equal the product of `shape` (checked where tensors are loaded).
    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}
