// SPDX-License-Identifier: Apache-2.0
import DCFServer
import Synchronization

/// A clock that moves only when a test advances it.
final class ManualClock: ServerClock {
    private let current = Mutex(ContinuousClock.now)

    var now: ContinuousClock.Instant { current.withLock { $0 } }

    func advance(by duration: Duration) {
        current.withLock { $0 += duration }
    }
}
