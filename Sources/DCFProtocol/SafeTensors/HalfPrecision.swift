// SPDX-License-Identifier: Apache-2.0

/// Conversions between `Float` and the 16-bit IEEE half (F16) and bfloat16 (BF16) formats, as bit patterns.
///
/// Swift's `Float16` is unavailable on macOS on Intel, so the conversions are written out.
enum HalfPrecision {
    /// Widens an IEEE 754 binary16 bit pattern to `Float`; exact for every value, NaN stays NaN.
    static func float(fromHalf bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int(bits >> 10) & 0x1f
        let mantissa = UInt32(bits & 0x03ff)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa × 2^-24.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign == 0 ? magnitude : -magnitude
        case 0x1f:
            return Float(bitPattern: sign | 0x7f80_0000 | mantissa << 13)
        default:
            return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
        }
    }

    /// Narrows `Float` to a binary16 bit pattern, rounding to nearest even; overflow gives infinity.
    static func half(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        if value.isNaN { return sign | 0x7e00 }
        let magnitude = abs(value)
        if magnitude >= 65520 { return sign | 0x7c00 }  // 65520 and above round to infinity.
        if magnitude < Float(sign: .plus, exponent: -14, significand: 1) {
            // Subnormal range: count units of 2^-24, rounding to nearest even.
            let units = (magnitude * Float(sign: .plus, exponent: 24, significand: 1)).rounded(.toNearestOrEven)
            return sign | UInt16(units)
        }
        let exponent = Int((bits >> 23) & 0xff) - 127 + 15
        let mantissa = bits & 0x007f_ffff
        var result = UInt32(exponent) << 10 | mantissa >> 13
        let remainder = mantissa & 0x1fff
        if remainder > 0x1000 || (remainder == 0x1000 && result & 1 == 1) {
            result += 1  // A carry into the exponent is still the correctly rounded value.
        }
        return sign | UInt16(result)
    }

    /// Widens a bfloat16 bit pattern to `Float`: bfloat16 is the upper half of a `Float`.
    static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Narrows `Float` to a bfloat16 bit pattern, rounding to nearest even.
    static func bfloat16(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
        let rounding = 0x7fff + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }
}
