// SPDX-License-Identifier: Apache-2.0

/// Float32 folding loops written so the compiler vectorizes them: no per-element closure, unaligned loads
/// straight from the payload, and a single sum pointer per loop.
enum Float32Kernels {
    /// Adds `weight × source[i]` to `sums[i]`.
    @inline(__always)
    static func fold1(_ source: UnsafeRawBufferPointer, _ weight: Double, into sums: UnsafeMutableBufferPointer<Double>) {
        guard let base = source.baseAddress, let target = sums.baseAddress else { return }
        for index in 0..<sums.count {
            let element = base.loadUnaligned(fromByteOffset: index &* 4, as: Float.self)
            target[index] += weight * Double(element)
        }
    }

    /// Adds `weights[first + k] × sources[first + k][i]` to `sums[i]` for k = 0, 1, 2, 3 in that order,
    /// keeping the sum in a register between the four additions.
    @inline(__always)
    static func fold4(
        _ sources: [UnsafeRawBufferPointer], _ weights: [Double], from first: Int,
        into sums: UnsafeMutableBufferPointer<Double>
    ) {
        guard let target = sums.baseAddress, sums.count > 0 else { return }
        let s0 = sources[first].baseAddress!, s1 = sources[first + 1].baseAddress!
        let s2 = sources[first + 2].baseAddress!, s3 = sources[first + 3].baseAddress!
        let w0 = weights[first], w1 = weights[first + 1], w2 = weights[first + 2], w3 = weights[first + 3]
        for index in 0..<sums.count {
            let offset = index &* 4
            // Four separate additions, not one sum of products, so rounding matches four single folds.
            var sum = target[index]
            sum += w0 * Double(s0.loadUnaligned(fromByteOffset: offset, as: Float.self))
            sum += w1 * Double(s1.loadUnaligned(fromByteOffset: offset, as: Float.self))
            sum += w2 * Double(s2.loadUnaligned(fromByteOffset: offset, as: Float.self))
            sum += w3 * Double(s3.loadUnaligned(fromByteOffset: offset, as: Float.self))
            target[index] = sum
        }
    }
}
