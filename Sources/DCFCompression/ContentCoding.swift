// SPDX-License-Identifier: Apache-2.0

/// An HTTP content coding (RFC 9110, section 8.4.1) that DCFCompression implements.
public enum ContentCoding: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The zlib format (RFC 1950), which HTTP calls `deflate`.
    case deflate
    /// The gzip format (RFC 1952).
    case gzip

    /// Creates the coding named by a `Content-Encoding` value, ignoring case; nil for any other coding.
    public init?(headerValue: String) {
        self.init(rawValue: headerValue.lowercased())
    }

    public var description: String { rawValue }

    /// The `windowBits` argument that selects this wrapping in zlib: 15 for a 32 KiB window, plus 16 for gzip.
    var windowBits: Int32 {
        switch self {
        case .deflate: 15
        case .gzip: 15 + 16
        }
    }
}

/// A deflate compression level, from 0 (store only) to 9 (smallest output).
public struct CompressionLevel: Sendable, Hashable, CustomStringConvertible {
    /// The zlib level, or -1 for zlib's default (currently level 6).
    let value: Int32

    /// zlib's default trade-off between speed and size.
    public static let `default` = CompressionLevel(value: -1)
    /// Fastest compression (level 1).
    public static let fastest = CompressionLevel(value: 1)
    /// Smallest output (level 9).
    public static let best = CompressionLevel(value: 9)

    private init(value: Int32) {
        self.value = value
    }

    /// Creates a level from 0 to 9; returns nil for any other number.
    public init?(_ level: Int) {
        guard (0...9).contains(level) else { return nil }
        value = Int32(level)
    }

    public var description: String { value < 0 ? "default" : String(value) }
}
