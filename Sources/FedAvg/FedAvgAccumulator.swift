// SPDX-License-Identifier: Apache-2.0

/// Weighted sums of every tensor of a model in float64, the state between two global versions.
///
/// Memory is one float64 per model element (twice a float32 model), whatever the number of updates.
/// Several updates are folded in one pass in blocks, so each block of sums stays in cache while every
/// update of the batch is added to it.
final class FedAvgAccumulator {
    let layouts: [TensorLayout]
    private let offsets: [Int]
    private let sums: UnsafeMutableBufferPointer<Double>
    private(set) var totalWeight: Double = 0
    private(set) var foldedCount = 0

    /// Elements per block; 8,192 float64 sums are 64 KiB, which stays in a core's L2 cache.
    static let blockElements = 8192

    init(layouts: [TensorLayout]) {
        self.layouts = layouts
        var offsets: [Int] = []
        var total = 0
        for layout in layouts {
            offsets.append(total)
            total += layout.elementCount
        }
        self.offsets = offsets
        sums = .allocate(capacity: total)
        sums.initialize(repeating: 0)
    }

    deinit {
        sums.deallocate()
    }

    /// Clears the sums for the next round.
    func reset() {
        sums.update(repeating: 0)
        totalWeight = 0
        foldedCount = 0
    }

    /// Adds `weight × update` for every update of `batch`. The caller has already checked that each
    /// update has a tensor of the same layout for each of `layouts` and that its weight is positive and finite.
    func fold(_ batch: [(tensors: any ModelTensors, weight: Double)]) {
        for (tensorIndex, layout) in layouts.enumerated() {
            let elementSize = layout.kind.byteCount
            var start = 0
            while start < layout.elementCount {
                let count = min(Self.blockElements, layout.elementCount - start)
                let block = UnsafeMutableBufferPointer(rebasing: sums[(offsets[tensorIndex] + start)...].prefix(count))
                for update in batch {
                    update.tensors.withTensorBytes(named: layout.name) { bytes in
                        let slice = UnsafeRawBufferPointer(rebasing: bytes[(start * elementSize)..<((start + count) * elementSize)])
                        ElementKernels.fold(slice, kind: layout.kind, weight: update.weight, into: block)
                    }
                }
                start += count
            }
        }
        for update in batch {
            totalWeight += update.weight
        }
        foldedCount += batch.count
    }

    /// Returns the weighted mean of every tensor, encoded in its own element kind, in layout order.
    func mean() -> [[UInt8]] {
        precondition(totalWeight > 0, "mean of an accumulator with no weight")
        return layouts.enumerated().map { tensorIndex, layout in
            var bytes = [UInt8](repeating: 0, count: layout.byteCount)
            let tensorSums = UnsafeBufferPointer(
                rebasing: sums[offsets[tensorIndex]..<(offsets[tensorIndex] + layout.elementCount)]
            )
            bytes.withUnsafeMutableBytes { target in
                ElementKernels.writeMean(tensorSums, totalWeight: totalWeight, kind: layout.kind, into: target)
            }
            return bytes
        }
    }
}
