// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// Tells whether every event loop still runs the tasks queued to it.
///
/// Each check queues a probe on every loop and reports the loops that have not yet run the probe queued two
/// checks earlier. A loop stuck in a handler, or waiting on a lock, misses the probes while the rest of the
/// process, such as a timer thread, keeps running. A loop is reported only after it missed the probes for two
/// intervals. A caller that withholds a systemd watchdog ping for one report leaves a gap of twice its
/// interval, and at half of `WatchdogSec` that gap is enough for systemd to kill the service.
final class LoopLiveness: Sendable {
    private struct State {
        /// The number of probes sent so far; the latest probe has this number.
        var sent: UInt64 = 0
        /// The number of the latest probe each loop has run, by loop index.
        var answered: [Int: UInt64] = [:]
    }

    private let state = Mutex(State())

    /// Returns the indexes of the loops that have not run the probe queued two checks earlier, then queues a new
    /// probe on every loop. The first two checks report no loop.
    func check(_ loops: [EventLoop]) -> [Int] {
        let (required, next) = state.withLock { state in
            state.sent += 1
            return (state.sent >= 2 ? state.sent - 2 : 0, state.sent)
        }
        let missed = state.withLock { state in
            loops.map(\.index).filter { (state.answered[$0] ?? 0) < required }
        }
        for loop in loops {
            let index = loop.index
            loop.execute { [self] in
                state.withLock { $0.answered[index] = max($0.answered[index] ?? 0, next) }
            }
        }
        return missed
    }
}
