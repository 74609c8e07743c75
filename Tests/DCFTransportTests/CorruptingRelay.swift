// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A TCP relay on 127.0.0.1 for one connection to `127.0.0.1:targetPort` that flips the lowest bit of the byte at
/// `flipOffset` of what the target sends, standing in for a network that damages a TLS record in transit.
final class CorruptingRelay: @unchecked Sendable {
    // @unchecked Sendable: every stored property is a constant.
    let port: Int
    private let listener: Int32

    init(targetPort: Int, flipOffset: Int) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard bound, listen(listener, 1) == 0 else {
            let code = errno
            close(listener)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { Self.relayOne(listener: listener, targetPort: targetPort, flipOffset: flipOffset) }.start()
    }

    /// Stops accepting; a relay already running ends when either side closes.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private static func relayOne(listener: Int32, targetPort: Int, flipOffset: Int) {
        defer { close(listener) }
        let client = accept(listener, nil, nil)
        guard client >= 0 else { return }
        let target = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port: targetPort)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(target, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard target >= 0, connected else {
            close(client)
            if target >= 0 { close(target) }
            return
        }
        let upstreamDone = DispatchSemaphore(value: 0)
        Thread {
            copy(from: client, to: target, flipOffset: nil)
            upstreamDone.signal()
        }.start()
        copy(from: target, to: client, flipOffset: flipOffset)
        // The client may still be sending, and shutting down both sockets ends that copy too.
        shutdown(client, Int32(SHUT_RDWR))
        shutdown(target, Int32(SHUT_RDWR))
        upstreamDone.wait()
        close(client)
        close(target)
    }

    /// Copies until end of stream or an error, then ends the write side of `destination`.
    private static func copy(from source: Int32, to destination: Int32, flipOffset: Int?) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var offset = 0
        while true {
            let count = recv(source, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            if let flipOffset, flipOffset >= offset, flipOffset < offset + count {
                buffer[flipOffset - offset] ^= 1
            }
            offset += count
            var sent = 0
            while sent < count {
                let result = buffer[sent..<count].withUnsafeBytes {
                    send(destination, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                guard result > 0 else { return }
                sent += result
            }
        }
        shutdown(destination, Int32(SHUT_WR))
    }
}
