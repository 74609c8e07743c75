// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// Lets a repeating log line through at most once per `interval`, counting the repeats it held back.
///
/// A condition that recurs many times a second, such as running out of file descriptors, would otherwise
/// fill the journal with the same line.
public final class LogRepeatLimit: Sendable {
    private struct State {
        var lastLogged: ContinuousClock.Instant?
        var suppressed = 0
    }

    public let interval: Duration
    private let state = Mutex(State())

    public init(interval: Duration) {
        self.interval = interval
    }

    /// Returns the number of repeats held back since the last line when a line may be logged now, else nil.
    public func admit(now: ContinuousClock.Instant = .now) -> Int? {
        state.withLock { state in
            if let last = state.lastLogged, now - last < interval {
                state.suppressed += 1
                return nil
            }
            defer { state = State(lastLogged: now, suppressed: 0) }
            return state.suppressed
        }
    }
}
