// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Synchronization

/// Lets a warning about one worker through at most once per `interval`, so a condition that repeats every few
/// seconds writes one log line, not thousands. Tracks at most `maximumWorkers`; past that it forgets the oldest.
final class WarningInterval: Sendable {
    let interval: Duration
    let maximumWorkers: Int
    private let lastWarned = Mutex<[WorkerID: ContinuousClock.Instant]>([:])

    init(interval: Duration, maximumWorkers: Int = 1_000) {
        self.interval = interval
        self.maximumWorkers = maximumWorkers
    }

    /// Returns true, and records the time, when `worker` was not warned about within the interval.
    func shouldWarn(about worker: WorkerID, now: ContinuousClock.Instant = .now) -> Bool {
        lastWarned.withLock { lastWarned in
            if let last = lastWarned[worker], now - last < interval { return false }
            if lastWarned[worker] == nil, lastWarned.count >= maximumWorkers {
                lastWarned = lastWarned.filter { now - $0.value < interval }
                if lastWarned.count >= maximumWorkers,
                    let oldest = lastWarned.min(by: { $0.value < $1.value })?.key
                {
                    lastWarned[oldest] = nil
                }
            }
            lastWarned[worker] = now
            return true
        }
    }
}
