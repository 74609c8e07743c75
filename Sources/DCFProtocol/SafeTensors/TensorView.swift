// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// One tensor of a parsed safetensors file, sharing the file's bytes.
///
/// Element bytes are little-endian, as the format requires. They may be unaligned in memory, because the
/// format aligns the data section only when the header length is a multiple of 8.
public struct TensorView: Sendable {
    /// Name, dtype, shape and offsets.
    public let info: TensorInfo
    private let storage: Data
    /// Byte range of this tensor, counted from `storage.startIndex`.
    private let byteRange: Range<Int>

    init(info: TensorInfo, storage: Data, byteRange: Range<Int>) {
        self.info = info
        self.storage = storage
        self.byteRange = byteRange
    }

    /// Calls `body` with the tensor's raw little-endian bytes, without copying them.
    ///
    /// The buffer is valid only during the call.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try storage.withUnsafeBytes { whole in
            try body(UnsafeRawBufferPointer(rebasing: whole[byteRange]))
        }
    }

    /// Returns a copy of the tensor's raw little-endian bytes.
    public func copyBytes() -> Data {
        withUnsafeBytes { Data($0) }
    }

    /// Returns the elements as `Float`, converting F16, BF16 and F64 (F64 is rounded to nearest).
    ///
    /// - Throws: `SafeTensorsError` with code `unsupportedConversion` for integer and bool tensors.
    public func floatValues() throws -> [Float] {
        switch info.dtype {
        case .float32: return withUnsafeBytes { ElementDecoding.float32($0) }
        case .float16:
            return withUnsafeBytes { ElementDecoding.map($0, UInt16.self, HalfPrecision.float(fromHalf:)) }
        case .bfloat16:
            return withUnsafeBytes { ElementDecoding.map($0, UInt16.self, HalfPrecision.float(fromBFloat16:)) }
        case .float64: return try doubleValues().map { Float($0) }
        default: throw SafeTensorsError.unsupportedConversion(info.name, dtype: info.dtype, target: "Float")
        }
    }

    /// Returns the elements as `Double`; every floating-point dtype converts exactly.
    ///
    /// - Throws: `SafeTensorsError` with code `unsupportedConversion` for integer and bool tensors.
    public func doubleValues() throws -> [Double] {
        switch info.dtype {
        case .float64: return withUnsafeBytes { ElementDecoding.map($0, UInt64.self) { Double(bitPattern: $0) } }
        case .float32, .float16, .bfloat16: return try floatValues().map { Double($0) }
        default: throw SafeTensorsError.unsupportedConversion(info.name, dtype: info.dtype, target: "Double")
        }
    }

    /// Returns the elements as `Int64`, for integer and bool tensors (true is 1).
    ///
    /// - Throws: `SafeTensorsError` with code `unsupportedConversion` for floating-point tensors.
    public func int64Values() throws -> [Int64] {
        if info.dtype.isFloatingPoint {
            throw SafeTensorsError.unsupportedConversion(info.name, dtype: info.dtype, target: "Int64")
        }
        return withUnsafeBytes { bytes in
            switch info.dtype {
            case .int64: ElementDecoding.map(bytes, UInt64.self) { Int64(bitPattern: $0) }
            case .int32: ElementDecoding.map(bytes, UInt32.self) { Int64(Int32(bitPattern: $0)) }
            case .int16: ElementDecoding.map(bytes, UInt16.self) { Int64(Int16(bitPattern: $0)) }
            case .int8: bytes.map { Int64(Int8(bitPattern: $0)) }
            case .uint8, .bool: bytes.map { Int64($0) }
            case .float64, .float32, .float16, .bfloat16:
                preconditionFailure("floating-point dtype \(info.dtype) was rejected above")
            }
        }
    }
}

/// Loads little-endian elements from possibly unaligned bytes.
enum ElementDecoding {
    static func map<Raw: FixedWidthInteger, Element>(
        _ bytes: UnsafeRawBufferPointer, _ raw: Raw.Type, _ transform: (Raw) -> Element
    ) -> [Element] {
        let stride = MemoryLayout<Raw>.size
        return (0..<bytes.count / stride).map { index in
            transform(Raw(littleEndian: bytes.loadUnaligned(fromByteOffset: index * stride, as: Raw.self)))
        }
    }

    static func float32(_ bytes: UnsafeRawBufferPointer) -> [Float] {
        #if _endian(little)
            // Same layout on little-endian hosts, so one copy suffices.
            let count = bytes.count / 4
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes) }
                initialized = count
            }
        #else
            return map(bytes, UInt32.self) { Float(bitPattern: $0) }
        #endif
    }
}
