// SPDX-License-Identifier: Apache-2.0
import COpenSSL
import Foundation

/// Outcome of one TLS operation on a non-blocking socket.
enum TLSIOResult: Equatable {
    /// The operation finished: bytes moved for read and write, 0 for handshake and shutdown.
    case done(Int)
    /// Call again once the socket is readable.
    case wantRead
    /// Call again once the socket is writable.
    case wantWrite
    /// The peer sent close_notify or closed the connection.
    case closed
    /// The connection cannot be used any more.
    case failed(TLSError)
}

/// One TLS connection over a socket the caller owns (an OpenSSL `SSL`).
///
/// The session never closes the file descriptor. It is not thread-safe: one thread or event loop drives it.
final class TLSSession {
    /// Up to this many encrypted bytes are collected before they are sent, when the session collects output.
    /// A connection whose socket is full holds up to this much, so 1,000 concurrent downloads cost 1,000
    /// times it; 64 KiB used as little CPU as 256 KiB in 100 × 13 MB FedAvg rounds.
    static let outputBatchSize = 64 * 1024

    let ssl: OpaquePointer
    /// Kept alive because the SSL object refers to it.
    let context: TLSContext
    let fileDescriptor: Int32
    /// Encrypted records waiting for the socket, or nil when OpenSSL writes each record to the socket itself.
    let output: TLSOutputBuffer?
    private let expectedHost: String?
    /// Collects the traffic secrets during the handshake, when the configuration selects dcf's record layer.
    let secrets: TLSTrafficSecrets?
    /// Opens received records once the handshake is done, in place of OpenSSL; see `adoptRecordLayer`.
    var recordInput: TLSRecordInput?
    /// Seals sent records once the handshake is done, in place of OpenSSL; only with collected output.
    var recordSealer: TLSRecordCipher?
    /// Records sealed with one key before the session moves to the next; lowered only by tests.
    var recordsPerWriteKey = TLSSession.defaultRecordsPerWriteKey
    /// Whether OpenSSL keeps part of a record from a write that returned `.wantWrite` or `.wantRead`.
    private(set) var openSSLWriteUnfinished = false
    /// Whether OpenSSL's record layer reported close_notify from the peer.
    private var openSSLReceivedCloseNotify = false
    /// Whether OpenSSL's record layer saw the TCP stream end without close_notify. OpenSSL has failed the
    /// connection then, so later reads return `.closed` without calling it.
    private var openSSLEndedWithoutCloseNotify = false

    /// Creates a session for `fileDescriptor`, a connected socket that may be non-blocking.
    ///
    /// - Parameters:
    ///   - serverName: client only: the host sent in SNI and checked against the server certificate;
    ///     `nil` falls back to the context's `serverName`. IP addresses are checked but not sent in SNI.
    ///   - collectsOutput: collect encrypted records in memory and send them in batches of up to
    ///     `outputBatchSize` bytes; the caller must then call `flushOutput` when
    ///     `pendingOutput` is not zero and the socket is writable.
    init(context: TLSContext, fileDescriptor: Int32, serverName: String? = nil, collectsOutput: Bool = false) throws {
        guard let ssl = SSL_new(context.pointer) else {
            throw TLSError.contextSetup("SSL_new", openSSLErrors: OpenSSLErrorQueue.drain())
        }
        self.ssl = ssl
        self.context = context
        self.fileDescriptor = fileDescriptor
        self.output = collectsOutput ? TLSOutputBuffer() : nil
        let configuration = context.configuration
        self.expectedHost = configuration.role == .client ? (serverName ?? configuration.serverName) : nil
        self.secrets = configuration.recordLayer == .dcf ? TLSTrafficSecrets() : nil
        if let secrets, !secrets.attach(to: ssl) {
            SSL_free(ssl)
            throw TLSError.contextSetup("SSL_set_ex_data", openSSLErrors: OpenSSLErrorQueue.drain())
        }
        if let output {
            try attachCollectingBIOs(output)
        } else if SSL_set_fd(ssl, fileDescriptor) != 1 {
            throw TLSError.contextSetup("SSL_set_fd", openSSLErrors: OpenSSLErrorQueue.drain())
        }
        if configuration.role == .client {
            SSL_set_connect_state(ssl)
            try configureHost()
        } else {
            SSL_set_accept_state(ssl)
        }
    }

    deinit {
        SSL_free(ssl)
    }

    private func configureHost() throws {
        guard let host = expectedHost, !host.isEmpty else { return }
        let isAddress = Self.isIPAddress(host)
        if !isAddress {
            guard COpenSSL_SSL_set_tlsext_host_name(ssl, host) == 1 else {
                throw TLSError.contextSetup("setting SNI to '\(host)'", openSSLErrors: OpenSSLErrorQueue.drain())
            }
        }
        guard context.configuration.verifyServerCertificate else { return }
        let checked: Int32 =
            isAddress ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) : SSL_set1_host(ssl, host)
        guard checked == 1 else {
            throw TLSError.contextSetup("setting the expected host '\(host)'", openSSLErrors: OpenSSLErrorQueue.drain())
        }
    }

    private static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// Advances the handshake; `.done(0)` once it is complete.
    func handshake() -> TLSIOResult {
        if let output { return handshakeCollected(output) }
        OpenSSLErrorQueue.clear()
        let status = SSL_do_handshake(ssl)
        if status == 1 {
            adoptRecordLayer()
            return .done(0)
        }
        return classify(status, operation: "handshake")
    }

    /// Reads decrypted bytes into `buffer`; `.done(n)` with n > 0 on success.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSIOResult {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .done(0) }
        if let recordInput { return recordInput.read(into: buffer) }
        if openSSLEndedWithoutCloseNotify { return .closed }
        OpenSSLErrorQueue.clear()
        var count = 0
        let status = SSL_read_ex(ssl, base, buffer.count, &count)
        // A read can produce output (a TLS 1.3 key update answer); send it now if the socket takes it.
        if let output, output.count > 0 { _ = output.drain(to: fileDescriptor) }
        if status == 1 { return .done(count) }
        return classify(status, operation: "read")
    }

    /// Encrypts and sends bytes from `buffer`; `.done(n)` may report fewer bytes than given.
    ///
    /// After `.wantRead` or `.wantWrite`, call again with the same bytes (the buffer itself may move).
    func write(_ buffer: UnsafeRawBufferPointer) -> TLSIOResult {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .done(0) }
        if let output { return writeCollected(buffer, into: output) }
        if !openSSLWriteUnfinished { requestKeyUpdateFromOpenSSL() }
        OpenSSLErrorQueue.clear()
        var count = 0
        let status = SSL_write_ex(ssl, base, buffer.count, &count)
        let result = status == 1 ? TLSIOResult.done(count) : classify(status, operation: "write")
        openSSLWriteUnfinished = result == .wantWrite || result == .wantRead
        return result
    }

    /// Sends close_notify; `.done(0)` once it is sent. Does not wait for the peer's close_notify.
    func shutdown() -> TLSIOResult {
        if let recordSealer, let output { return sealCloseNotify(with: recordSealer, into: output) }
        OpenSSLErrorQueue.clear()
        let status = SSL_shutdown(ssl)
        // close_notify is a courtesy: send it if the socket takes it now.
        if let output { _ = output.drain(to: fileDescriptor) }
        if status >= 0 { return .done(0) }
        return classify(status, operation: "shutdown")
    }

    /// The peer certificate's subject as one line (`/CN=...`), or `nil` when the peer sent none.
    var peerCertificateSubject: String? {
        guard let certificate = SSL_get0_peer_certificate(ssl), let name = X509_get_subject_name(certificate) else {
            return nil
        }
        var buffer = [CChar](repeating: 0, count: 512)
        return buffer.withUnsafeMutableBufferPointer { pointer in
            guard X509_NAME_oneline(name, pointer.baseAddress, Int32(pointer.count)) != nil else { return nil }
            return String(cString: pointer.baseAddress!)
        }
    }

    /// Whether OpenSSL holds received bytes not yet returned by `read`, decrypted or not. Such bytes never make
    /// the socket readable again, so an event loop must keep reading while this is true.
    var hasBufferedInput: Bool {
        recordInput?.hasBufferedInput ?? (SSL_has_pending(ssl) == 1)
    }

    /// Whether an idle connection can take another request: nothing was received since its last response, and
    /// the peer has not ended the stream. dcf's record layer may have read the peer's close_notify, with the
    /// response, off the socket, where a poll of the socket does not see it.
    var isIdleAndOpen: Bool {
        guard let recordInput else { return SSL_has_pending(ssl) == 0 }
        return !recordInput.hasBufferedInput && !recordInput.hasEnded
    }

    /// Whether the peer ended the stream with close_notify. Only that end proves that the peer sent everything
    /// `read` returned, because anyone on the path can end the TCP stream early.
    ///
    /// NOTE: a server session on OpenSSL's record layer (TLS 1.2, or `RecordLayer.openSSL`) reports a bare end
    /// of the TCP stream as close_notify too, because server contexts set `SSL_OP_IGNORE_UNEXPECTED_EOF`.
    var receivedCloseNotify: Bool {
        recordInput?.receivedCloseNotify ?? openSSLReceivedCloseNotify
    }

    /// Whether OpenSSL has decrypted application data that `read` returns at once. A partial record that
    /// waits for the rest of its bytes does not count.
    var hasDecryptedInput: Bool {
        recordInput?.hasDecryptedInput ?? (SSL_pending(ssl) > 0)
    }

    /// The negotiated protocol, such as "TLSv1.3".
    var protocolVersion: String {
        String(cString: SSL_get_version(ssl))
    }

    /// The negotiated cipher suite in OpenSSL's naming, such as "TLS_AES_128_GCM_SHA256"; nil before the handshake.
    var cipherName: String? {
        SSL_get_current_cipher(ssl).map { String(cString: SSL_CIPHER_get_name($0)) }
    }

    func classify(_ status: Int32, operation: String) -> TLSIOResult {
        let savedErrno = errno
        let code = SSL_get_error(ssl, status)
        switch code {
        case SSL_ERROR_WANT_READ:
            return .wantRead
        case SSL_ERROR_WANT_WRITE:
            return .wantWrite
        case SSL_ERROR_ZERO_RETURN:
            openSSLReceivedCloseNotify = true
            return .closed
        case SSL_ERROR_SSL where Self.isUnexpectedEndOfStream(ERR_peek_error()):
            // Client contexts leave SSL_OP_IGNORE_UNEXPECTED_EOF off, so that a TCP end without close_notify
            // arrives here as this error. It still ends the stream, as it does on dcf's record layer.
            OpenSSLErrorQueue.clear()
            openSSLEndedWithoutCloseNotify = true
            return .closed
        case SSL_ERROR_SYSCALL:
            let errors = OpenSSLErrorQueue.drain()
            if errors.isEmpty && (savedErrno == 0 || savedErrno == ECONNRESET || savedErrno == EPIPE) {
                return .closed
            }
            if !errors.isEmpty { return .failed(.protocolFailure(operation, openSSLErrors: errors)) }
            return .failed(.systemCall(operation, errno: savedErrno))
        default:
            return .failed(failure(operation: operation))
        }
    }

    private static func isUnexpectedEndOfStream(_ error: UInt) -> Bool {
        error != 0 && COpenSSL_ERR_GET_REASON(error) == SSL_R_UNEXPECTED_EOF_WHILE_READING
    }

    private func failure(operation: String) -> TLSError {
        let errors = OpenSSLErrorQueue.drain()
        let result = SSL_get_verify_result(ssl)
        if result != X509_V_OK {
            return .verificationFailed(verificationFailure(Int32(result)), openSSLErrors: errors)
        }
        if errors.contains(where: { $0.contains("peer did not return a certificate") }) {
            return .verificationFailed(.noPeerCertificate, openSSLErrors: errors)
        }
        if operation == "handshake" { return .handshakeFailed(openSSLErrors: errors) }
        return .protocolFailure(operation, openSSLErrors: errors)
    }

    private func verificationFailure(_ result: Int32) -> TLSError.VerificationFailure {
        switch result {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return .expired
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return .notYetValid
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
            X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            return .unknownIssuer
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
            return .hostNameMismatch(expected: expectedHost ?? "")
        default:
            let reason = X509_verify_cert_error_string(Int(result)).map { String(cString: $0) } ?? "unknown"
            return .other(code: Int(result), reason: reason)
        }
    }
}
