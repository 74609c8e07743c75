// SPDX-License-Identifier: Apache-2.0

/// The time limits of one request, turned into `poll` timeouts.
struct RequestDeadlines {
    /// One wait: the `poll` timeout and what to report if it expires.
    struct Wait {
        let milliseconds: Int32
        let phase: HTTPClientError.TimeoutPhase
        let limit: Duration
    }

    let idleTimeout: Duration
    let totalTimeout: Duration?
    private let totalDeadline: ContinuousClock.Instant?

    init(idleTimeout: Duration, totalTimeout: Duration?) {
        self.idleTimeout = idleTimeout
        self.totalTimeout = totalTimeout
        self.totalDeadline = totalTimeout.map { ContinuousClock.now + $0 }
    }

    private init(idleTimeout: Duration, totalTimeout: Duration?, totalDeadline: ContinuousClock.Instant?) {
        self.idleTimeout = idleTimeout
        self.totalTimeout = totalTimeout
        self.totalDeadline = totalDeadline
    }

    /// Returns these deadlines with `idleTimeout` in place of the idle timeout and the same total deadline.
    func replacingIdleTimeout(_ idleTimeout: Duration) -> RequestDeadlines {
        RequestDeadlines(idleTimeout: idleTimeout, totalTimeout: totalTimeout, totalDeadline: totalDeadline)
    }

    /// Returns the next wait: at most `limit` (the idle or connect timeout), cut short by the total deadline.
    func nextWait(limit: Duration, phase: HTTPClientError.TimeoutPhase) -> Wait {
        guard let totalDeadline, let totalTimeout else {
            return Wait(milliseconds: Self.milliseconds(limit), phase: phase, limit: limit)
        }
        let remaining = totalDeadline - ContinuousClock.now
        if remaining < limit {
            return Wait(milliseconds: Self.milliseconds(remaining), phase: .total, limit: totalTimeout)
        }
        return Wait(milliseconds: Self.milliseconds(limit), phase: phase, limit: limit)
    }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(0, milliseconds))
    }
}
