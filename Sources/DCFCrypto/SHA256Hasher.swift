// SPDX-License-Identifier: Apache-2.0
internal import COpenSSL
public import Foundation

/// Incremental SHA-256 over data that arrives in pieces, such as a request body read from a socket.
///
/// The hasher owns one OpenSSL digest context. It is not safe to use from two threads at once.
public final class SHA256Hasher {
    private let context: DigestContext

    /// Creates a hasher holding the digest of the empty input.
    ///
    /// - Throws: `CryptoError` if OpenSSL cannot allocate or initialise the context.
    public init() throws {
        context = try DigestContext()
        try reset()
    }

    /// Feeds the bytes in `buffer` into the digest.
    public func update(_ buffer: UnsafeRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        guard EVP_DigestUpdate(context.pointer, buffer.baseAddress, buffer.count) == 1 else {
            throw OpenSSLErrorQueue.error("EVP_DigestUpdate")
        }
    }

    /// Feeds the bytes of `data` into the digest.
    public func update(_ data: some ContiguousBytes) throws {
        try data.withUnsafeBytes { buffer in try update(buffer) }
    }

    /// Returns the digest of everything fed since creation or the last `finalize()`, and starts over
    /// with the empty input so the hasher can be reused.
    public func finalize() throws -> SHA256Digest {
        var bytes = [UInt8](repeating: 0, count: SHA256Digest.byteCount)
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context.pointer, &bytes, &length) == 1,
            length == SHA256Digest.byteCount
        else {
            throw OpenSSLErrorQueue.error("EVP_DigestFinal_ex")
        }
        try reset()
        return SHA256Digest(bytes: bytes)
    }

    private func reset() throws {
        guard EVP_DigestInit_ex(context.pointer, EVP_sha256(), nil) == 1 else {
            throw OpenSSLErrorQueue.error("EVP_DigestInit_ex")
        }
    }
}
