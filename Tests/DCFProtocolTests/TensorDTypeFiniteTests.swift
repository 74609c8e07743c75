// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing

/// The finite-value check that rejects updates: every float encoding, every position (inside the vector
/// loop and in the tail), and the finite values closest to the limit.
@Suite struct TensorDTypeFiniteTests {
    /// 37 elements: two full 16-lane blocks and a tail of 5.
    private static let count = 37

    private static func bytes<T>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    private static func scan(_ bytes: [UInt8], _ dtype: TensorDType) -> Bool {
        bytes.withUnsafeBytes { dtype.allFinite($0) }
    }

    @Test(arguments: [0, 15, 16, 31, 32, 36])
    func float32NonFiniteFoundAnywhere(position: Int) {
        for bad in [Float.nan, .infinity, -.infinity, Float(bitPattern: 0x7F80_0001)] {
            var values = [Float](repeating: 0.5, count: Self.count)
            values[position] = bad
            #expect(!Self.scan(Self.bytes(values), .float32), "value \(bad) at \(position)")
        }
    }

    @Test(arguments: [0, 16, 36])
    func otherEncodingsNonFiniteFound(position: Int) {
        var doubles = [Double](repeating: -2, count: Self.count)
        doubles[position] = .nan
        #expect(!Self.scan(Self.bytes(doubles), .float64))
        var halves = [UInt16](repeating: Float16(1).bitPattern, count: Self.count)
        halves[position] = Float16.infinity.bitPattern
        #expect(!Self.scan(Self.bytes(halves), .float16))
        var brains = [UInt16](repeating: 0x3F80, count: Self.count)  // bfloat16 1.0
        brains[position] = 0xFF80  // bfloat16 -infinity
        #expect(!Self.scan(Self.bytes(brains), .bfloat16))
    }

    @Test func extremeFiniteValuesPass() {
        let floats: [Float] = (0..<Self.count).map { index in
            [Float.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -0.0][index % 4]
        }
        #expect(Self.scan(Self.bytes(floats), .float32))
        let doubles: [Double] = (0..<Self.count).map { $0 % 2 == 0 ? .greatestFiniteMagnitude : -.leastNormalMagnitude }
        #expect(Self.scan(Self.bytes(doubles), .float64))
        let halves = [UInt16](repeating: Float16.greatestFiniteMagnitude.bitPattern, count: Self.count)
        #expect(Self.scan(Self.bytes(halves), .float16))
        let brains = [UInt16](repeating: 0x7F7F, count: Self.count)  // bfloat16's largest finite value
        #expect(Self.scan(Self.bytes(brains), .bfloat16))
    }

    @Test func integerTensorsAreNotScanned() {
        #expect(Self.scan(Self.bytes([UInt32](repeating: 0xFFFF_FFFF, count: 4)), .int32))
    }
}
