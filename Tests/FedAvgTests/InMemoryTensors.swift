// SPDX-License-Identifier: Apache-2.0
@testable import FedAvg

/// Tensors held in arrays, for testing the arithmetic without files.
struct InMemoryTensors: ModelTensors {
    var layouts: [TensorLayout]
    var bytes: [String: [UInt8]]

    init(_ tensors: [(TensorLayout, [UInt8])]) {
        layouts = tensors.map(\.0)
        bytes = Dictionary(uniqueKeysWithValues: tensors.map { ($0.0.name, $0.1) })
    }

    func withTensorBytes<Result>(named name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try bytes[name]!.withUnsafeBytes(body)
    }
}

func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
}

func float32Bytes(_ values: [Float]) -> [UInt8] { littleEndianBytes(values.map(\.bitPattern)) }
func float64Bytes(_ values: [Double]) -> [UInt8] { littleEndianBytes(values.map(\.bitPattern)) }
func float16Bytes(_ values: [Float16]) -> [UInt8] { littleEndianBytes(values.map(\.bitPattern)) }
func bfloat16Bytes(_ values: [Float]) -> [UInt8] { littleEndianBytes(values.map { UInt16($0.bitPattern >> 16) }) }

func decodeFloat32(_ bytes: [UInt8]) -> [Float] {
    stride(from: 0, to: bytes.count, by: 4).map { offset in
        Float(bitPattern: bytes[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) })
    }
}
