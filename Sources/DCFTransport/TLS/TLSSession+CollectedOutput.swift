// SPDX-License-Identifier: Apache-2.0
import COpenSSL
import Glibc

/// A session that collects its output (`collectsOutput`): records go to a `TLSOutputBuffer`, and the session
/// sends them in batches of up to `outputBatchSize` bytes, one `send` call for many records.
extension TLSSession {
    /// Encrypted bytes not yet sent; nonzero means the caller must call `flushOutput` once the socket is writable.
    var pendingOutput: Int { output?.count ?? 0 }

    /// Sends collected output: `.done(0)` once all of it is sent, `.wantWrite` while the socket is full.
    func flushOutput() -> TLSIOResult {
        guard let output else { return .done(0) }
        switch output.drain(to: fileDescriptor) {
        case .empty: return .done(0)
        case .blocked: return .wantWrite
        case .closed: return .closed
        case .failed(let code): return .failed(.systemCall("write", errno: code))
        }
    }

    /// Frees the output storage when nothing waits in it; call when the connection goes idle.
    func releaseIdleBuffers() {
        output?.release()
        recordInput?.releaseIfEmpty()
        if pendingOutput == 0 { recordSealer?.releaseContext() }
    }

    func attachCollectingBIOs(_ output: TLSOutputBuffer) throws {
        guard let readBIO = BIO_new_socket(fileDescriptor, BIO_NOCLOSE) else {
            throw TLSError.contextSetup("BIO_new_socket", openSSLErrors: OpenSSLErrorQueue.drain())
        }
        guard let writeBIO = TLSOutputBIO.make(writingTo: output) else {
            BIO_free(readBIO)
            throw TLSError.contextSetup("creating the output BIO", openSSLErrors: OpenSSLErrorQueue.drain())
        }
        // The session owns both BIOs from here on. OpenSSL's read-ahead (one recv for many records) is left
        // off: with SSL_MODE_RELEASE_BUFFERS its larger read buffer is freed and allocated again whenever it
        // empties, and dcf-transport-bench measured uploads no cheaper with it (64 KiB) or dearer (128 KiB).
        SSL_set_bio(ssl, readBIO, writeBIO)
    }

    func handshakeCollected(_ output: TLSOutputBuffer) -> TLSIOResult {
        let earlier = flushOutput()
        guard earlier == .done(0) else { return earlier }
        OpenSSLErrorQueue.clear()
        let status = SSL_do_handshake(ssl)
        if status == 1 { adoptRecordLayer() }
        let result = status == 1 ? TLSIOResult.done(0) : classify(status, operation: "handshake")
        let sent = flushOutput()
        // A session that waits for its first request keeps no output storage.
        if sent == .done(0) { output.release() }
        switch result {
        case .done, .wantRead: return sent == .done(0) ? result : sent
        default: return result
        }
    }

    /// Encrypts from `buffer` until it is used up or a batch is collected, then sends the batch; reports the
    /// bytes taken, which count as written even while part of their records waits for the socket. dcf's own
    /// sealer encrypts when the session has one, OpenSSL otherwise.
    func writeCollected(_ buffer: UnsafeRawBufferPointer, into output: TLSOutputBuffer) -> TLSIOResult {
        // Earlier records go first: encrypting more while they wait would only grow the buffer.
        let earlier = flushOutput()
        guard earlier == .done(0) else { return earlier }
        guard let base = buffer.baseAddress else { return .done(0) }
        let (consumed, failure) =
            if let recordSealer {
                sealBatch(base, count: buffer.count, with: recordSealer, into: output)
            } else {
                encryptBatchWithOpenSSL(base, count: buffer.count, into: output)
            }
        // Bytes taken before a failure count as written; a lasting error shows again on the next call.
        if consumed == 0, let failure { return failure }
        switch flushOutput() {
        case .closed: return .closed
        case .failed(let error): return .failed(error)
        default: return .done(consumed)
        }
    }

    /// Has OpenSSL encrypt up to one batch into `output`; returns the bytes taken and the failure that stopped it.
    private func encryptBatchWithOpenSSL(
        _ base: UnsafeRawPointer, count: Int, into output: TLSOutputBuffer
    ) -> (consumed: Int, failure: TLSIOResult?) {
        var consumed = 0
        OpenSSLErrorQueue.clear()
        while consumed < count, output.count < Self.outputBatchSize {
            let wanted = min(count - consumed, Self.outputBatchSize - output.count)
            var written = 0
            let status = SSL_write_ex(ssl, base + consumed, wanted, &written)
            guard status == 1 else { return (consumed, classify(status, operation: "write")) }
            consumed += written
        }
        return (consumed, nil)
    }
}
