// SPDX-License-Identifier: Apache-2.0
import COpenSSL

/// A TLS session as a connection transport; the connection owns the socket. The session collects its
/// encrypted output and sends it in batches, so `write` may take bytes that `flushOutput` sends later.
final class TLSTransport: ConnectionTransport {
    private let session: TLSSession

    init(session: TLSSession) {
        self.session = session
    }

    var supportsSendfile: Bool { false }
    var hasBufferedInput: Bool { session.hasBufferedInput }
    var hasDecryptedInput: Bool { session.hasDecryptedInput }
    var pendingOutput: Int { session.pendingOutput }
    var sendsAfterPeerClosed: Bool { SSL_version(session.ssl) == TLS1_3_VERSION }

    func handshake() -> TransportResult { convert(session.handshake()) }
    func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportResult { convert(session.read(into: buffer)) }
    func write(_ bytes: UnsafeRawBufferPointer) -> TransportResult { convert(session.write(bytes)) }
    func shutdown() -> TransportResult { convert(session.shutdown()) }
    func flushOutput() -> TransportResult { convert(session.flushOutput()) }
    func releaseIdleBuffers() { session.releaseIdleBuffers() }

    private func convert(_ result: TLSIOResult) -> TransportResult {
        switch result {
        case .done(let count): .done(count)
        case .wantRead: .wantRead
        case .wantWrite: .wantWrite
        case .closed: .closed
        case .failed(let error): .failed(error.description)
        }
    }
}
