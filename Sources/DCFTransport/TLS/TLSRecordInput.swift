// SPDX-License-Identifier: Apache-2.0
import COpenSSL
import Glibc

/// The receiving half of a TLS 1.3 connection after the handshake: reads protected records from the socket,
/// opens them, and hands out their application data.
///
/// OpenSSL reads a record's header and its body with two `recv` calls, decrypts into its own buffer and copies
/// the plaintext out. This reader receives up to `maximumCapacity` bytes in one call and decrypts each record straight
/// into the caller's buffer when the record fits there. It also handles what may follow the handshake: alerts,
/// KeyUpdate, and NewSessionTicket (a client ignores tickets; dcf does not resume sessions).
final class TLSRecordInput {
    /// Bytes received in one call at most, about five full records, while data keeps arriving.
    static let maximumCapacity = 80 * 1024
    /// The storage kept while a connection waits for the peer: one whole record of the largest size fits. A
    /// client that stops in the middle of a record therefore keeps no more memory here than OpenSSL's buffer.
    static let minimumCapacity = TLSRecordCipher.headerLength + TLSRecordCipher.maxCiphertext
    /// Maximum handshake bytes kept while a post-handshake message is incomplete.
    private static let handshakeLimit = 64 * 1024
    /// Maximum number of records in a row that carry no application data (empty records, KeyUpdate, tickets) before the
    /// connection fails, so a peer cannot keep the event loop busy with them. OpenSSL allows 32 empty records.
    private static let controlRecordLimit = 32

    let opener: TLSRecordCipher
    private let fileDescriptor: Int32
    private let isClient: Bool
    private var storage: UnsafeMutableRawPointer?
    /// The size of `storage`: 0 while none is allocated.
    private(set) var capacity = 0
    /// Whether the last `recv` filled all the room it had.
    private var lastReceiveFilled = false
    /// Received bytes not yet opened: `storage[start..<end]`.
    private var start = 0
    private var end = 0
    /// Application data opened in place and not yet handed out: `storage[plainStart..<plainEnd]`.
    private var plainStart = 0
    private var plainEnd = 0
    private var handshakeBytes: [UInt8] = []
    private var controlRecords = 0
    /// Set when the peer sent KeyUpdate requesting ours; the session clears it once its KeyUpdate is queued.
    var peerRequestedKeyUpdate = false
    /// The result that ended the stream (close_notify or a failure) when data read before the end was still handed out;
    /// every later read returns it.
    private var ending: TLSIOResult?

    init(opener: TLSRecordCipher, fileDescriptor: Int32, isClient: Bool) {
        self.opener = opener
        self.fileDescriptor = fileDescriptor
        self.isClient = isClient
    }

    deinit {
        free(storage)
    }

    /// Whether received bytes wait here, opened or not; the socket does not report them as readable.
    var hasBufferedInput: Bool { start < end || plainStart < plainEnd }

    /// Whether the stream ended (close_notify, or a failure) in a read that still returned data before it.
    var hasEnded: Bool { ending != nil }

    /// Whether the peer sent close_notify. A TCP stream that ends without it may have been cut short by someone
    /// on the path.
    private(set) var receivedCloseNotify = false

    /// Whether `read` returns data without waiting for the peer: opened data, or a whole record not yet opened.
    var hasDecryptedInput: Bool { plainStart < plainEnd || nextRecordLength != nil }

    /// Frees the storage and the opener's cipher context if nothing waits in the storage.
    func releaseIfEmpty() {
        guard start == end, plainStart == plainEnd else { return }
        opener.releaseContext()
        free(storage)
        storage = nil
        capacity = 0
        start = 0
        end = 0
        plainStart = 0
        plainEnd = 0
    }

    /// Reads application data into `buffer`: `.done(n)` with n > 0, `.wantRead`, `.closed` after close_notify
    /// or the end of the stream, or `.failed` for a record that does not authenticate or breaks the protocol.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSIOResult {
        guard let destination = buffer.baseAddress, buffer.count > 0 else { return .done(0) }
        var filled = 0
        while true {
            if plainStart == plainEnd, let ending { return ending }
            if plainStart < plainEnd {
                let count = min(plainEnd - plainStart, buffer.count - filled)
                (destination + filled).copyMemory(from: storage! + plainStart, byteCount: count)
                plainStart += count
                filled += count
            }
            if filled == buffer.count || (filled > 0 && plainStart < plainEnd) { return .done(filled) }
            if let length = nextRecordLength {
                let opened: TLSIOResult?
                do {
                    opened = try openRecord(payloadLength: length, room: buffer.count - filled, destination: destination + filled)
                } catch let error as TLSError {
                    opened = .failed(error)
                } catch {
                    opened = .failed(.recordLayerFailure("read", reason: "\(error)"))
                }
                switch opened {
                case .done(let count)?: filled += count
                case let other?:
                    ending = other
                    if filled > 0 { return .done(filled) }
                case nil: break
                }
                continue
            }
            if filled > 0 { return .done(filled) }
            if let stop = receive() { return stop }
        }
    }

    /// The payload length of the whole record at `start`, or nil while its bytes have not all arrived.
    private var nextRecordLength: Int? {
        guard end - start >= TLSRecordCipher.headerLength, let storage else { return nil }
        let header = (storage + start).assumingMemoryBound(to: UInt8.self)
        let length = Int(header[3]) << 8 | Int(header[4])
        // An oversized length is reported as soon as the header is here, by `openRecord`.
        if length > TLSRecordCipher.maxCiphertext { return length }
        return end - start >= TLSRecordCipher.headerLength + length ? length : nil
    }

    /// Opens the record at `start`. Returns `.done(n)` for n bytes of application data written to `destination`,
    /// nil for a record that leaves nothing to hand out directly (in-place data, a handshake message, an empty
    /// record), `.closed` for close_notify, or `.failed`.
    private func openRecord(payloadLength: Int, room: Int, destination: UnsafeMutableRawPointer) throws -> TLSIOResult? {
        let header = storage! + start
        let bytes = header.assumingMemoryBound(to: UInt8.self)
        guard bytes[0] == 23, bytes[1] == 3 else {
            return .failed(.recordLayerFailure("read", reason: "unexpected record type \(bytes[0]) after the handshake"))
        }
        guard payloadLength <= TLSRecordCipher.maxCiphertext, payloadLength > TLSRecordCipher.tagLength else {
            return .failed(.recordLayerFailure("read", reason: "record payload of \(payloadLength) bytes is out of range"))
        }

        let payload = header + TLSRecordCipher.headerLength
        let contentRoom = payloadLength - TLSRecordCipher.tagLength
        let direct = room >= contentRoom
        let target = direct ? destination : payload
        let ciphertext = UnsafeRawBufferPointer(start: payload, count: payloadLength)
        guard let (type, length) = try opener.open(header: header, ciphertext: ciphertext, into: target) else {
            return .failed(.recordLayerFailure("read", reason: "record failed authentication (bad record MAC)"))
        }
        start += TLSRecordCipher.headerLength + payloadLength

        guard length <= TLSRecordCipher.maxPlaintext else {
            return .failed(.recordLayerFailure("read", reason: "record content of \(length) bytes is over 16 KiB"))
        }

        // RFC 8446, section 5.1: a handshake message split across records has no other records between its parts.
        if type != 22 && !handshakeBytes.isEmpty {
            return .failed(.recordLayerFailure("read", reason: "handshake message interleaved with other records"))
        }

        if type == 23 && length > 0 {
            controlRecords = 0
        } else {
            controlRecords += 1
            guard controlRecords <= Self.controlRecordLimit else {
                return .failed(.recordLayerFailure("read", reason: "too many records without application data"))
            }
        }

        switch type {
        case 23:
            if length == 0 { return nil }
            if direct { return .done(length) }
            plainStart = payload - storage!
            plainEnd = plainStart + length
            return nil
        case 21:
            return alert(UnsafeRawBufferPointer(start: target, count: length))
        case 22:
            return try handshake(UnsafeRawBufferPointer(start: target, count: length))
        default:
            return .failed(.recordLayerFailure("read", reason: "unexpected content type \(type) after the handshake"))
        }
    }

    /// Returns `.closed` for close_notify, nil for user_canceled, and `.failed` for every other alert.
    private func alert(_ content: UnsafeRawBufferPointer) -> TLSIOResult? {
        guard content.count == 2 else {
            return .failed(.recordLayerFailure("read", reason: "invalid alert of \(content.count) bytes"))
        }
        switch content[1] {
        case 0:
            receivedCloseNotify = true
            return .closed
        case 90:
            // user_canceled is a closure alert, not an error (RFC 8446, section 6.1), and close_notify should
            // follow it. OpenSSL 3.0 skips it too; the limit on records without data bounds how many arrive.
            return nil
        case let description:
            let name = Self.alertNames[description].map { " (\($0))" } ?? ""
            return .failed(.recordLayerFailure("read", reason: "peer sent TLS alert \(description)\(name)"))
        }
    }

    /// The names of the alert descriptions of RFC 8446, section 6, for error messages; OpenSSL 3.0's
    /// `SSL_alert_desc_string_long` lacks the TLS 1.3 ones, such as 116, which a server requiring a client
    /// certificate sends.
    static let alertNames: [UInt8: String] = [
        10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow", 40: "handshake_failure",
        42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked", 45: "certificate_expired",
        46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied",
        50: "decode_error", 51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security",
        80: "internal_error", 86: "inappropriate_fallback", 109: "missing_extension", 110: "unsupported_extension",
        112: "unrecognized_name", 113: "bad_certificate_status_response", 115: "unknown_psk_identity",
        116: "certificate_required", 120: "no_application_protocol",
    ]

    /// Collects post-handshake messages and acts on each whole one.
    private func handshake(_ content: UnsafeRawBufferPointer) throws -> TLSIOResult? {
        guard content.count > 0 else {
            return .failed(.recordLayerFailure("read", reason: "empty handshake record"))
        }
        guard handshakeBytes.count + content.count <= Self.handshakeLimit else {
            return .failed(.recordLayerFailure("read", reason: "post-handshake message over 64 KiB"))
        }
        handshakeBytes.append(contentsOf: content)
        while handshakeBytes.count >= 4 {
            let type = handshakeBytes[0]
            let length = Int(handshakeBytes[1]) << 16 | Int(handshakeBytes[2]) << 8 | Int(handshakeBytes[3])
            // The header alone rules out most messages, so the bytes of a message that fails anyway are not kept.
            switch type {
            case 24:
                // KeyUpdate; RFC 8446 section 4.6.3.
                guard length == 1 else {
                    return .failed(.recordLayerFailure("read", reason: "invalid KeyUpdate message"))
                }
            case 4 where isClient:
                break
            default:
                return .failed(.recordLayerFailure("read", reason: "unexpected handshake message \(type) after the handshake"))
            }
            guard handshakeBytes.count >= 4 + length else { break }
            if type == 24 {
                guard handshakeBytes[4] <= 1 else {
                    return .failed(.recordLayerFailure("read", reason: "invalid KeyUpdate message"))
                }
                // The next record comes under the new key, so nothing of this record may follow the message.
                guard handshakeBytes.count == 5 else {
                    return .failed(.recordLayerFailure("read", reason: "KeyUpdate is not at the end of its record"))
                }
                if handshakeBytes[4] == 1 { peerRequestedKeyUpdate = true }
                try opener.updateKey()
            }
            handshakeBytes.removeFirst(4 + length)
        }
        return nil
    }

    /// Receives more bytes; returns nil when some arrived, or how the read ends.
    private func receive() -> TLSIOResult? {
        if start == end {
            start = 0
            end = 0
        }
        // A receive that filled all the room suggests more data waits: take up to five records per call.
        let nextCapacity = lastReceiveFilled ? Self.maximumCapacity : max(capacity, Self.minimumCapacity)
        if start > 0 && (nextCapacity - end < TLSRecordCipher.headerLength + TLSRecordCipher.maxCiphertext || nextCapacity != capacity) {
            compact()
        }
        if nextCapacity != capacity { resize(to: nextCapacity) }
        while true {
            let room = capacity - end
            let received = recv(fileDescriptor, storage! + end, room, 0)
            if received > 0 {
                end += received
                lastReceiveFilled = received == room
                return nil
            }
            if received == 0 { return .closed }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:
                lastReceiveFilled = false
                releaseIfEmpty()
                // What waits here is less than one record, since `read` receives only when no record is whole.
                if storage != nil, capacity > Self.minimumCapacity {
                    compact()
                    resize(to: Self.minimumCapacity)
                }
                return .wantRead
            case ECONNRESET, EPIPE: return .closed
            case let code: return .failed(.systemCall("read", errno: code))
            }
        }
    }

    /// Moves the bytes not yet opened to the start of the storage.
    private func compact() {
        storage!.copyMemory(from: storage! + start, byteCount: end - start)
        end -= start
        start = 0
    }

    private func resize(to newCapacity: Int) {
        guard let resized = realloc(storage, newCapacity) else {
            fatalError("cannot allocate \(newCapacity) bytes for TLS input")
        }
        storage = resized
        capacity = newCapacity
    }
}
