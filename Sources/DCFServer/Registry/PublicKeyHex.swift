// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import Foundation

/// Validation of Ed25519 public keys written as hex, the format of dc_federated's key files.
enum PublicKeyHex {
    /// Hex digits in a 32-byte Ed25519 public key.
    static let length = 64

    /// Returns the key lowercased when it is exactly 64 hex digits, after trimming surrounding whitespace.
    static func normalize(_ text: some StringProtocol) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count == length, trimmed.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        return trimmed.lowercased()
    }

    /// Returns why a well-formed key cannot protect a worker, or nil when it can. Such a key is not a curve
    /// point, or is a point of small order with which anyone can forge its signatures.
    static func unusableReason(_ key: String) -> String? {
        Ed25519PublicKey.unusableReason(hex: key)
    }
}
