// SPDX-License-Identifier: Apache-2.0

/// Element encodings FedAvg folds, with the loops that read them into float64 and write them back.
/// The loops take raw little-endian buffers straight from a safetensors payload, so no tensor is copied
/// into an intermediate array before it is folded.
enum ElementKind: Sendable, Equatable {
    case float64, float32, float16, bfloat16
    case int64, int32, int16, int8, uint8, bool

    var byteCount: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    var isFloatingPoint: Bool {
        switch self {
        case .float64, .float32, .float16, .bfloat16: true
        default: false
        }
    }
}

enum ElementKernels {
    /// Adds `weight × element` to each accumulator slot.
    static func fold(
        _ source: UnsafeRawBufferPointer, kind: ElementKind, weight: Double, into sums: UnsafeMutableBufferPointer<Double>
    ) {
        precondition(source.count == sums.count * kind.byteCount, "tensor byte count does not match accumulator")
        switch kind {
        case .float64: foldLoaded(source, Double.self, weight, sums) { $0 }
        case .float32: Float32Kernels.fold1(source, weight, into: sums)
        case .float16: foldLoaded(source, UInt16.self, weight, sums) { Double(Float16(bitPattern: UInt16(littleEndian: $0))) }
        case .bfloat16: foldLoaded(source, UInt16.self, weight, sums) { Double(bfloat16ToFloat(UInt16(littleEndian: $0))) }
        case .int64: foldLoaded(source, Int64.self, weight, sums) { Double(Int64(littleEndian: $0)) }
        case .int32: foldLoaded(source, Int32.self, weight, sums) { Double(Int32(littleEndian: $0)) }
        case .int16: foldLoaded(source, Int16.self, weight, sums) { Double(Int16(littleEndian: $0)) }
        case .int8: foldLoaded(source, Int8.self, weight, sums) { Double($0) }
        case .uint8: foldLoaded(source, UInt8.self, weight, sums) { Double($0) }
        case .bool: foldLoaded(source, UInt8.self, weight, sums) { $0 == 0 ? 0 : 1 }
        }
    }

    /// Adds `weights[u] × sources[u][i]` to `sums[i]` for each update `u` in order, so every sum gets exactly
    /// the additions, in the same order, that one `fold` call per source would make. Float32 sources are read
    /// four at a time while a sum stays in a register, which cuts the loads and stores of `sums` fourfold.
    static func fold(
        _ sources: [UnsafeRawBufferPointer], weights: [Double], kind: ElementKind,
        into sums: UnsafeMutableBufferPointer<Double>
    ) {
        precondition(sources.count == weights.count, "\(sources.count) sources but \(weights.count) weights")
        guard kind == .float32 else {
            for (source, weight) in zip(sources, weights) {
                fold(source, kind: kind, weight: weight, into: sums)
            }
            return
        }
        for source in sources {
            precondition(source.count == sums.count * 4, "tensor byte count does not match accumulator")
        }
        var next = 0
        while next + 4 <= sources.count {
            Float32Kernels.fold4(sources, weights, from: next, into: sums)
            next += 4
        }
        while next < sources.count {
            Float32Kernels.fold1(sources[next], weights[next], into: sums)
            next += 1
        }
    }

    @inline(__always)
    private static func foldLoaded<T>(
        _ source: UnsafeRawBufferPointer, _: T.Type, _ weight: Double, _ sums: UnsafeMutableBufferPointer<Double>,
        _ convert: (T) -> Double
    ) {
        // safetensors gives no alignment guarantee beyond the header's 8-byte padding, so read unaligned.
        for index in 0..<sums.count {
            let element = source.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.stride, as: T.self)
            sums[index] += weight * convert(element)
        }
    }

    /// Returns the largest magnitude among the little-endian float64 values of `source`; 0 when it is empty.
    static func largestMagnitude(float64 source: UnsafeRawBufferPointer) -> Double {
        var largest = 0.0
        for index in 0..<(source.count / 8) {
            let value = Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)))
            largest = max(largest, abs(value))
        }
        return largest
    }

    /// Returns false when a floating-point tensor holds a NaN or an infinity; integer tensors are always finite.
    static func isFinite(_ source: UnsafeRawBufferPointer, kind: ElementKind) -> Bool {
        kind.dtype.allFinite(source)
    }

    /// Writes `sums[i] / totalWeight` in `kind`'s encoding. Floats round to nearest even; integers round
    /// half away from zero and clamp to the type's range; booleans are true when the weighted mean is at
    /// least one half.
    static func writeMean(
        _ sums: UnsafeBufferPointer<Double>, totalWeight: Double, kind: ElementKind, into target: UnsafeMutableRawBufferPointer
    ) {
        precondition(target.count == sums.count * kind.byteCount, "target byte count does not match accumulator")
        for index in 0..<sums.count {
            let mean = sums[index] / totalWeight
            let offset = index * kind.byteCount
            switch kind {
            case .float64: target.storeBytes(of: mean.bitPattern.littleEndian, toByteOffset: offset, as: UInt64.self)
            case .float32: target.storeBytes(of: Float(mean).bitPattern.littleEndian, toByteOffset: offset, as: UInt32.self)
            case .float16: target.storeBytes(of: Float16(mean).bitPattern.littleEndian, toByteOffset: offset, as: UInt16.self)
            case .bfloat16: target.storeBytes(of: floatToBFloat16(Float(mean)).littleEndian, toByteOffset: offset, as: UInt16.self)
            case .int64: target.storeBytes(of: clampedInteger(mean, Int64.self).littleEndian, toByteOffset: offset, as: Int64.self)
            case .int32: target.storeBytes(of: clampedInteger(mean, Int32.self).littleEndian, toByteOffset: offset, as: Int32.self)
            case .int16: target.storeBytes(of: clampedInteger(mean, Int16.self).littleEndian, toByteOffset: offset, as: Int16.self)
            case .int8: target.storeBytes(of: clampedInteger(mean, Int8.self), toByteOffset: offset, as: Int8.self)
            case .uint8: target.storeBytes(of: clampedInteger(mean, UInt8.self), toByteOffset: offset, as: UInt8.self)
            case .bool: target.storeBytes(of: mean >= 0.5 ? UInt8(1) : UInt8(0), toByteOffset: offset, as: UInt8.self)
            }
        }
    }

    private static func clampedInteger<T: FixedWidthInteger>(_ value: Double, _: T.Type) -> T {
        let rounded = value.rounded(.toNearestOrAwayFromZero)
        if rounded <= Double(T.min) { return T.min }
        if rounded >= Double(T.max) { return T.max }
        return T(rounded)
    }

    static func bfloat16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Rounds a Float to bfloat16 to nearest, ties to even; NaN stays NaN.
    static func floatToBFloat16(_ value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 }
        let bits = value.bitPattern
        let roundingBias = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }
}
