// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Reader of the Fashion-MNIST dataset: 28×28 grayscale images of clothing in 10 classes.
///
/// The files are the original gzip IDX files, as Debian's `dataset-fashion-mnist` package installs them.
public enum FashionMNIST {
    /// One of the two parts the dataset ships as.
    public enum Split: String, Sendable, CaseIterable {
        /// The 60,000 training images.
        case train
        /// The 10,000 test images, file prefix `t10k`.
        case test

        var filePrefix: String { self == .train ? "train" : "t10k" }
    }

    /// The directory Debian's `dataset-fashion-mnist` package installs the files into.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    /// The number of pixels of one image.
    public static let featureCount = 28 * 28
    /// The number of classes.
    public static let classCount = 10

    /// Loads a split from `directory`, with pixels scaled to `[0, 1]`.
    ///
    /// Each file is looked up as `<name>.gz` first, then uncompressed as `<name>`.
    ///
    /// - Parameter maxExamples: when set, only the first `maxExamples` images are converted to Float.
    /// - Throws: `DatasetError` naming the file when a file is missing or invalid, or when the image and
    ///   label files disagree on the number of examples.
    public static func load(
        _ split: Split, directory: String = defaultDirectory, maxExamples: Int? = nil
    ) throws -> Dataset {
        let imagesPath = try locate("\(split.filePrefix)-images-idx3-ubyte", in: directory)
        let labelsPath = try locate("\(split.filePrefix)-labels-idx1-ubyte", in: directory)
        let images = try IDXArray.read(path: imagesPath, dimensionCount: 3)
        let labels = try IDXArray.read(path: labelsPath, dimensionCount: 1)
        guard images.dimensions[1] == 28 && images.dimensions[2] == 28 else {
            let size = "\(images.dimensions[1])×\(images.dimensions[2])"
            throw DatasetError.invalidFile(imagesPath, "images are \(size), not 28×28")
        }
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw DatasetError.mismatchedFiles(
                imagesPath, labelsPath, imageCount: images.dimensions[0], labelCount: labels.dimensions[0]
            )
        }
        let count = min(images.dimensions[0], max(maxExamples ?? .max, 0))
        let features = scaledPixels(images.bytes, count: count * featureCount)
        let classes = labels.bytes.prefix(count).map { Int($0) }
        do {
            return try Dataset(features: features, labels: classes, featureCount: featureCount, classCount: classCount)
        } catch let error as DatasetError {
            throw DatasetError.invalidFile(labelsPath, error.description)
        }
    }

    /// Converts the first `count` pixels to Float in `[0, 1]`, with a plain loop that is fast in debug builds too.
    private static func scaledPixels(_ pixels: [UInt8], count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            pixels.withUnsafeBufferPointer { source in
                for index in 0..<count { buffer[index] = Float(source[index]) / 255 }
            }
            initialized = count
        }
    }

    private static func locate(_ name: String, in directory: String) throws -> String {
        let base = URL(fileURLWithPath: directory).appendingPathComponent(name).path
        for candidate in [base + ".gz", base] where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        throw DatasetError.unreadableFile(
            base + ".gz",
            "no such file; install Debian's dataset-fashion-mnist package or pass the directory that holds the files"
        )
    }
}
