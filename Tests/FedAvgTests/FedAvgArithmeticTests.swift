// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import FedAvg

@Suite struct FedAvgArithmeticTests {
    private func layout(_ kind: ElementKind, count: Int = 3) -> TensorLayout {
        TensorLayout(name: "0.weight", kind: kind, shape: [count])
    }

    private func average(_ kind: ElementKind, _ updates: [([UInt8], Double)], count: Int = 3) -> [UInt8] {
        let accumulator = FedAvgAccumulator(layouts: [layout(kind, count: count)])
        accumulator.fold(updates.map { (InMemoryTensors([(layout(kind, count: count), $0.0)]), $0.1) })
        return accumulator.mean()[0]
    }

    @Test func float32WeightedMeanIsExact() {
        // (1×1 + 3×5) / 4 = 4, (2×1 + 6×3) / 4 = 5, (−8×1 + 0×3) / 4 = −2
        let result = average(.float32, [(float32Bytes([1, 2, -8]), 1), (float32Bytes([5, 6, 0]), 3)])
        #expect(decodeFloat32(result) == [4, 5, -2])
    }

    @Test func float64KeepsFullPrecision() {
        let small = 1e-17
        let result = average(.float64, [(float64Bytes([1 + 0.5, small, 3]), 1), (float64Bytes([1 - 0.5, small, 5]), 1)])
        #expect(result == float64Bytes([1, small, 4]))
    }

    @Test func float16MeanRoundsToNearest() {
        let result = average(.float16, [(float16Bytes([1, 0.5, -2]), 1), (float16Bytes([2, 0.25, -4]), 1)])
        #expect(result == float16Bytes([1.5, 0.375, -3]))
    }

    @Test func bfloat16MeanRoundsToNearest() {
        let result = average(.bfloat16, [(bfloat16Bytes([1, 2, -6]), 3), (bfloat16Bytes([3, 4, 2]), 1)])
        #expect(result == bfloat16Bytes([1.5, 2.5, -4]))
    }

    @Test func bfloat16RoundingTiesToEven() {
        // 1 + 2^-8 lies halfway between the bfloat16 neighbours 1 and 1 + 2^-7; the even one is 1.
        #expect(ElementKernels.floatToBFloat16(1 + 1.0 / 256) == 0x3F80)
        // 1 + 3 × 2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
        #expect(ElementKernels.floatToBFloat16(1 + 3.0 / 256) == 0x3F82)
    }

    @Test func integerMeanRoundsHalfAwayFromZero() {
        // num_batches_tracked-like counters: (10 + 11) / 2 = 10.5 -> 11, (-3 + -4) / 2 = -3.5 -> -4.
        let result = average(.int64, [(littleEndianBytes([Int64(10), -3, 7]), 1), (littleEndianBytes([Int64(11), -4, 7]), 1)])
        #expect(result == littleEndianBytes([Int64(11), -4, 7]))
    }

    @Test func uint8MeanClampsToRange() {
        let result = average(.uint8, [([255, 0, 100], 1), ([254, 1, 101], 1)])
        #expect(result == [255, 1, 101])
    }

    @Test func boolIsWeightedMajority() {
        let result = average(.bool, [([1, 0, 1], 3), ([0, 1, 0], 1)])
        #expect(result == [1, 0, 1])
    }

    @Test func blockedFoldCoversTensorsLargerThanABlock() {
        let count = FedAvgAccumulator.blockElements * 2 + 5
        let first = (0..<count).map { Float($0 % 97) }
        let second = (0..<count).map { Float(($0 * 7) % 89) }
        let result = decodeFloat32(average(.float32, [(float32Bytes(first), 2), (float32Bytes(second), 2)], count: count))
        let expected = zip(first, second).map { Float((Double($0) * 2 + Double($1) * 2) / 4) }
        #expect(result == expected)
    }

    @Test func foldingInSeveralBatchesEqualsOneBatch() {
        let updates = (1...5).map { index in (float32Bytes([Float(index), Float(index * index), 0.1]), Double(index)) }
        let accumulator = FedAvgAccumulator(layouts: [layout(.float32)])
        for update in updates {
            accumulator.fold([(InMemoryTensors([(layout(.float32), update.0)]), update.1)])
        }
        #expect(accumulator.mean()[0] == average(.float32, updates))
        #expect(accumulator.foldedCount == 5)
        #expect(accumulator.totalWeight == 15)
    }
}
