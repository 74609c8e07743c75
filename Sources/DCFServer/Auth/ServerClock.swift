// SPDX-License-Identifier: Apache-2.0

/// The monotonic time source for nonce expiry and long-poll holds; tests substitute a manual clock.
public protocol ServerClock: Sendable {
    var now: ContinuousClock.Instant { get }
}

/// The system's monotonic clock.
public struct SystemServerClock: ServerClock {
    public init() {}

    public var now: ContinuousClock.Instant { ContinuousClock.now }
}
