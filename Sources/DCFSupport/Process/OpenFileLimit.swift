// SPDX-License-Identifier: Apache-2.0
import Glibc

/// The process's limit on open file descriptors, which bounds how many connections a server holds.
public enum OpenFileLimit {
    /// Raises the soft limit to the hard limit, as servers do at start-up, and returns the new soft limit.
    /// systemd's `LimitNOFILE=` sets both; a shell usually leaves the soft limit at 1024.
    @discardableResult
    public static func raiseToMaximum() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return Int(clamping: limit.rlim_cur)
    }
}
