// SPDX-License-Identifier: Apache-2.0

extension TensorDType {
    /// Whether every element of `bytes`, little-endian values of this type, is finite: true for integer and
    /// boolean types, and for floating-point types when no element is NaN or infinity. A trailing partial
    /// element is ignored.
    public func allFinite(_ bytes: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .float64: Self.exponentsBelowMaximum(bytes, mask: UInt64(0x7FF0_0000_0000_0000))
        case .float32: Self.exponentsBelowMaximum(bytes, mask: UInt32(0x7F80_0000))
        case .float16: Self.exponentsBelowMaximum(bytes, mask: UInt16(0x7C00))
        case .bfloat16: Self.exponentsBelowMaximum(bytes, mask: UInt16(0x7F80))
        default: true
        }
    }

    /// Whether no element has every exponent bit of `mask` set, which in IEEE 754 means exactly NaN or
    /// infinity. The largest masked value is kept lane by lane without branches, so the loop vectorizes;
    /// it equals `mask` only when some element is NaN or infinite.
    private static func exponentsBelowMaximum<T: FixedWidthInteger & SIMDScalar>(
        _ source: UnsafeRawBufferPointer, mask: T
    ) -> Bool {
        let stride = MemoryLayout<T>.stride
        let count = source.count / stride
        let lanes = 16
        var largest = SIMD16<T>(repeating: 0)
        let vectorMask = SIMD16<T>(repeating: mask)
        var index = 0
        while index + lanes <= count {
            var values = source.loadUnaligned(fromByteOffset: index * stride, as: SIMD16<T>.self)
            #if _endian(big)
            for lane in 0..<lanes { values[lane] = T(littleEndian: values[lane]) }
            #endif
            largest = pointwiseMax(largest, values & vectorMask)
            index += lanes
        }
        var tail: T = 0
        while index < count {
            tail = max(tail, T(littleEndian: source.loadUnaligned(fromByteOffset: index * stride, as: T.self)) & mask)
            index += 1
        }
        return max(largest.max(), tail) != mask
    }
}
