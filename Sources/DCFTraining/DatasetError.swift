// SPDX-License-Identifier: Apache-2.0

/// An error from reading, building or splitting a dataset.
public struct DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    private enum Code: Equatable, Sendable {
        case unreadableFile, invalidFile, mismatchedFiles, invalidDataset, invalidSelection
    }

    private let code: Code
    /// A readable account of what failed, on which file or value, and what to do.
    public let description: String

    /// Whether a dataset file is missing or cannot be read, as opposed to one whose content is invalid.
    public var isUnreadableFile: Bool { code == .unreadableFile }

    static func unreadableFile(_ path: String, _ reason: String) -> DatasetError {
        DatasetError(code: .unreadableFile, description: "cannot read \(path): \(reason)")
    }

    static func invalidFile(_ path: String, _ reason: String) -> DatasetError {
        DatasetError(code: .invalidFile, description: "\(path) is not a valid IDX file: \(reason)")
    }

    static func mismatchedFiles(_ images: String, _ labels: String, imageCount: Int, labelCount: Int) -> DatasetError {
        DatasetError(
            code: .mismatchedFiles,
            description: "\(images) has \(imageCount) images but \(labels) has \(labelCount) labels; "
                + "use the images and labels of the same split"
        )
    }

    static func invalidDataset(_ reason: String) -> DatasetError {
        DatasetError(code: .invalidDataset, description: "invalid dataset: \(reason)")
    }

    static func invalidSelection(_ reason: String) -> DatasetError {
        DatasetError(code: .invalidSelection, description: "invalid data selection: \(reason)")
    }
}

/// An error from building, loading or training a model.
public struct TrainingError: Error, CustomStringConvertible, Equatable, Sendable {
    private enum Code: Equatable, Sendable {
        case invalidArchitecture, invalidOptions, incompatibleData, invalidTensors, diverged
    }

    private let code: Code
    /// A readable account of what failed, on which value, and what to do.
    public let description: String

    static func invalidArchitecture(_ reason: String) -> TrainingError {
        TrainingError(code: .invalidArchitecture, description: "invalid layer sizes: \(reason)")
    }

    static func invalidOptions(_ reason: String) -> TrainingError {
        TrainingError(code: .invalidOptions, description: "invalid training options: \(reason)")
    }

    static func incompatibleData(_ reason: String) -> TrainingError {
        TrainingError(code: .incompatibleData, description: "dataset does not fit the model: \(reason)")
    }

    static func diverged(epoch: Int, example: Int, learningRate: Float) -> TrainingError {
        TrainingError(
            code: .diverged,
            description: "the loss is not finite at epoch \(epoch), example \(example) with learning rate "
                + "\(learningRate); lower the learning rate"
        )
    }

    static func invalidTensors(_ reason: String) -> TrainingError {
        TrainingError(code: .invalidTensors, description: "invalid model tensors: \(reason)")
    }
}
