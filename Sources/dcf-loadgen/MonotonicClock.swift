// SPDX-License-Identifier: Apache-2.0
import Glibc

/// Nanoseconds of `CLOCK_MONOTONIC`, which every process on the host shares, so times that worker processes
/// report can be compared with each other and with the coordinator's.
enum MonotonicClock {
    static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
