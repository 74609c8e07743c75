// SPDX-License-Identifier: Apache-2.0
package import DCFProtocol

/// Weighted sums of every tensor of a model in float64, the state between two global versions.
///
/// Memory is one float64 per model element (twice a float32 model), whatever the number of updates.
/// Several updates are folded in one pass in blocks, so each block of sums stays in cache while every
/// update of the batch is added to it.
package final class FedAvgAccumulator {
    let layouts: [TensorLayout]
    private let offsets: [Int]
    private let sums: UnsafeMutableBufferPointer<Double>
    /// Sum of the weights of every folded update.
    package private(set) var totalWeight: Double = 0
    /// Updates folded since the last reset.
    package private(set) var foldedCount = 0

    /// Elements per block; 8,192 float64 sums are 64 KiB, which stays in a core's L2 cache.
    static let blockElements = 8192

    /// The largest magnitude of a float64 value that is folded. Times the largest example count (10^12) it is
    /// 10^300, and sums of up to 10^8 such terms stay below the float64 maximum (about 1.8 × 10^308), so the
    /// sums never overflow to infinity, and infinity minus infinity never turns into NaN. The bound does not
    /// depend on the example count, so a mean of accepted values can always be sent back in a later update.
    /// Values of other element kinds cannot get near it: float32 stops at 3.4 × 10^38.
    static let maximumFloat64Magnitude = 1e288

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

    /// Creates zero sums for tensors of the given names, element types and shapes, in that order.
    package convenience init(tensors: [(name: String, dtype: TensorDType, shape: [Int])]) {
        self.init(layouts: tensors.map { TensorLayout(name: $0.name, kind: ElementKind($0.dtype), shape: $0.shape) })
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
        let weights = batch.map(\.weight)
        for (tensorIndex, layout) in layouts.enumerated() {
            Self.withTensorBytes(of: batch, named: layout.name, collected: []) { sources in
                foldTensor(tensorIndex, sources: sources, weights: weights)
            }
        }
        record(weights)
    }

    /// Adds `weights[u] × updates[u]`, where `updates[u][t]` holds the raw little-endian bytes of tensor `t`
    /// of update `u`, in the order of the tensors given at creation.
    ///
    /// - Precondition: each update has one buffer per tensor, of exactly that tensor's byte count.
    package func fold(rawTensors updates: [[UnsafeRawBufferPointer]], weights: [Double]) {
        precondition(updates.count == weights.count, "\(updates.count) updates but \(weights.count) weights")
        for update in updates {
            precondition(update.count == layouts.count, "an update has \(update.count) tensors, expected \(layouts.count)")
        }
        for tensorIndex in layouts.indices {
            foldTensor(tensorIndex, sources: updates.map { $0[tensorIndex] }, weights: weights)
        }
        record(weights)
    }

    func record(_ weights: [Double]) {
        for weight in weights {
            totalWeight += weight
        }
        foldedCount += weights.count
    }

    /// Calls `body` with the bytes of the tensor `name` of every update of `batch`, in batch order; the
    /// recursion keeps each buffer inside the `withTensorBytes` call that lends it.
    private static func withTensorBytes(
        of batch: [(tensors: any ModelTensors, weight: Double)], named name: String,
        collected: [UnsafeRawBufferPointer], _ body: ([UnsafeRawBufferPointer]) -> Void
    ) {
        guard collected.count < batch.count else { return body(collected) }
        batch[collected.count].tensors.withTensorBytes(named: name) { bytes in
            withTensorBytes(of: batch, named: name, collected: collected + [bytes], body)
        }
    }

    /// Folds one tensor of every update block by block, so each block of sums stays in cache for the batch.
    private func foldTensor(_ tensorIndex: Int, sources: [UnsafeRawBufferPointer], weights: [Double]) {
        let layout = layouts[tensorIndex]
        let elementSize = layout.kind.byteCount
        for source in sources {
            precondition(source.count == layout.byteCount, "tensor \(layout.name) has \(source.count) bytes, expected \(layout.byteCount)")
        }
        var slices = sources
        var start = 0
        while start < layout.elementCount {
            let count = min(Self.blockElements, layout.elementCount - start)
            let block = UnsafeMutableBufferPointer(rebasing: sums[(offsets[tensorIndex] + start)...].prefix(count))
            let byteRange = (start * elementSize)..<((start + count) * elementSize)
            for index in sources.indices {
                slices[index] = UnsafeRawBufferPointer(rebasing: sources[index][byteRange])
            }
            ElementKernels.fold(slices, weights: weights, kind: layout.kind, into: block)
            start += count
        }
    }

    /// Adds `weights[u] × sources[u]` to the sums of tensor `tensorIndex` from element `start` on, where each
    /// source holds the raw bytes of `count` elements; the caller records the weights once per update with
    /// `record(_:)` after the last block.
    func foldBlock(tensorIndex: Int, start: Int, count: Int, sources: [UnsafeRawBufferPointer], weights: [Double]) {
        let layout = layouts[tensorIndex]
        precondition(start >= 0 && count >= 0 && start + count <= layout.elementCount, "block outside \(layout.name)")
        let block = UnsafeMutableBufferPointer(rebasing: sums[(offsets[tensorIndex] + start)...].prefix(count))
        ElementKernels.fold(sources, weights: weights, kind: layout.kind, into: block)
    }

    /// Returns the first tensor whose sums hold NaN or infinity, or nil when every sum is finite.
    func firstNonFiniteSum() -> String? {
        for (index, layout) in layouts.enumerated() {
            let tensorSums = UnsafeBufferPointer(rebasing: sums[offsets[index]..<(offsets[index] + layout.elementCount)])
            let finite = TensorDType.float64.allFinite(UnsafeRawBufferPointer(tensorSums))
            if !finite { return layout.name }
        }
        return nil
    }

    /// Returns the weighted mean of every tensor, encoded in its own element kind, in layout order.
    package func mean() -> [[UInt8]] {
        layouts.indices.map(mean(tensorIndex:))
    }

    /// Returns the weighted mean of one tensor, encoded in its own element kind.
    func mean(tensorIndex: Int) -> [UInt8] {
        mean(tensorIndex: tensorIndex, elements: 0..<layouts[tensorIndex].elementCount)
    }

    /// Returns the weighted mean of a range of one tensor's elements, encoded in its own element kind.
    func mean(tensorIndex: Int, elements: Range<Int>) -> [UInt8] {
        precondition(totalWeight > 0, "mean of an accumulator with no weight")
        let layout = layouts[tensorIndex]
        precondition(elements.lowerBound >= 0 && elements.upperBound <= layout.elementCount, "range outside \(layout.name)")
        var bytes = [UInt8](repeating: 0, count: elements.count * layout.kind.byteCount)
        let start = offsets[tensorIndex] + elements.lowerBound
        let tensorSums = UnsafeBufferPointer(rebasing: sums[start..<(start + elements.count)])
        bytes.withUnsafeMutableBytes { target in
            ElementKernels.writeMean(tensorSums, totalWeight: totalWeight, kind: layout.kind, into: target)
        }
        return bytes
    }
}
