// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// Counts wrong admin credentials per client address and blocks an address that sends too many, so passwords
/// cannot be guessed at network speed.
///
/// An address is blocked for `window` once it has sent `maximumFailures` wrong credentials within `window`
/// of its first counted failure. Right credentials clear its count. At most `maximumAddresses` addresses are
/// tracked: when the table is full, expired entries go first and then the entry with the oldest window.
final class AdminLoginThrottle: Sendable {
    struct Entry {
        var failures: Int
        var windowStart: ContinuousClock.Instant
    }

    let maximumFailures: Int
    let window: Duration
    let maximumAddresses: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(maximumFailures: Int = 10, window: Duration = .seconds(60), maximumAddresses: Int = 10_000) {
        self.maximumFailures = maximumFailures
        self.window = window
        self.maximumAddresses = maximumAddresses
    }

    /// Returns how long `address` stays blocked, or nil when its credentials may be checked now.
    func blockedFor(_ address: String, now: ContinuousClock.Instant = .now) -> Duration? {
        entries.withLock { entries in
            guard let entry = entries[address], entry.failures >= maximumFailures else { return nil }
            let remaining = entry.windowStart.advanced(by: window) - now
            guard remaining > .zero else {
                entries[address] = nil
                return nil
            }
            return remaining
        }
    }

    /// Counts a wrong credential from `address`; returns true when this failure blocks the address.
    @discardableResult
    func recordFailure(_ address: String, now: ContinuousClock.Instant = .now) -> Bool {
        entries.withLock { entries in
            if var entry = entries[address], now - entry.windowStart < window {
                entry.failures += 1
                entries[address] = entry
                return entry.failures == maximumFailures
            }
            if entries[address] == nil, entries.count >= maximumAddresses { makeRoom(in: &entries, now: now) }
            entries[address] = Entry(failures: 1, windowStart: now)
            return maximumFailures == 1
        }
    }

    /// Clears the count of `address` after right credentials.
    func recordSuccess(_ address: String) {
        _ = entries.withLock { $0.removeValue(forKey: address) }
    }

    /// The number of addresses tracked.
    var trackedCount: Int { entries.withLock { $0.count } }

    private func makeRoom(in entries: inout [String: Entry], now: ContinuousClock.Instant) {
        entries = entries.filter { now - $0.value.windowStart < window }
        guard entries.count >= maximumAddresses,
            let oldest = entries.min(by: { $0.value.windowStart < $1.value.windowStart })?.key
        else { return }
        entries[oldest] = nil
    }
}
