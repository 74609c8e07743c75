// SPDX-License-Identifier: Apache-2.0
import COpenSSL
import Glibc

/// Encrypted bytes that a TLS session wrote and the socket has not yet taken.
///
/// OpenSSL hands each record (at most 16 KiB of data) to its write BIO. A socket BIO makes that one `write`
/// call and one TCP send per record; this buffer collects the records instead, so `drain` sends many of them in
/// one call. Storage is allocated when output first arrives and freed by `release` once it is empty, so an idle
/// session holds none.
final class TLSOutputBuffer {
    /// How a drain ended.
    enum DrainResult: Equatable {
        /// Every buffered byte was sent.
        case empty
        /// The socket took what it could; the rest waits until it is writable.
        case blocked
        /// The peer is gone (`EPIPE`, `ECONNRESET`).
        case closed
        /// `send` failed with this `errno`.
        case failed(Int32)
    }

    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0
    private var start = 0
    private var end = 0

    deinit {
        free(storage)
    }

    /// The number of bytes waiting to be sent.
    var count: Int { end - start }

    /// Copies `count` bytes behind the buffered ones, growing the storage when needed.
    func append(_ bytes: UnsafeRawPointer, count: Int) {
        if end + count > capacity { grow(toFit: count) }
        (storage! + end).copyMemory(from: bytes, byteCount: count)
        end += count
    }

    /// Returns room for `count` more bytes behind the buffered ones; `commit` then counts what was written there.
    func reserve(_ count: Int) -> UnsafeMutableRawPointer {
        if end + count > capacity { grow(toFit: count) }
        return storage! + end
    }

    /// Counts `count` bytes written to the room that `reserve` returned.
    func commit(_ count: Int) {
        precondition(end + count <= capacity)
        end += count
    }

    /// Sends buffered bytes to the socket `fd` until they are all sent or the socket would block.
    func drain(to fd: Int32) -> DrainResult {
        // Each pass sends all that is left or stops at a short count, so two passes cover the usual cases;
        // the bound keeps a socket that takes a few bytes at a time from holding the loop.
        for _ in 0..<8 where start < end {
            let sent = send(fd, storage! + start, end - start, Int32(MSG_NOSIGNAL))
            if sent > 0 {
                start += sent
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .blocked
            case EPIPE, ECONNRESET: return .closed
            case let code: return .failed(code)
            }
        }
        guard start == end else { return .blocked }
        start = 0
        end = 0
        return .empty
    }

    /// Frees the storage if nothing waits to be sent.
    func release() {
        guard start == end, storage != nil else { return }
        free(storage)
        storage = nil
        capacity = 0
        start = 0
        end = 0
    }

    private func grow(toFit count: Int) {
        let pending = end - start
        if start > 0, let storage {
            storage.copyMemory(from: storage + start, byteCount: pending)
            start = 0
            end = pending
        }
        guard pending + count > capacity else { return }
        // Small output (handshakes, short responses) stays small; bulk output doubles up to one batch of records
        // plus the one record that may cross the batch size.
        let wanted = max(pending + count, min(capacity * 2, TLSSession.outputBatchSize + 32 * 1024), 16 * 1024)
        guard let grown = realloc(storage, wanted) else { fatalError("cannot allocate \(wanted) bytes for TLS output") }
        storage = grown
        capacity = wanted
    }
}

/// The BIO method that makes OpenSSL write records into a `TLSOutputBuffer`.
enum TLSOutputBIO {
    // nonisolated(unsafe): created once and never changed after; BIO_new only reads it.
    nonisolated(unsafe) private static let method: OpaquePointer? = makeMethod()

    /// Returns a new BIO writing into `buffer`, or nil if OpenSSL cannot allocate one. The caller keeps
    /// `buffer` alive for as long as the BIO exists.
    static func make(writingTo buffer: TLSOutputBuffer) -> OpaquePointer? {
        guard let method, let bio = BIO_new(method) else { return nil }
        BIO_set_data(bio, Unmanaged.passUnretained(buffer).toOpaque())
        BIO_set_init(bio, 1)
        return bio
    }

    private static func makeMethod() -> OpaquePointer? {
        guard let method = BIO_meth_new(BIO_TYPE_SOURCE_SINK | BIO_get_new_index(), "dcf TLS output") else { return nil }
        _ = BIO_meth_set_write_ex(method) { bio, data, length, written in
            guard let bio, let data, let context = BIO_get_data(bio) else { return 0 }
            Unmanaged<TLSOutputBuffer>.fromOpaque(context).takeUnretainedValue().append(data, count: length)
            written?.pointee = length
            return 1
        }
        _ = BIO_meth_set_ctrl(method) { bio, command, _, _ in
            switch command {
            case BIO_CTRL_FLUSH:
                // Flushing is the connection's job, through `TLSSession.flushOutput`.
                return 1
            case BIO_CTRL_WPENDING:
                guard let bio, let context = BIO_get_data(bio) else { return 0 }
                return Unmanaged<TLSOutputBuffer>.fromOpaque(context).takeUnretainedValue().count
            default:
                return 0
            }
        }
        return method
    }
}
