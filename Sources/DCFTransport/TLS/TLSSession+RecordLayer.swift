// SPDX-License-Identifier: Apache-2.0
import COpenSSL
import Glibc

/// dcf's own TLS 1.3 record layer: after OpenSSL finishes the handshake, the session opens received records
/// itself (`TLSRecordInput`) and, when it collects its output, seals the records it sends straight from the
/// caller's bytes into the output buffer. OpenSSL copies every byte once more in each direction; `openssl speed`
/// shows that the cipher itself is the same code either way.
///
/// TLS 1.2 sessions, and any session where OpenSSL already keeps received bytes, stay with OpenSSL throughout.
extension TLSSession {
    /// A sealing key is replaced after this many records, far below the AES-GCM limit of RFC 8446, section 5.5.
    static let defaultRecordsPerWriteKey: UInt64 = 1 << 23

    /// Takes over the record layer after a finished handshake, when the configuration selects it and the
    /// connection qualifies; otherwise OpenSSL keeps it. The secrets are wiped either way.
    func adoptRecordLayer() {
        guard let secrets, recordInput == nil else { return }
        defer { secrets.forget() }
        guard SSL_version(ssl) == TLS1_3_VERSION, SSL_has_pending(ssl) == 0,
            let cipher = SSL_get_current_cipher(ssl),
            let suite = TLSRecordSuite(openSSLCipherID: UInt(SSL_CIPHER_get_id(cipher)))
        else { return }
        guard secrets.client != nil, secrets.server != nil else { return }
        let role = context.configuration.role
        do {
            // Each cipher gets the only reference to its secret and wipes it. `forget` wipes the secret that no
            // cipher takes.
            let peer: TLSConfiguration.Role = role == .client ? .server : .client
            let opener = try TLSRecordCipher(suite: suite, secret: secrets.take(sentBy: peer), sealing: false)
            // A session that lets OpenSSL write to the socket keeps OpenSSL's sealing as well.
            let sealer =
                output == nil ? nil : try TLSRecordCipher(suite: suite, secret: secrets.take(sentBy: role), sealing: true)
            recordInput = TLSRecordInput(opener: opener, fileDescriptor: fileDescriptor, isClient: role == .client)
            recordSealer = sealer
        } catch {
            // OpenSSL can still run the connection.
            return
        }
    }

    /// Seals up to one batch of records into `output`; returns the bytes taken and the failure that stopped it.
    func sealBatch(
        _ base: UnsafeRawPointer, count: Int, with sealer: TLSRecordCipher, into output: TLSOutputBuffer
    ) -> (consumed: Int, failure: TLSIOResult?) {
        var consumed = 0
        do {
            while consumed < count, output.count < Self.outputBatchSize {
                let piece = min(count - consumed, TLSRecordCipher.maxPlaintext)
                try seal(UnsafeRawBufferPointer(start: base + consumed, count: piece), type: 23, with: sealer, into: output)
                consumed += piece
            }
        } catch let error as TLSError {
            return (consumed, .failed(error))
        } catch {
            return (consumed, .failed(.recordLayerFailure("write", reason: "\(error)")))
        }
        return (consumed, nil)
    }

    /// Seals one record, after a KeyUpdate of our own when the peer requested one or the current key has sealed
    /// its share of records.
    ///
    /// A requested KeyUpdate waits for the next record, as RFC 8446, section 4.6.3 allows, so a peer that
    /// requests many while it does not read gets one KeyUpdate back instead of a growing queue of them.
    func seal(_ content: UnsafeRawBufferPointer, type: UInt8, with sealer: TLSRecordCipher, into output: TLSOutputBuffer) throws {
        if sealer.sequence >= recordsPerWriteKey || recordInput?.peerRequestedKeyUpdate == true {
            recordInput?.peerRequestedKeyUpdate = false
            try sealKeyUpdate(requested: false, with: sealer, into: output)
        }
        let room = output.reserve(content.count + TLSRecordCipher.overhead)
        output.commit(try sealer.seal(contentType: type, plaintext: content, into: room))
    }

    /// Sends KeyUpdate with the current key, then moves the sealer to the next one.
    private func sealKeyUpdate(requested: Bool, with sealer: TLSRecordCipher, into output: TLSOutputBuffer) throws {
        let message: [UInt8] = [24, 0, 0, 1, requested ? 1 : 0]
        try message.withUnsafeBytes { bytes in
            let room = output.reserve(bytes.count + TLSRecordCipher.overhead)
            output.commit(try sealer.seal(contentType: 22, plaintext: bytes, into: room))
        }
        try sealer.updateKey()
    }

    /// Has OpenSSL, which seals what this session sends, put the KeyUpdate that the peer requested ahead of its
    /// next record. Call only while no write is unfinished: OpenSSL cannot send a KeyUpdate in the middle of a
    /// record, and 3.0.19 rejects the call then. A rejected request stays for the next write.
    func requestKeyUpdateFromOpenSSL() {
        guard let recordInput, recordInput.peerRequestedKeyUpdate, recordSealer == nil else { return }
        if SSL_key_update(ssl, SSL_KEY_UPDATE_NOT_REQUESTED) == 1 {
            recordInput.peerRequestedKeyUpdate = false
        } else {
            OpenSSLErrorQueue.clear()
        }
    }

    /// Queues close_notify sealed with the session's own key, and sends what the socket takes now.
    func sealCloseNotify(with sealer: TLSRecordCipher, into output: TLSOutputBuffer) -> TLSIOResult {
        let alert: [UInt8] = [1, 0]
        do {
            try alert.withUnsafeBytes { try seal($0, type: 21, with: sealer, into: output) }
        } catch let error as TLSError {
            return .failed(error)
        } catch {
            return .failed(.recordLayerFailure("shutdown", reason: "\(error)"))
        }
        _ = output.drain(to: fileDescriptor)
        return .done(0)
    }
}
