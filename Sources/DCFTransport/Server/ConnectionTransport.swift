// SPDX-License-Identifier: Apache-2.0
import Glibc

/// The outcome of one non-blocking transport operation; TLS may need the opposite readiness to progress.
enum TransportResult {
    /// The operation finished, moving this many bytes (0 for a finished handshake or shutdown).
    case done(Int)
    /// Call again when the socket is readable.
    case wantRead
    /// Call again when the socket is writable.
    case wantWrite
    /// The peer closed the stream.
    case closed
    /// The stream failed; the text names the cause for the log.
    case failed(String)
}

/// A byte stream over a connected non-blocking socket: plain TCP or a TLS session.
protocol ConnectionTransport: AnyObject {
    /// Whether file bodies may go through `sendfile`, which bypasses the transport.
    var supportsSendfile: Bool { get }
    /// Whether the transport holds received bytes that `read` returns without the socket becoming readable.
    var hasBufferedInput: Bool { get }
    /// Whether the transport has decrypted bytes that `read` returns at once. Unlike `hasBufferedInput`, a
    /// partial TLS record does not count, because only the client can complete it.
    var hasDecryptedInput: Bool { get }
    /// The number of bytes that `write` took and that still wait to be sent; `flushOutput` sends them.
    var pendingOutput: Int { get }
    /// Whether the transport may still send after the peer ended its stream: TCP and TLS 1.3 (RFC 8446,
    /// section 6.1) may, while TLS 1.2 (RFC 5246, section 7.2.1) drops pending writes at a close_notify.
    var sendsAfterPeerClosed: Bool { get }
    func handshake() -> TransportResult
    func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportResult
    /// Sends or takes part of `bytes` and returns how many; taken bytes may wait in the transport.
    func write(_ bytes: UnsafeRawBufferPointer) -> TransportResult
    /// Sends bytes waiting in the transport: `.done(0)` once none wait, `.wantWrite` while the socket is full.
    func flushOutput() -> TransportResult
    /// Frees buffers the transport holds while it has nothing to send; called when the connection goes idle.
    func releaseIdleBuffers()
    /// Sends the end of the stream (TLS `close_notify`); the socket stays open.
    func shutdown() -> TransportResult
}

/// Plain TCP on a socket that the connection owns.
final class PlainTransport: ConnectionTransport {
    let fd: Int32

    init(fd: Int32) {
        self.fd = fd
    }

    var supportsSendfile: Bool { true }
    var hasBufferedInput: Bool { false }
    var hasDecryptedInput: Bool { false }
    var pendingOutput: Int { 0 }
    var sendsAfterPeerClosed: Bool { true }

    func handshake() -> TransportResult { .done(0) }
    func flushOutput() -> TransportResult { .done(0) }
    func releaseIdleBuffers() {}

    func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportResult {
        do {
            switch try nonBlockingSyscall("read", { Glibc.read(fd, buffer.baseAddress, buffer.count) }) {
            case .value(0): return .closed
            case .value(let count): return .done(count)
            case .wouldBlock: return .wantRead
            }
        } catch {
            return error.code == ECONNRESET ? .closed : .failed(error.description)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> TransportResult {
        do {
            switch try nonBlockingSyscall("send", { send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }) {
            case .value(let count): return .done(count)
            case .wouldBlock: return .wantWrite
            }
        } catch {
            return error.code == EPIPE || error.code == ECONNRESET ? .closed : .failed(error.description)
        }
    }

    func shutdown() -> TransportResult {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
        return .done(0)
    }
}
