// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Single-thread memory bandwidth references, measured on buffers far larger than any cache.
enum MemoryBandwidth {
    /// Bytes per second of summing a 512 MiB float32 buffer with 32-float SIMD steps (four independent
    /// 8-lane accumulators), best of three passes. This is the read rate the FedAvg fold is compared with.
    static func readBytesPerSecond() -> Double {
        let byteCount = 512 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        defer { buffer.deallocate() }
        // Writing every page first keeps page faults out of the timing.
        buffer.initializeMemory(as: Float.self, repeating: 1, count: byteCount / 4)
        var total: Float = 0
        let seconds = BenchMachine.bestSeconds(repeats: 3) { total += sum(buffer, byteCount: byteCount) }
        precondition(total > 0, "the read loop was optimized away")
        return Double(byteCount) / seconds
    }

    /// Bytes copied per second by `memcpy` from one 256 MiB buffer to another, best of three.
    static func copyBytesPerSecond() -> Double {
        let byteCount = 256 << 20
        let source = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        let target = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        defer {
            source.deallocate()
            target.deallocate()
        }
        memset(source, 1, byteCount)
        memset(target, 0, byteCount)
        let seconds = BenchMachine.bestSeconds(repeats: 3) { memcpy(target, source, byteCount) }
        return Double(byteCount) / seconds
    }

    @inline(never)
    private static func sum(_ buffer: UnsafeMutableRawPointer, byteCount: Int) -> Float {
        var a = SIMD8<Float>(), b = SIMD8<Float>(), c = SIMD8<Float>(), d = SIMD8<Float>()
        var offset = 0
        while offset < byteCount {
            a += buffer.load(fromByteOffset: offset, as: SIMD8<Float>.self)
            b += buffer.load(fromByteOffset: offset + 32, as: SIMD8<Float>.self)
            c += buffer.load(fromByteOffset: offset + 64, as: SIMD8<Float>.self)
            d += buffer.load(fromByteOffset: offset + 96, as: SIMD8<Float>.self)
            offset += 128
        }
        return (a + b + c + d).sum()
    }
}
