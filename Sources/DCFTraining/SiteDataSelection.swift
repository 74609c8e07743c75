// SPDX-License-Identifier: Apache-2.0

/// Which part of a dataset one site trains and evaluates on.
///
/// The steps run in this order: keep only `classes` (when set), take IID shard `shardIndex` of `shardCount`,
/// cap the shard at `maxExamples`, then set the held-out part aside as `heldOut` specifies.
public struct SiteDataSelection: Sendable, Equatable {
    /// The source of the examples for local evaluation.
    public enum HeldOut: Sendable, Equatable {
        /// A seeded random fraction of the site's shard, excluded from training.
        case fractionOfShard(Double)
        /// The dataset's test split, filtered to the same classes and capped at `maxExamples`.
        case testSplit
    }

    /// This site's shard, in `0..<shardCount`.
    public var shardIndex: Int = 0
    /// The number of IID shards the (class-filtered) training split is cut into.
    public var shardCount: Int = 1
    /// The classes whose examples this site uses, or nil for every class.
    public var classes: Set<Int>?
    /// The seed of the shard shuffle and of the held-out split; every site of a federation uses the same one.
    public var seed: UInt64 = 0
    /// The maximum number of examples of the shard (training plus held-out), for quick runs; nil for no cap.
    public var maxExamples: Int?
    /// The source of the held-out examples.
    public var heldOut: HeldOut = .fractionOfShard(0.1)

    /// Creates a selection of the whole training split with a tenth held out.
    public init() {}
}

/// The examples of one site: the part it trains on and the part it evaluates on.
public struct SiteData: Sendable {
    /// The examples the site trains on.
    public var training: Dataset
    /// The examples the site evaluates on; never part of `training`.
    public var heldOut: Dataset
}

extension SiteDataSelection {
    /// Applies the selection to a training split and, for `.testSplit`, a test split.
    ///
    /// - Throws: `DatasetError` when a field is out of range or `heldOut` is `.testSplit` but `test` is nil.
    public func apply(train: Dataset, test: Dataset?) throws -> SiteData {
        if let maxExamples, maxExamples < 2 {
            throw DatasetError.invalidSelection("maxExamples is \(maxExamples); use at least 2")
        }
        let classFiltered = try classes.map { try train.filtered(toClasses: $0) } ?? train
        var shard = try classFiltered.shard(index: shardIndex, of: shardCount, seed: seed)
        if let maxExamples { shard = shard.prefix(maxExamples) }
        guard shard.count > 0 else {
            throw DatasetError.invalidSelection(
                "shard \(shardIndex) of \(shardCount) is empty; use fewer shards or more classes"
            )
        }
        switch heldOut {
        case .fractionOfShard(let fraction):
            // Offset the seed so the held-out draw is not the same permutation as the shard draw.
            let parts = try shard.splitHeldOut(fraction: fraction, seed: seed &+ 1)
            return SiteData(training: parts.training, heldOut: parts.heldOut)
        case .testSplit:
            guard let test else {
                throw DatasetError.invalidSelection(
                    "the held-out source is the test split, but no test split was loaded"
                )
            }
            var heldOut = try classes.map { try test.filtered(toClasses: $0) } ?? test
            if let maxExamples { heldOut = heldOut.prefix(maxExamples) }
            return SiteData(training: shard, heldOut: heldOut)
        }
    }

    /// Loads Fashion-MNIST from `directory` and applies the selection.
    ///
    /// - Throws: `DatasetError` when a file is missing or invalid or a field is out of range.
    public func loadFashionMNIST(directory: String = FashionMNIST.defaultDirectory) throws -> SiteData {
        let train = try FashionMNIST.load(.train, directory: directory)
        let test = heldOut == .testSplit ? try FashionMNIST.load(.test, directory: directory) : nil
        return try apply(train: train, test: test)
    }
}
