// SPDX-License-Identifier: Apache-2.0

extension SafeTensorsError {
    static func gap(_ name: String, begin: Int, after previous: TensorInfo?) -> Self {
        let before =
            previous.map { "tensor \"\($0.name)\" ends at byte \($0.dataOffsets.upperBound)" }
            ?? "the data section starts at byte 0"
        return Self(
            .gap, "tensor \"\(name)\" starts at byte \(begin), but \(before); no tensor covers the bytes between")
    }

    static func overlap(_ name: String, begin: Int, previous: TensorInfo) -> Self {
        Self(
            .overlap,
            "tensor \"\(name)\" starts at byte \(begin), inside tensor \"\(previous.name)\" "
                + "(bytes \(previous.dataOffsets.lowerBound)..<\(previous.dataOffsets.upperBound))")
    }

    static func tensorOutOfBounds(_ name: String, end: Int, dataSize: Int) -> Self {
        Self(.tensorOutOfBounds, "tensor \"\(name)\" ends at byte \(end), past the data section of \(dataSize) bytes")
    }

    static func trailingBytes(lastEnd: Int, dataSize: Int) -> Self {
        Self(
            .trailingBytes,
            "the last tensor ends at byte \(lastEnd), but the data section has \(dataSize) bytes; "
                + "\(dataSize - lastEnd) trailing bytes belong to no tensor")
    }

    static func invalidMetadata(_ reason: String) -> Self {
        Self(.invalidMetadata, "__metadata__ is invalid: \(reason)")
    }

    static func duplicateTensorName(_ name: String) -> Self {
        Self(.duplicateTensorName, "tensor \"\(name)\" was added twice; tensor names must be unique")
    }

    static func invalidTensorName(_ name: String) -> Self {
        Self(.invalidTensorName, "tensor name \"\(name)\" is invalid: names must be non-empty and not __metadata__")
    }

    static func unsupportedConversion(_ name: String, dtype: TensorDType, target: String) -> Self {
        Self(.unsupportedConversion, "tensor \"\(name)\" has dtype \(dtype), which cannot be read as \(target)")
    }
}
