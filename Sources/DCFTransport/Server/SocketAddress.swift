// SPDX-License-Identifier: Apache-2.0
import Glibc

/// Conversions between text addresses and socket addresses for IPv4 and IPv6.
enum SocketAddress {
    /// Creates a non-blocking listening socket bound to `host:port` with `SO_REUSEADDR`.
    ///
    /// `SO_REUSEPORT` stays off, so binding a port another socket listens on fails with `EADDRINUSE` instead of
    /// silently sharing the port with another process.
    /// - Throws: `SystemError` from `socket`, `bind` or `listen`; `EINVAL` named `inet_pton` when `host` is not
    ///   a numeric IPv4 or IPv6 address.
    static func makeListeningSocket(host: String, port: Int, backlog: Int32) throws(SystemError) -> Int32 {
        var storage = sockaddr_storage()
        let length = try fill(&storage, host: host, port: port)
        let fd = try syscall("socket") {
            socket(Int32(storage.ss_family), Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        var one: Int32 = 1
        // SO_REUSEADDR only allows binding over connections in TIME_WAIT from an earlier run.
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        do {
            try withUnsafePointer(to: &storage) { pointer throws(SystemError) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SystemError) in
                    _ = try syscall("bind") { bind(fd, address, length) }
                }
            }
            try syscall("listen") { listen(fd, backlog) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Returns the port a socket is bound to.
    static func localPort(of fd: Int32) throws(SystemError) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SystemError) in
                try syscall("getsockname") { getsockname(fd, address, &length) }
            }
        }
        let family = storage.ss_family
        return withUnsafePointer(to: &storage) { pointer in
            if family == sa_family_t(AF_INET6) {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    /// Formats an accepted peer address as `host:port` for log lines.
    static func describe(_ storage: sockaddr_storage) -> String {
        var storage = storage
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = storage.ss_family
        return withUnsafePointer(to: &storage) { pointer in
            if family == sa_family_t(AF_INET6) {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var raw = address.pointee.sin6_addr
                    inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
                    return "[\(cString(text))]:\(UInt16(bigEndian: address.pointee.sin6_port))"
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                var raw = address.pointee.sin_addr
                inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
                return "\(cString(text)):\(UInt16(bigEndian: address.pointee.sin_port))"
            }
        }
    }

    private static func cString(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func fill(_ storage: inout sockaddr_storage, host: String, port: Int) throws(SystemError) -> socklen_t {
        try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemError) in
            let v4 = pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                address.pointee.sin_family = sa_family_t(AF_INET)
                address.pointee.sin_port = UInt16(port).bigEndian
                return inet_pton(AF_INET, host, &address.pointee.sin_addr) == 1
            }
            if v4 { return socklen_t(MemoryLayout<sockaddr_in>.size) }
            let v6 = pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                address.pointee = sockaddr_in6()
                address.pointee.sin6_family = sa_family_t(AF_INET6)
                address.pointee.sin6_port = UInt16(port).bigEndian
                return inet_pton(AF_INET6, host, &address.pointee.sin6_addr) == 1
            }
            if v6 { return socklen_t(MemoryLayout<sockaddr_in6>.size) }
            throw SystemError(call: "inet_pton", code: EINVAL)
        }
    }
}
