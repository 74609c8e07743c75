// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// An Ed25519 private key (RFC 8032), held as its 32-byte seed.
public struct Ed25519PrivateKey: Sendable {
    /// Length of the seed in bytes.
    public static let seedByteCount = 32

    /// The 32-byte seed from which the signing scalar and the public key derive.
    public let seed: [UInt8]
    /// The matching public key.
    public let publicKey: Ed25519PublicKey
    private let key: EVPKey

    /// Creates a key from its 32-byte seed.
    ///
    /// - Throws: `CryptoError` if the seed is not 32 bytes or OpenSSL rejects it.
    public init(seed: some ContiguousBytes) throws {
        let bytes = seed.withUnsafeBytes { Array($0) }
        guard bytes.count == Self.seedByteCount else {
            throw CryptoError.invalidKey(
                "Ed25519 private key seed must be \(Self.seedByteCount) bytes, got \(bytes.count)")
        }
        key = try bytes.withUnsafeBytes { raw in try EVPKey.ed25519Private(seed: raw) }
        publicKey = try Ed25519PublicKey(key: key)
        self.seed = bytes
    }

    /// Creates a new key from a seed drawn from OpenSSL's random generator.
    ///
    /// - Throws: `CryptoError` if the random generator fails.
    public init() throws {
        try self.init(seed: SecureRandom.bytes(count: Self.seedByteCount))
    }

    /// Creates a key from its seed written as 64 hexadecimal digits; surrounding whitespace is ignored.
    public init(seedHex: String) throws {
        let trimmed = seedHex.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count == Self.seedByteCount * 2 else {
            throw CryptoError.invalidKey(
                "Ed25519 private key must be \(Self.seedByteCount * 2) hex digits, got \(trimmed.utf8.count)")
        }
        try self.init(seed: Hex.decode(trimmed))
    }

    /// The seed as 64 lowercase hexadecimal digits, the private key file's content.
    public var seedHex: String { Hex.encode(seed) }

    /// Signs `message` with pure Ed25519 and returns the 64-byte signature.
    ///
    /// Ed25519 signatures are deterministic: the same key and message give the same signature.
    /// - Throws: `CryptoError` if OpenSSL fails.
    public func signature(for message: some ContiguousBytes) throws -> [UInt8] {
        try message.withUnsafeBytes { bytes in try key.sign(bytes) }
    }
}
