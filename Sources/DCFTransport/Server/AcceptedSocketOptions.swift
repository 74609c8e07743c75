// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Glibc
import Synchronization

/// Socket options set on each accepted connection before a loop takes it.
enum AcceptedSocketOptions {
    /// Turns off Nagle's algorithm, so a response's last segment leaves at once, and fixes the kernel receive
    /// buffer when `receiveBufferBytes` is positive (see `HTTPServerLimits.receiveBufferBytes`). When the kernel
    /// caps the buffer below the setting, the first connection logs a warning that names the cap.
    static func apply(to fd: Int32, receiveBufferBytes: Int, logger: Logger) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        guard receiveBufferBytes > 0 else { return }
        let granted = setReceiveBuffer(fd, bytes: receiveBufferBytes)
        guard granted < receiveBufferBytes, !reportedCap.exchange(true, ordering: .relaxed) else { return }
        logger.warning(
            "the kernel caps the receive buffer of connections below limits.receive_buffer",
            [("receive_buffer", String(receiveBufferBytes)), ("granted", String(max(granted, 0))),
             ("fix", "raise net.core.rmem_max or lower limits.receive_buffer")])
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

    private static let reportedCap = Atomic<Bool>(false)
}
