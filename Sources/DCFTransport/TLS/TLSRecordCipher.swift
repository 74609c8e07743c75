// SPDX-License-Identifier: Apache-2.0
import COpenSSL
import Glibc

/// The TLS 1.3 cipher suites whose records `TLSRecordCipher` seals and opens.
enum TLSRecordSuite: Sendable, Equatable {
    case aes128GCM
    case aes256GCM
    case chaCha20Poly1305

    /// The suite OpenSSL negotiated, from `SSL_CIPHER_get_id`; nil for any other suite.
    init?(openSSLCipherID id: UInt) {
        switch id & 0xFFFF {
        case 0x1301: self = .aes128GCM
        case 0x1302: self = .aes256GCM
        case 0x1303: self = .chaCha20Poly1305
        default: return nil
        }
    }

    var keyLength: Int { self == .aes128GCM ? 16 : 32 }
    /// The length of a traffic secret: the output length of the suite's hash.
    var secretLength: Int { self == .aes256GCM ? 48 : 32 }

    /// The cipher, fetched from OpenSSL's default provider once per process: passing `EVP_aes_128_gcm()` and
    /// the like to an init call fetches it again on every call.
    var cipher: OpaquePointer? {
        switch self {
        case .aes128GCM: Self.fetchedAES128GCM
        case .aes256GCM: Self.fetchedAES256GCM
        case .chaCha20Poly1305: Self.fetchedChaCha20Poly1305
        }
    }

    // nonisolated(unsafe): fetched once and never changed; OpenSSL allows a fetched cipher in many threads.
    nonisolated(unsafe) private static let fetchedAES128GCM = EVP_CIPHER_fetch(nil, "AES-128-GCM", nil)
    nonisolated(unsafe) private static let fetchedAES256GCM = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)
    nonisolated(unsafe) private static let fetchedChaCha20Poly1305 = EVP_CIPHER_fetch(nil, "ChaCha20-Poly1305", nil)

    var digest: OpaquePointer? { self == .aes256GCM ? EVP_sha384() : EVP_sha256() }
}

/// One direction of a TLS 1.3 connection after the handshake: the AEAD key, the per-record nonce and the
/// record sequence number derived from one traffic secret (RFC 8446, sections 5.2, 5.3 and 7.3).
///
/// A sealing cipher encrypts records for the peer, an opening one decrypts and authenticates the peer's records.
/// OpenSSL's cipher context (about 1 KiB with the AES key schedule and GHASH table) exists only while in use:
/// `releaseContext` frees it, for instance while a long poll is parked, and the next record sets it up again.
/// Not thread-safe: the connection's event loop owns it.
final class TLSRecordCipher {
    static let tagLength = 16
    static let headerLength = 5
    /// The largest plaintext a record carries, content type excluded.
    static let maxPlaintext = 1 << 14
    /// The largest protected payload a peer may send: plaintext, content type, padding and tag.
    static let maxCiphertext = (1 << 14) + 256
    /// Bytes a sealed record adds to its content: header, content type and tag.
    static let overhead = headerLength + 1 + tagLength

    let suite: TLSRecordSuite
    let sealing: Bool
    private var context: OpaquePointer?
    private var secret: [UInt8]
    private var key: [UInt8] = []
    private var iv = [UInt8](repeating: 0, count: 12)
    private var nonce = [UInt8](repeating: 0, count: 12)
    /// The number of records sealed or opened with the current key.
    private(set) var sequence: UInt64 = 0
    /// The number of key updates so far: 0 while the key from the handshake is in use.
    private(set) var generation = 0

    /// Derives the key and IV from `secret`, which the cipher keeps (and wipes on deinit) for key updates.
    init(suite: TLSRecordSuite, secret: consuming [UInt8], sealing: Bool) throws {
        var owned = consume secret
        guard owned.count == suite.secretLength, suite.cipher != nil else {
            wipe(&owned)
            throw TLSError.contextSetup("setting up the record cipher", openSSLErrors: OpenSSLErrorQueue.drain())
        }
        self.suite = suite
        self.sealing = sealing
        self.secret = owned
        try installKeys()
    }

    deinit {
        releaseContext()
        wipe(&secret)
        wipe(&key)
        wipe(&iv)
    }

    /// Frees OpenSSL's cipher context; the next record sets up a new one from the kept key.
    func releaseContext() {
        guard let context else { return }
        EVP_CIPHER_CTX_free(context)
        self.context = nil
    }

    /// Returns the cipher context, set up with the current key.
    private func activeContext() throws -> OpaquePointer {
        if let context { return context }
        guard let created = EVP_CIPHER_CTX_new() else { throw failure("allocating a cipher context") }
        let installed =
            sealing
            ? EVP_EncryptInit_ex(created, suite.cipher, nil, key, nil) == 1
            : EVP_DecryptInit_ex(created, suite.cipher, nil, key, nil) == 1
        guard installed else {
            EVP_CIPHER_CTX_free(created)
            throw failure("installing a record key")
        }
        context = created
        return created
    }

    /// Moves to the next traffic secret after a KeyUpdate message, and starts counting records at zero.
    func updateKey() throws {
        let next = try Self.expandLabel(secret: secret, label: "traffic upd", length: suite.secretLength, suite: suite)
        wipe(&secret)
        secret = next
        try installKeys()
        generation += 1
    }

    /// Seals `plaintext` (at most `maxPlaintext` bytes) as one record of `contentType` and writes the whole
    /// record to `destination`, which must hold `plaintext.count + overhead` bytes. Returns the record's length.
    func seal(contentType: UInt8, plaintext: UnsafeRawBufferPointer, into destination: UnsafeMutableRawPointer) throws -> Int {
        precondition(sealing && plaintext.count <= Self.maxPlaintext)
        let payload = plaintext.count + 1 + Self.tagLength
        let header = destination.assumingMemoryBound(to: UInt8.self)
        header[0] = 23
        header[1] = 3
        header[2] = 3
        header[3] = UInt8(payload >> 8)
        header[4] = UInt8(payload & 0xFF)
        let context = try startRecord(header: UnsafeRawPointer(header))
        var written: Int32 = 0
        let body = header + Self.headerLength
        if let base = plaintext.baseAddress, plaintext.count > 0 {
            guard EVP_EncryptUpdate(context, body, &written, base, Int32(plaintext.count)) == 1 else {
                throw failure("encrypting a record")
            }
        }
        var type = contentType
        var typeWritten: Int32 = 0
        guard EVP_EncryptUpdate(context, body + Int(written), &typeWritten, &type, 1) == 1,
            EVP_EncryptFinal_ex(context, body + Int(written + typeWritten), &typeWritten) == 1,
            EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagLength), body + plaintext.count + 1) == 1
        else {
            throw failure("encrypting a record")
        }
        return Self.headerLength + payload
    }

    /// Authenticates and decrypts one record's payload (`ciphertext`, tag included) into `destination`, which
    /// may be the payload's own first byte and must hold `ciphertext.count - tagLength` bytes.
    ///
    /// Returns the inner content type and the content's length, padding removed. Returns nil when the record
    /// does not authenticate or contains no content type, and `destination` then contains garbage.
    func open(
        header: UnsafeRawPointer, ciphertext: UnsafeRawBufferPointer, into destination: UnsafeMutableRawPointer
    ) throws -> (contentType: UInt8, length: Int)? {
        precondition(!sealing && ciphertext.count >= Self.tagLength)
        let context = try startRecord(header: header)
        let inner = ciphertext.count - Self.tagLength
        let output = destination.assumingMemoryBound(to: UInt8.self)
        var written: Int32 = 0
        if inner > 0 {
            guard EVP_DecryptUpdate(context, output, &written, ciphertext.baseAddress, Int32(inner)) == 1 else {
                throw failure("decrypting a record")
            }
        }
        let tag = UnsafeMutableRawPointer(mutating: ciphertext.baseAddress! + inner)
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(Self.tagLength), tag) == 1 else {
            throw failure("decrypting a record")
        }
        var finalWritten: Int32 = 0
        guard EVP_DecryptFinal_ex(context, output + Int(written), &finalWritten) == 1 else {
            ERR_clear_error()
            return nil
        }
        // The content type is the last byte that is not zero padding.
        var end = inner
        while end > 0, output[end - 1] == 0 { end -= 1 }
        guard end > 0 else { return nil }
        return (output[end - 1], end - 1)
    }

    /// Sets the nonce for the next record, feeds its header as additional data, and returns the context.
    private func startRecord(header: UnsafeRawPointer) throws -> OpaquePointer {
        guard sequence < UInt64.max else { throw TLSError.protocolFailure("record sequence number exhausted", openSSLErrors: []) }
        for index in 0..<4 { nonce[index] = iv[index] }
        for index in 0..<8 {
            nonce[4 + index] = iv[4 + index] ^ UInt8(truncatingIfNeeded: sequence >> (56 - 8 * UInt64(index)))
        }
        sequence += 1
        let context = try activeContext()
        var ignored: Int32 = 0
        let started =
            sealing
            ? EVP_EncryptInit_ex(context, nil, nil, nil, nonce) == 1
                && EVP_EncryptUpdate(context, nil, &ignored, header, Int32(Self.headerLength)) == 1
            : EVP_DecryptInit_ex(context, nil, nil, nil, nonce) == 1
                && EVP_DecryptUpdate(context, nil, &ignored, header, Int32(Self.headerLength)) == 1
        guard started else { throw failure("starting a record") }
        return context
    }

    private func installKeys() throws {
        let newKey = try Self.expandLabel(secret: secret, label: "key", length: suite.keyLength, suite: suite)
        let newIV = try Self.expandLabel(secret: secret, label: "iv", length: 12, suite: suite)
        releaseContext()
        wipe(&key)
        wipe(&iv)
        key = newKey
        iv = newIV
        sequence = 0
    }

    private func failure(_ step: String) -> TLSError {
        .protocolFailure(step, openSSLErrors: OpenSSLErrorQueue.drain())
    }

    /// HKDF-Expand-Label from RFC 8446, section 7.1, with an empty context. Every length used here is at most
    /// the hash's output length, so HKDF-Expand is a single HMAC over the label and the counter byte 1.
    static func expandLabel(secret: [UInt8], label: String, length: Int, suite: TLSRecordSuite) throws -> [UInt8] {
        let fullLabel = Array("tls13 \(label)".utf8)
        precondition(length <= suite.secretLength && fullLabel.count < 256)
        let info: [UInt8] = [UInt8(length >> 8), UInt8(length & 0xFF), UInt8(fullLabel.count)] + fullLabel + [0, 1]
        var output = [UInt8](repeating: 0, count: 64)
        var outputLength: UInt32 = 0
        let done = HMAC(suite.digest, secret, Int32(secret.count), info, info.count, &output, &outputLength)
        guard done != nil, Int(outputLength) >= length else {
            throw TLSError.contextSetup("deriving TLS record keys", openSSLErrors: OpenSSLErrorQueue.drain())
        }
        let result = Array(output[0..<length])
        wipe(&output)
        return result
    }
}

/// Overwrites key material so it does not linger in freed memory.
func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
}
