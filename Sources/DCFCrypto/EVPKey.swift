// SPDX-License-Identifier: Apache-2.0
internal import COpenSSL

/// Owner of one Ed25519 `EVP_PKEY`, freed in `deinit`.
///
/// Signing and verification each use a fresh `EVP_MD_CTX`, so the key itself is only read after creation.
// @unchecked Sendable: the EVP_PKEY is only read after init, which OpenSSL 3 allows from several threads at once.
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    private init(pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(pointer)
    }

    /// Creates a private key from a 32-byte seed; the caller checks the length.
    static func ed25519Private(seed: UnsafeRawBufferPointer) throws -> EVPKey {
        let typed = seed.bindMemory(to: UInt8.self)
        guard let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, typed.baseAddress, typed.count) else {
            throw OpenSSLErrorQueue.error("EVP_PKEY_new_raw_private_key")
        }
        return EVPKey(pointer: key)
    }

    /// Creates a public key from 32 raw bytes; the caller checks the length.
    static func ed25519Public(raw: UnsafeRawBufferPointer) throws -> EVPKey {
        let typed = raw.bindMemory(to: UInt8.self)
        guard let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, typed.baseAddress, typed.count) else {
            throw OpenSSLErrorQueue.error("EVP_PKEY_new_raw_public_key")
        }
        return EVPKey(pointer: key)
    }

    /// Returns the raw 32-byte public key.
    func rawPublicKey() throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Ed25519PublicKey.byteCount)
        var length = bytes.count
        guard EVP_PKEY_get_raw_public_key(pointer, &bytes, &length) == 1, length == bytes.count else {
            throw OpenSSLErrorQueue.error("EVP_PKEY_get_raw_public_key")
        }
        return bytes
    }

    /// Signs `message` with pure Ed25519 (no pre-hash), returning the 64-byte signature.
    func sign(_ message: UnsafeRawBufferPointer) throws -> [UInt8] {
        let context = try DigestContext()
        guard EVP_DigestSignInit(context.pointer, nil, nil, nil, pointer) == 1 else {
            throw OpenSSLErrorQueue.error("EVP_DigestSignInit")
        }
        var signature = [UInt8](repeating: 0, count: Ed25519PublicKey.signatureByteCount)
        var length = signature.count
        let status = EVP_DigestSign(
            context.pointer, &signature, &length, message.bindMemory(to: UInt8.self).baseAddress, message.count)
        guard status == 1, length == signature.count else {
            throw OpenSSLErrorQueue.error("EVP_DigestSign")
        }
        return signature
    }

    /// Verifies a pure Ed25519 signature; returns false for a wrong signature and throws only if OpenSSL fails.
    func verify(signature: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) throws -> Bool {
        let context = try DigestContext()
        guard EVP_DigestVerifyInit(context.pointer, nil, nil, nil, pointer) == 1 else {
            throw OpenSSLErrorQueue.error("EVP_DigestVerifyInit")
        }
        let status = EVP_DigestVerify(
            context.pointer,
            signature.bindMemory(to: UInt8.self).baseAddress, signature.count,
            message.bindMemory(to: UInt8.self).baseAddress, message.count)
        // A wrong signature leaves an entry in the queue; clear it so it is not blamed on a later call.
        _ = OpenSSLErrorQueue.drain()
        return status == 1
    }
}

/// Owner of one `EVP_MD_CTX`, freed in `deinit`.
final class DigestContext {
    let pointer: OpaquePointer

    init() throws {
        guard let context = EVP_MD_CTX_new() else {
            throw OpenSSLErrorQueue.error("EVP_MD_CTX_new")
        }
        pointer = context
    }

    deinit {
        EVP_MD_CTX_free(pointer)
    }
}
