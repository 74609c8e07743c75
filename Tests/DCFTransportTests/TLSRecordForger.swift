// SPDX-License-Identifier: Apache-2.0
import COpenSSL
import Foundation
import Synchronization
@testable import DCFTransport

/// Traffic secrets of test sessions, caught by a key-log callback that a test installs on a client context.
enum CapturedSecrets {
    private static let store = Mutex<[Int: [String: [UInt8]]]>([:])

    /// Makes every session of `context` record its secrets here; replaces dcf's own callback on that context.
    static func install(on context: TLSContext) {
        SSL_CTX_set_keylog_callback(context.pointer) { ssl, line in
            guard let ssl, let line else { return }
            let fields = String(cString: line).split(separator: " ")
            guard fields.count == 3 else { return }
            let hex = Array(fields[2].utf8)
            var secret = [UInt8]()
            var index = 0
            while index + 1 < hex.count {
                secret.append(UInt8(String(decoding: hex[index...index + 1], as: UTF8.self), radix: 16) ?? 0)
                index += 2
            }
            let label = String(fields[0])
            CapturedSecrets.store.withLock { $0[Int(bitPattern: ssl), default: [:]][label] = secret }
        }
    }

    /// Returns the secret that OpenSSL logged under `label` for `ssl`.
    static func secret(_ label: String, of ssl: OpaquePointer) -> [UInt8]? {
        store.withLock { $0[Int(bitPattern: ssl)]?[label] }
    }
}

/// A sealer of TLS 1.3 records as a peer sends them, with any content type, padding or length field, so tests
/// can send records that neither OpenSSL nor dcf's sealing produce.
final class RecordForger {
    let suite: TLSRecordSuite
    private var secret: [UInt8]
    private var key: [UInt8] = []
    private var iv: [UInt8] = []
    private(set) var sequence: UInt64 = 0

    init(suite: TLSRecordSuite, secret: [UInt8]) throws {
        self.suite = suite
        self.secret = secret
        try installKeys()
    }

    /// Moves to the next traffic secret, as after sending KeyUpdate.
    func updateKey() throws {
        secret = try TLSRecordCipher.expandLabel(secret: secret, label: "traffic upd", length: suite.secretLength, suite: suite)
        try installKeys()
    }

    private func installKeys() throws {
        key = try TLSRecordCipher.expandLabel(secret: secret, label: "key", length: suite.keyLength, suite: suite)
        iv = try TLSRecordCipher.expandLabel(secret: secret, label: "iv", length: 12, suite: suite)
        sequence = 0
    }

    /// Returns one protected record: content, then the inner content type, then `padding` zero bytes, sealed
    /// under a header of type 23 whose length field is `declaredLength` when given.
    func record(_ content: [UInt8], type: UInt8, padding: Int = 0, declaredLength: Int? = nil) -> [UInt8] {
        let inner = content + [type] + [UInt8](repeating: 0, count: padding)
        let payload = inner.count + TLSRecordCipher.tagLength
        let length = declaredLength ?? payload
        let header: [UInt8] = [23, 3, 3, UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
        var nonce = iv
        for index in 0..<8 { nonce[4 + index] ^= UInt8(truncatingIfNeeded: sequence >> (56 - 8 * UInt64(index))) }
        sequence += 1
        let context = EVP_CIPHER_CTX_new()
        defer { EVP_CIPHER_CTX_free(context) }
        var output = [UInt8](repeating: 0, count: payload)
        var written: Int32 = 0
        precondition(EVP_EncryptInit_ex(context, suite.cipher, nil, key, nonce) == 1)
        precondition(EVP_EncryptUpdate(context, nil, &written, header, Int32(header.count)) == 1)
        precondition(EVP_EncryptUpdate(context, &output, &written, inner, Int32(inner.count)) == 1)
        var final: Int32 = 0
        output.withUnsafeMutableBufferPointer { buffer in
            precondition(EVP_EncryptFinal_ex(context, buffer.baseAddress! + Int(written), &final) == 1)
            let tag = buffer.baseAddress! + inner.count
            precondition(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(TLSRecordCipher.tagLength), tag) == 1)
        }
        return header + output
    }
}

/// Sends every byte of `bytes` on the non-blocking socket `fd`; the socket pair's buffer must hold them.
func sendAll(_ bytes: [UInt8], on fd: Int32) {
    let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    precondition(sent == bytes.count, "the socket took \(sent) of \(bytes.count) bytes")
}

/// Reads from `session` with a buffer of `bufferSize` bytes until a read returns something other than data.
func readUntilStop(_ session: TLSSession, bufferSize: Int = 20_000) -> (bytes: [UInt8], stop: TLSIOResult) {
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: bufferSize)
    for _ in 0..<100_000 {
        let result = buffer.withUnsafeMutableBytes { session.read(into: $0) }
        guard case .done(let count) = result, count > 0 else { return (received, result) }
        received += buffer.prefix(count)
    }
    return (received, .wantRead)
}
