// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Sends single datagrams to a Unix socket address, as the systemd notification protocol requires.
enum UnixDatagram {
    /// How long a send waits for room when the receiver's queue is full. A receiver that stopped reading would
    /// otherwise block the sender for as long as it lives, and with it a reload or a drain that notifies.
    static let sendTimeout = timeval(tv_sec: 1, tv_usec: 0)

    /// Sends `message` to `address`: a filesystem path, or an abstract socket name written with a leading `@`.
    /// - Throws: `SystemCallError` from `socket` or `sendto`, `EAGAIN` when the receiver's queue stayed full for
    ///   `sendTimeout`, or `ENAMETOOLONG` for an address over 107 bytes.
    static func send(_ message: String, to address: String) throws(SystemCallError) {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemCallError(call: "socket", subject: address, errno: errno) }
        defer { close(descriptor) }
        var timeout = sendTimeout
        guard setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0
        else { throw SystemCallError(call: "setsockopt", subject: address, errno: errno) }

        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        // An abstract address starts with a NUL byte instead of `@` and is not NUL-terminated.
        var pathBytes = Array(address.utf8)
        let isAbstract = pathBytes.first == UInt8(ascii: "@")
        if isAbstract { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard pathBytes.count < capacity else {
            throw SystemCallError(call: "sendto", subject: address, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &storage.sun_path) { buffer in
            buffer.copyBytes(from: pathBytes)
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        let length = socklen_t(pathOffset + pathBytes.count + (isAbstract ? 0 : 1))

        let payload = Array(message.utf8)
        let sent = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                payload.withUnsafeBytes { bytes in
                    sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), address, length)
                }
            }
        }
        guard sent >= 0 else { throw SystemCallError(call: "sendto", subject: address, errno: errno) }
    }
}
