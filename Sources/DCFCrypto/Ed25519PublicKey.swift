// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// An Ed25519 public key (RFC 8032), which identifies a worker and verifies its signatures.
///
/// Two keys are equal when their 32 raw bytes are equal.
public struct Ed25519PublicKey: Sendable, Hashable, CustomStringConvertible {
    /// Length of a raw public key in bytes.
    public static let byteCount = 32
    /// Length of an Ed25519 signature in bytes.
    public static let signatureByteCount = 64

    /// The 32 raw key bytes.
    public let rawRepresentation: [UInt8]
    private let key: EVPKey

    /// Creates a key from its 32 raw bytes.
    ///
    /// - Throws: `CryptoError` if the length is not 32 or OpenSSL rejects the bytes.
    public init(rawRepresentation: some ContiguousBytes) throws {
        let bytes = rawRepresentation.withUnsafeBytes { Array($0) }
        guard bytes.count == Self.byteCount else {
            throw CryptoError.invalidKey("Ed25519 public key must be \(Self.byteCount) bytes, got \(bytes.count)")
        }
        key = try bytes.withUnsafeBytes { raw in try EVPKey.ed25519Public(raw: raw) }
        self.rawRepresentation = bytes
    }

    /// Creates a key from 64 hexadecimal digits; surrounding whitespace is ignored.
    ///
    /// - Throws: `CryptoError` if the string is not 64 hexadecimal digits.
    public init(hex: String) throws {
        let trimmed = hex.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count == Self.byteCount * 2 else {
            throw CryptoError.invalidKey(
                "Ed25519 public key must be \(Self.byteCount * 2) hex digits, got \(trimmed.utf8.count)")
        }
        try self.init(rawRepresentation: Hex.decode(trimmed))
    }

    init(key: EVPKey) throws {
        self.key = key
        self.rawRepresentation = try key.rawPublicKey()
    }

    /// The key as 64 lowercase hexadecimal digits, the form used in `.pub` files and worker lists.
    public var hexString: String { Hex.encode(rawRepresentation) }

    public var description: String { hexString }

    /// Returns whether `signature` is a valid Ed25519 signature of `message` by this key.
    ///
    /// A signature of the wrong length, a tampered message, or an internal OpenSSL failure all return false.
    public func isValidSignature(_ signature: some ContiguousBytes, for message: some ContiguousBytes) -> Bool {
        signature.withUnsafeBytes { signatureBytes in
            guard signatureBytes.count == Self.signatureByteCount else { return false }
            return message.withUnsafeBytes { messageBytes in
                (try? key.verify(signature: signatureBytes, message: messageBytes)) ?? false
            }
        }
    }

    public static func == (lhs: Ed25519PublicKey, rhs: Ed25519PublicKey) -> Bool {
        lhs.rawRepresentation == rhs.rawRepresentation
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(rawRepresentation)
    }
}
