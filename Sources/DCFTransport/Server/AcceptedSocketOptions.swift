// SPDX-License-Identifier: Apache-2.0
import Glibc

/// Socket options set on each accepted connection before a loop takes it.
enum AcceptedSocketOptions {
    /// Turns off Nagle's algorithm, so a response's last segment leaves at once, and fixes the kernel receive
    /// buffer when `receiveBufferBytes` is positive (see `HTTPServerLimits.receiveBufferBytes`).
    static func apply(to fd: Int32, receiveBufferBytes: Int) {
        var enabled: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &enabled, socklen_t(MemoryLayout<Int32>.size))
        if receiveBufferBytes > 0 { SocketBuffer.receive.set(fd, bytes: receiveBufferBytes) }
    }
}
