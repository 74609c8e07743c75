// SPDX-License-Identifier: Apache-2.0
import Foundation

/// An invalid safetensors file, or a tensor that cannot be written or converted as requested.
///
/// `code` identifies the rule that failed; `description` names the tensor and the values involved.
public struct SafeTensorsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The rule that failed. New codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        public var description: String { name }

        /// The file is shorter than the 8-byte header length.
        public static let fileTooShort = Code("fileTooShort")
        /// The header length exceeds the configured maximum.
        public static let headerTooLarge = Code("headerTooLarge")
        /// The header length points past the end of the file.
        public static let headerOutOfBounds = Code("headerOutOfBounds")
        /// The header is not UTF-8 JSON text containing an object.
        public static let invalidHeader = Code("invalidHeader")
        /// A tensor entry lacks `dtype`, `shape` or `data_offsets`, or one of them has the wrong JSON type.
        public static let invalidTensorEntry = Code("invalidTensorEntry")
        /// A tensor's dtype is not one of the supported types.
        public static let unknownDType = Code("unknownDType")
        /// A tensor's shape has a negative dimension, or its byte count overflows.
        public static let invalidShape = Code("invalidShape")
        /// A tensor's `data_offsets` is not two numbers with begin <= end.
        public static let invalidOffsets = Code("invalidOffsets")
        /// A tensor's byte count differs from its element count times the dtype size.
        public static let sizeMismatch = Code("sizeMismatch")
        /// Bytes between two tensors, or before the first, belong to no tensor.
        public static let gap = Code("gap")
        /// Two tensors' byte ranges overlap.
        public static let overlap = Code("overlap")
        /// A tensor ends past the end of the file.
        public static let tensorOutOfBounds = Code("tensorOutOfBounds")
        /// Bytes follow the last tensor.
        public static let trailingBytes = Code("trailingBytes")
        /// `__metadata__` is not an object whose values are strings.
        public static let invalidMetadata = Code("invalidMetadata")
        /// Two tensors given to the writer have the same name.
        public static let duplicateTensorName = Code("duplicateTensorName")
        /// A tensor name given to the writer is empty or `__metadata__`.
        public static let invalidTensorName = Code("invalidTensorName")
        /// A tensor's dtype cannot be converted to the requested Swift type.
        public static let unsupportedConversion = Code("unsupportedConversion")
    }

    /// The rule that failed.
    public let code: Code
    /// A readable explanation naming the tensor and the values involved.
    public let description: String

    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

extension SafeTensorsError {
    static func fileTooShort(size: Int) -> Self {
        Self(.fileTooShort, "safetensors file is \(size) bytes, shorter than the 8-byte header length")
    }

    /// `file` is the start of the file, from which the message names a model format other than safetensors.
    static func headerTooLarge(size: UInt64, limit: Int, file: Data) -> Self {
        Self(
            .headerTooLarge,
            appendingFormatHint(
                "safetensors header is \(size) bytes, more than the maximum of \(limit) bytes; the file is not a "
                    + "safetensors file, or its header is larger than this reader accepts", file: file))
    }

    static func headerOutOfBounds(size: Int, fileSize: Int, file: Data) -> Self {
        Self(
            .headerOutOfBounds,
            appendingFormatHint(
                "safetensors header length \(size) needs at least \(size + 8) bytes, but the file is \(fileSize) bytes",
                file: file))
    }

    private static func appendingFormatHint(_ message: String, file: Data) -> String {
        guard let hint = ForeignModelFormat.hint(for: file) else { return message }
        return message + ". " + hint
    }

    static func invalidHeader(_ reason: String) -> Self {
        Self(.invalidHeader, "safetensors header is invalid: \(reason)")
    }

    static func invalidTensorEntry(_ name: String, _ reason: String) -> Self {
        Self(.invalidTensorEntry, "tensor \"\(name)\" has an invalid header entry: \(reason)")
    }

    static func unknownDType(_ name: String, _ dtype: String) -> Self {
        let known = TensorDType.allCases.map(\.rawValue).joined(separator: ", ")
        return Self(.unknownDType, "tensor \"\(name)\" has unsupported dtype \"\(dtype)\"; supported: \(known)")
    }

    static func invalidShape(_ name: String, _ shape: [Int]) -> Self {
        Self(
            .invalidShape,
            "tensor \"\(name)\" has invalid shape \(shape): a dimension is negative or the size overflows")
    }

    static func invalidOffsets(_ name: String, _ offsets: [Int]) -> Self {
        Self(
            .invalidOffsets,
            "tensor \"\(name)\" has invalid data_offsets \(offsets); expected [begin, end] with begin <= end")
    }

    static func sizeMismatch(_ name: String, dtype: TensorDType, shape: [Int], expected: Int, actual: Int) -> Self {
        Self(
            .sizeMismatch,
            "tensor \"\(name)\" with dtype \(dtype) and shape \(shape) needs \(expected) bytes, "
                + "but has \(actual) bytes")
    }
}
