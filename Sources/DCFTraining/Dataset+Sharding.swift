// SPDX-License-Identifier: Apache-2.0

extension Dataset {
    /// Returns the positions of shard `index` of `count` equal parts of a seeded shuffle of this dataset.
    ///
    /// The shards of one seed are disjoint and together hold every example once; their sizes differ by at
    /// most one. Every site that uses the same seed and dataset gets its own part of the same shuffle.
    ///
    /// - Throws: `DatasetError` when `count` is not positive or `index` is outside `0..<count`.
    public func shardPositions(index: Int, of count: Int, seed: UInt64) throws -> [Int] {
        guard count > 0 else { throw DatasetError.invalidSelection("shard count is \(count); use 1 or more") }
        guard index >= 0 && index < count else {
            throw DatasetError.invalidSelection("shard index \(index) is outside 0..<\(count)")
        }
        var order = Array(0..<self.count)
        var generator = SeededGenerator(seed: seed)
        generator.shuffle(&order)
        let start = self.count * index / count
        let end = self.count * (index + 1) / count
        return Array(order[start..<end])
    }

    /// Returns shard `index` of `count` IID shards; see `shardPositions(index:of:seed:)`.
    public func shard(index: Int, of count: Int, seed: UInt64) throws -> Dataset {
        subset(try shardPositions(index: index, of: count, seed: seed))
    }

    /// Returns the examples whose label is in `classes`, in their original order.
    ///
    /// - Throws: `DatasetError` when `classes` is empty or names a class outside `0..<classCount`.
    public func filtered(toClasses classes: Set<Int>) throws -> Dataset {
        guard !classes.isEmpty else { throw DatasetError.invalidSelection("the class list is empty") }
        if let bad = classes.sorted().first(where: { $0 < 0 || $0 >= classCount }) {
            throw DatasetError.invalidSelection("class \(bad) is outside 0..<\(classCount)")
        }
        return subset(labels.indices.filter { classes.contains(labels[$0]) })
    }

    /// Splits a seeded shuffle of this dataset into a training part and a held-out part of
    /// `heldOutFraction` of the examples (rounded down, at least one when the fraction is positive).
    ///
    /// - Throws: `DatasetError` when the fraction is outside `[0, 1)` or would leave no training example.
    public func splitHeldOut(
        fraction heldOutFraction: Double, seed: UInt64
    ) throws -> (training: Dataset, heldOut: Dataset) {
        guard heldOutFraction >= 0 && heldOutFraction < 1 else {
            throw DatasetError.invalidSelection("held-out fraction \(heldOutFraction) is outside [0, 1)")
        }
        var heldOutCount = Int(Double(count) * heldOutFraction)
        if heldOutFraction > 0 { heldOutCount = max(heldOutCount, 1) }
        guard heldOutCount < count else {
            throw DatasetError.invalidSelection(
                "holding out \(heldOutCount) of \(count) examples leaves none for training; lower the fraction"
            )
        }
        var order = Array(0..<count)
        var generator = SeededGenerator(seed: seed)
        generator.shuffle(&order)
        return (subset(order[heldOutCount...]), subset(order[..<heldOutCount]))
    }

    /// Returns the first `maximum` examples, or all of them when there are fewer.
    public func prefix(_ maximum: Int) -> Dataset {
        maximum >= count ? self : subset(0..<max(maximum, 0))
    }
}
