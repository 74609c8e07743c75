// SPDX-License-Identifier: Apache-2.0
import Glibc

/// Socket options set on each accepted connection before a loop takes it.
enum AcceptedSocketOptions {
    /// Turns off Nagle's algorithm, so a response's last segment leaves at once, and fixes the kernel receive
    /// buffer when `receiveBufferBytes` is positive (see `HTTPServerLimits.receiveBufferBytes`).
    static func apply(to fd: Int32, receiveBufferBytes: Int) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if receiveBufferBytes > 0 { _ = setReceiveBuffer(fd, bytes: receiveBufferBytes) }
    }

    /// Sets `SO_RCVBUF` and returns the usable size the kernel granted (half of what it reports, since it
    /// doubles the request for bookkeeping), or -1 when a call fails.
    static func setReceiveBuffer(_ fd: Int32, bytes: Int) -> Int {
        var requested = Int32(clamping: bytes)
        let length = socklen_t(MemoryLayout<Int32>.size)
        guard setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &requested, length) == 0 else { return -1 }
        var reported: Int32 = 0
        var reportedLength = length
        guard getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &reported, &reportedLength) == 0 else { return -1 }
        return Int(reported) / 2
    }

    /// Returns the receive buffer the kernel grants a new TCP socket that requests `bytes`, or -1 when the test
    /// socket cannot be made. The kernel caps requests at `net.core.rmem_max`.
    static func grantedReceiveBuffer(_ bytes: Int) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        defer { close(fd) }
        return setReceiveBuffer(fd, bytes: bytes)
    }
}
