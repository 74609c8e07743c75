// SPDX-License-Identifier: Apache-2.0
import COpenSSL
import Glibc

/// The two application traffic secrets of a TLS 1.3 handshake, caught from OpenSSL's key-log callback so that
/// `TLSRecordInput` and the session's own sealing can take over the record layer once the handshake is done.
///
/// OpenSSL 3.0 has no call that returns these secrets; the key-log callback is how it hands them out. They never
/// leave the process, and the session drops them as soon as its ciphers hold them.
final class TLSTrafficSecrets {
    /// CLIENT_TRAFFIC_SECRET_0: protects what the client sends.
    var client: [UInt8]?
    /// SERVER_TRAFFIC_SECRET_0: protects what the server sends.
    var server: [UInt8]?

    deinit {
        forget()
    }

    /// Returns the secret that protects what `role` sends and drops it here, so the caller has the only reference
    /// to its storage and must wipe it. Call only while that secret is set.
    func take(sentBy role: TLSConfiguration.Role) -> [UInt8] {
        defer {
            if role == .client { client = nil } else { server = nil }
        }
        return role == .client ? client! : server!
    }

    /// Wipes both secrets and drops them.
    func forget() {
        Self.wipeAndDrop(&client)
        Self.wipeAndDrop(&server)
    }

    /// Wipes the array stored in `secret` itself. A copy bound to a local variable would share the storage,
    /// so wiping the copy would duplicate the storage first and leave the original to be freed unwiped.
    private static func wipeAndDrop(_ secret: inout [UInt8]?) {
        if secret != nil { wipe(&secret!) }
        secret = nil
    }

    /// The SSL ex-data slot that points each `SSL` at its session's `TLSTrafficSecrets`, taken on first use.
    private static let slot: Int32 = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, 0, nil, nil, nil, nil)

    /// Makes every session of `context` report its secrets to the `TLSTrafficSecrets` attached to it.
    static func installCallback(on context: OpaquePointer) {
        SSL_CTX_set_keylog_callback(context) { ssl, line in
            guard let ssl, let line, let pointer = SSL_get_ex_data(ssl, TLSTrafficSecrets.slot) else { return }
            Unmanaged<TLSTrafficSecrets>.fromOpaque(pointer).takeUnretainedValue().record(line)
        }
    }

    /// Attaches `self` to `ssl`; the caller keeps `self` alive for as long as `ssl` exists.
    func attach(to ssl: OpaquePointer) -> Bool {
        Self.slot >= 0 && SSL_set_ex_data(ssl, Self.slot, Unmanaged.passUnretained(self).toOpaque()) == 1
    }

    /// Parses one key-log line: a label, the client random and the secret, in hex, separated by spaces. The
    /// line is read in place, so no copy of the secret's text is left in memory.
    private func record(_ line: UnsafePointer<CChar>) {
        let text = UnsafeRawBufferPointer(start: line, count: strlen(line))
        let fields = text.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard fields.count == 3 else { return }
        if fields[0].elementsEqual("CLIENT_TRAFFIC_SECRET_0".utf8) {
            Self.wipeAndDrop(&client)
            client = Self.bytes(fromHex: fields[2])
        } else if fields[0].elementsEqual("SERVER_TRAFFIC_SECRET_0".utf8) {
            Self.wipeAndDrop(&server)
            server = Self.bytes(fromHex: fields[2])
        }
    }

    private static func bytes(fromHex digits: Slice<UnsafeRawBufferPointer>) -> [UInt8]? {
        guard digits.count % 2 == 0, digits.count <= 128 else { return nil }
        var result = [UInt8]()
        result.reserveCapacity(digits.count / 2)
        var index = digits.startIndex
        while index < digits.endIndex {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            result.append(high << 4 | low)
            index += 2
        }
        return result
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
