// SPDX-License-Identifier: Apache-2.0

/// Element type of a tensor, spelled as in the safetensors header.
public enum TensorDType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case float64 = "F64"
    case float32 = "F32"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int64 = "I64"
    case int32 = "I32"
    case int16 = "I16"
    case int8 = "I8"
    case uint8 = "U8"
    case bool = "BOOL"

    /// Size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// Whether the type is a floating-point type.
    public var isFloatingPoint: Bool {
        switch self {
        case .float64, .float32, .float16, .bfloat16: true
        default: false
        }
    }

    public var description: String { rawValue }

    /// Rank in the order of the safetensors package's `Dtype` enum (checked with version 0.8).
    ///
    /// The package writes tensors by descending rank, then by name, so larger elements come first and stay
    /// aligned. Following it makes our files byte-identical to the package's for the same tensors.
    var serializationRank: Int {
        switch self {
        case .bool: 0
        case .uint8: 1
        case .int8: 2
        case .int16: 3
        case .float16: 4
        case .bfloat16: 5
        case .int32: 6
        case .float32: 7
        case .float64: 8
        case .int64: 9
        }
    }
}
