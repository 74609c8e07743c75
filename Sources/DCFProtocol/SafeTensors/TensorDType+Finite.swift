// SPDX-License-Identifier: Apache-2.0

extension TensorDType {
    /// Returns whether every element of `bytes`, little-endian values of this type, is finite: always true for
    /// integer and boolean types, and for floating-point types true when no element is NaN or infinity. A
    /// trailing partial element is ignored.
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
    /// infinity. Adding the lowest exponent bit to a masked exponent carries into the sign bit only when every
    /// exponent bit is set, so ORing those sums lane by lane finds such an element with no branch or compare,
    /// and the loop vectorizes.
    private static func exponentsBelowMaximum<T: FixedWidthInteger & UnsignedInteger & SIMDScalar>(
        _ source: UnsafeRawBufferPointer, mask: T
    ) -> Bool {
        let stride = MemoryLayout<T>.stride
        let count = source.count / stride
        let lowestBit = mask & (0 &- mask)
        let lanes = 16
        var carries = SIMD16<T>(repeating: 0)
        let vectorMask = SIMD16<T>(repeating: mask)
        let vectorLowestBit = SIMD16<T>(repeating: lowestBit)
        var index = 0
        while index + lanes <= count {
            var values = source.loadUnaligned(fromByteOffset: index * stride, as: SIMD16<T>.self)
            #if _endian(big)
            for lane in 0..<lanes { values[lane] = T(littleEndian: values[lane]) }
            #endif
            carries |= (values & vectorMask) &+ vectorLowestBit
            index += lanes
        }
        var tail: T = 0
        while index < count {
            let value = T(littleEndian: source.loadUnaligned(fromByteOffset: index * stride, as: T.self))
            tail |= (value & mask) &+ lowestBit
            index += 1
        }
        let signBit = T(1) << (T.bitWidth - 1)
        var combined = tail
        for lane in 0..<lanes { combined |= carries[lane] }
        return combined & signBit == 0
    }
}
