// SPDX-License-Identifier: Apache-2.0
internal import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's generator.
public enum SecureRandom {
    /// Returns `count` random bytes.
    ///
    /// - Throws: `CryptoError` if OpenSSL's generator is not seeded or fails.
    public static func bytes(count: Int) throws -> [UInt8] {
        precondition(count >= 0, "SecureRandom.bytes: negative count \(count)")
        var bytes = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return bytes }
        guard RAND_bytes(&bytes, Int32(clamping: count)) == 1 else {
            throw OpenSSLErrorQueue.error("RAND_bytes")
        }
        return bytes
    }
}
