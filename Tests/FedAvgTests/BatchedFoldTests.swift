// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import FedAvg

/// The batched float32 fold must give bit-identical sums to one fold per update, for every batch size
/// around the four-source grouping and for unaligned source buffers.
@Suite struct BatchedFoldTests {
    private static func values(count: Int, seed: UInt64) -> [Float] {
        var generator = seed
        return (0..<count).map { _ in
            generator = generator &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: generator >> 11) % 2_000_003) / 997 - 1000
        }
    }

    private static func sumsOneByOne(_ updates: [[Float]], _ weights: [Double], count: Int) -> [Double] {
        var sums = [Double](repeating: 0.25, count: count)
        sums.withUnsafeMutableBufferPointer { target in
            for (update, weight) in zip(updates, weights) {
                update.withUnsafeBytes { ElementKernels.fold($0, kind: .float32, weight: weight, into: target) }
            }
        }
        return sums
    }

    @Test(arguments: [1, 2, 3, 4, 5, 7, 8, 9, 13])
    func batchedFloat32MatchesOneByOne(updateCount: Int) {
        let count = 1031
        let updates = (0..<updateCount).map { Self.values(count: count, seed: UInt64($0 + 1)) }
        let weights = (0..<updateCount).map { 1 / Double($0 + 3) }
        let expected = Self.sumsOneByOne(updates, weights, count: count)

        // One byte of offset makes every float32 load unaligned, as a safetensors payload may be.
        let shifted = updates.map { [0] + float32Bytes($0) }
        var sums = [Double](repeating: 0.25, count: count)
        withRawBuffers(shifted) { buffers in
            let sources = buffers.map { UnsafeRawBufferPointer(rebasing: $0[1...]) }
            sums.withUnsafeMutableBufferPointer { target in
                ElementKernels.fold(sources, weights: weights, kind: .float32, into: target)
            }
        }
        #expect(sums.map { $0.bitPattern } == expected.map { $0.bitPattern })
    }

    @Test func rawTensorFoldMatchesModelFold() {
        let shapes = [[3, 5], [FedAvgAccumulator.blockElements + 7]]
        let layouts = shapes.enumerated().map { TensorLayout(name: "t\($0.offset)", kind: .float32, shape: $0.element) }
        let updates = (0..<6).map { update in
            layouts.enumerated().map { float32Bytes(Self.values(count: $0.element.elementCount, seed: UInt64(update * 10 + $0.offset))) }
        }
        let weights = [1.0, 2, 3, 0.5, 7, 11]

        let byModel = FedAvgAccumulator(layouts: layouts)
        byModel.fold(zip(updates, weights).map { (InMemoryTensors(Array(zip(layouts, $0.0))), $0.1) })
        let byRaw = FedAvgAccumulator(tensors: shapes.enumerated().map { ("t\($0.offset)", .float32, $0.element) })
        for (update, weight) in zip(updates, weights) {
            withRawBuffers(update) { byRaw.fold(rawTensors: [$0], weights: [weight]) }
        }
        #expect(byRaw.mean() == byModel.mean())
        #expect(byRaw.totalWeight == byModel.totalWeight)
        #expect(byRaw.foldedCount == 6)
    }
}

/// Calls `body` with a raw buffer for each array, all valid for the whole call.
private func withRawBuffers(_ arrays: [[UInt8]], _ body: ([UnsafeRawBufferPointer]) -> Void) {
    func nest(_ index: Int, _ collected: [UnsafeRawBufferPointer]) {
        guard index < arrays.count else { return body(collected) }
        arrays[index].withUnsafeBytes { nest(index + 1, collected + [$0]) }
    }
    nest(0, [])
}
