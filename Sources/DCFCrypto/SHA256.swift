// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// A SHA-256 digest: 32 bytes.
public struct SHA256Digest: Sendable, Hashable, CustomStringConvertible {
    /// Length of a digest in bytes.
    public static let byteCount = 32

    /// The 32 digest bytes.
    public let bytes: [UInt8]

    init(bytes: [UInt8]) {
        precondition(bytes.count == Self.byteCount, "SHA-256 digest must be 32 bytes, got \(bytes.count)")
        self.bytes = bytes
    }

    /// The digest as 64 lowercase hexadecimal digits.
    public var hexString: String { Hex.encode(bytes) }

    public var description: String { hexString }
}

/// One-shot SHA-256 (FIPS 180-4) through OpenSSL.
public enum SHA256 {
    /// Returns the SHA-256 digest of `data`.
    ///
    /// - Throws: `CryptoError` if OpenSSL fails, which happens only when it is out of memory or misconfigured.
    public static func hash(_ data: some ContiguousBytes) throws -> SHA256Digest {
        let hasher = try SHA256Hasher()
        try hasher.update(data)
        return try hasher.finalize()
    }
}
