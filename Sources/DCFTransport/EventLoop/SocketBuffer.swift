// SPDX-License-Identifier: Apache-2.0
import Glibc

/// A kernel socket buffer, fixed in size by the server for accepted connections and by the client for its own.
enum SocketBuffer {
    case receive
    case send

    private var option: Int32 { self == .receive ? SO_RCVBUF : SO_SNDBUF }

    /// Sets this buffer of `fd` to `bytes` and returns the usable size the kernel granted, or -1 when a call
    /// fails. The kernel doubles the request for its bookkeeping, reports the doubled size, and caps it at
    /// `net.core.rmem_max` or `net.core.wmem_max`.
    @discardableResult
    func set(_ fd: Int32, bytes: Int) -> Int {
        var requested = Int32(clamping: bytes)
        let length = socklen_t(MemoryLayout<Int32>.size)
        guard setsockopt(fd, SOL_SOCKET, option, &requested, length) == 0 else { return -1 }
        var reported: Int32 = 0
        var reportedLength = length
        guard getsockopt(fd, SOL_SOCKET, option, &reported, &reportedLength) == 0 else { return -1 }
        return Int(reported) / 2
    }

    /// Returns the usable size the kernel grants a new TCP socket that requests `bytes`, or -1 when the test
    /// socket cannot be made.
    func granted(forRequest bytes: Int) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        defer { close(fd) }
        return set(fd, bytes: bytes)
    }
}
