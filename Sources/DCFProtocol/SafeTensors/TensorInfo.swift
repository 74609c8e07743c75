// SPDX-License-Identifier: Apache-2.0

/// Name, element type, shape and byte range of one tensor in a safetensors file.
public struct TensorInfo: Sendable, Hashable {
    /// Tensor name, such as `fc1.weight` in PyTorch `state_dict` naming.
    public let name: String
    /// Element type.
    public let dtype: TensorDType
    /// Dimensions, outermost first; empty for a scalar.
    public let shape: [Int]
    /// Byte range of the tensor's data, counted from the start of the data section after the header.
    public let dataOffsets: Range<Int>

    /// Number of elements: the product of `shape`, 1 for a scalar.
    public var elementCount: Int { shape.reduce(1, *) }

    /// Number of data bytes.
    public var byteCount: Int { dataOffsets.count }

    public init(name: String, dtype: TensorDType, shape: [Int], dataOffsets: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
    }

    /// Returns the element count of `shape`, or nil if a dimension is negative or the product overflows.
    static func checkedElementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    /// Returns the byte count of `shape` in `dtype`, or nil if it is invalid or overflows.
    static func checkedByteCount(_ shape: [Int], _ dtype: TensorDType) -> Int? {
        guard let count = checkedElementCount(shape) else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        return overflow ? nil : bytes
    }
}
