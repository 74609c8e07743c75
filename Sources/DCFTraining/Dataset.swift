// SPDX-License-Identifier: Apache-2.0

/// Labeled examples held in memory: one row of Float features and one class label per example.
///
/// Copies share storage until one is changed, so passing a dataset around does not copy its features.
public struct Dataset: Sendable {
    /// The features of every example, example after example, `featureCount` values each.
    public let features: [Float]
    /// The class of every example, each in `0..<classCount`.
    public let labels: [Int]
    /// The number of features of one example, such as 784 for a 28×28 image.
    public let featureCount: Int
    /// The number of classes a label can name.
    public let classCount: Int

    /// The number of examples.
    public var count: Int { labels.count }

    /// Creates a dataset after checking that the arrays fit together.
    ///
    /// - Throws: `DatasetError` when `featureCount` or `classCount` is not positive, when `features` does not
    ///   hold `featureCount` values per label, or when a label is outside `0..<classCount`.
    public init(features: [Float], labels: [Int], featureCount: Int, classCount: Int) throws {
        guard featureCount > 0 else {
            throw DatasetError.invalidDataset("featureCount is \(featureCount), not positive")
        }
        guard classCount > 0 else { throw DatasetError.invalidDataset("classCount is \(classCount), not positive") }
        guard features.count == labels.count * featureCount else {
            throw DatasetError.invalidDataset(
                "\(features.count) feature values for \(labels.count) labels of \(featureCount) features each"
            )
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classCount }) {
            throw DatasetError.invalidDataset("label \(labels[bad]) of example \(bad) is outside 0..<\(classCount)")
        }
        self.init(unchecked: features, labels: labels, featureCount: featureCount, classCount: classCount)
    }

    init(unchecked features: [Float], labels: [Int], featureCount: Int, classCount: Int) {
        self.features = features
        self.labels = labels
        self.featureCount = featureCount
        self.classCount = classCount
    }

    /// Returns the examples at `positions`, in that order, as a new dataset.
    ///
    /// - Precondition: every position is in `0..<count`.
    public func subset(_ positions: some Collection<Int>) -> Dataset {
        let width = featureCount
        var selectedLabels = [Int]()
        selectedLabels.reserveCapacity(positions.count)
        let selectedFeatures = [Float](unsafeUninitializedCapacity: positions.count * width) { buffer, initialized in
            features.withUnsafeBufferPointer { source in
                for (row, position) in positions.enumerated() {
                    precondition(position >= 0 && position < count, "position \(position) outside 0..<\(count)")
                    let destination = buffer.baseAddress! + row * width
                    destination.initialize(from: source.baseAddress! + position * width, count: width)
                    selectedLabels.append(labels[position])
                }
            }
            initialized = positions.count * width
        }
        return Dataset(
            unchecked: selectedFeatures, labels: selectedLabels, featureCount: featureCount, classCount: classCount
        )
    }

    /// Returns the number of examples of each class, indexed by class.
    public func classCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for label in labels { counts[label] += 1 }
        return counts
    }
}
