// SPDX-License-Identifier: Apache-2.0

/// An error from compressing or decompressing data.
public struct CompressionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. New codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        public var description: String { name }

        /// Decompressed output would exceed the configured maximum.
        public static let outputLimitExceeded = Code("outputLimitExceeded")
        /// The input is not valid data in the expected coding.
        public static let corruptInput = Code("corruptInput")
        /// The input ends before the compressed stream does.
        public static let truncatedInput = Code("truncatedInput")
        /// Bytes follow the end of the compressed stream.
        public static let trailingInput = Code("trailingInput")
        /// zlib failed for a reason other than the input, such as running out of memory.
        public static let zlibFailure = Code("zlibFailure")
    }

    /// The kind of failure.
    public let code: Code
    /// A readable explanation naming the coding and the values involved.
    public let description: String

    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    static func outputLimitExceeded(_ coding: ContentCoding, limit: Int) -> Self {
        Self(
            .outputLimitExceeded,
            "\(coding) data decompresses to more than the maximum of \(limit) bytes; "
                + "the payload is too large or a decompression bomb")
    }

    static func corruptInput(_ coding: ContentCoding, _ reason: String) -> Self {
        Self(.corruptInput, "\(coding) data is invalid: \(reason)")
    }

    static func truncatedInput(_ coding: ContentCoding, consumed: Int) -> Self {
        Self(.truncatedInput, "\(coding) data is truncated: the stream is incomplete after \(consumed) input bytes")
    }

    static func trailingInput(_ coding: ContentCoding, count: Int) -> Self {
        Self(.trailingInput, "\(coding) data has \(count) unexpected bytes after the end of the compressed stream")
    }

    static func zlibFailure(_ call: String, status: Int32, message: String?) -> Self {
        Self(.zlibFailure, "zlib \(call) failed with status \(status)" + (message.map { ": \($0)" } ?? ""))
    }
}
