// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Exponential backoff with jitter for reconnecting to the server.
///
/// The ceiling for attempt `n` (counting from 0) is `initialDelay × multiplier^n`, capped at `maximumDelay`.
/// The delay is drawn from `[ceiling × (1 - jitter), ceiling]`, so workers that lost the same server do not
/// all come back in the same instant.
public struct RetryBackoff: Sendable, Hashable {
    /// Ceiling of the first delay. Default 0.5 s.
    public var initialDelay: Duration
    /// Growth factor of the ceiling per attempt; at least 1. Default 2.
    public var multiplier: Double
    /// Largest delay ever returned. Default 30 s.
    public var maximumDelay: Duration
    /// Fraction of the ceiling that is randomized, from 0 (none) to 1 (the whole delay). Default 0.5.
    public var jitter: Double

    /// Creates a policy; values outside their documented ranges are clamped into them.
    public init(
        initialDelay: Duration = .milliseconds(500), multiplier: Double = 2, maximumDelay: Duration = .seconds(30),
        jitter: Double = 0.5
    ) {
        self.initialDelay = max(initialDelay, .zero)
        self.multiplier = max(multiplier, 1)
        self.maximumDelay = max(maximumDelay, .zero)
        self.jitter = min(max(jitter, 0), 1)
    }

    /// Returns the delay before retry number `attempt` (0 for the first retry).
    ///
    /// - Parameter randomUnit: a value in `[0, 1)`; 0 gives the ceiling, values near 1 the shortest delay.
    public func delay(forAttempt attempt: Int, randomUnit: Double) -> Duration {
        let ceiling = ceilingSeconds(forAttempt: attempt)
        let unit = min(max(randomUnit, 0), 1)
        let seconds = ceiling * (1 - jitter * unit)
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// Returns the delay before retry number `attempt` with a jitter drawn from the system generator.
    public func delay(forAttempt attempt: Int) -> Duration {
        delay(forAttempt: attempt, randomUnit: Double.random(in: 0..<1))
    }

    /// The un-jittered delay for `attempt`, in seconds; computed in floating point and capped before
    /// converting, so a large attempt count cannot overflow.
    private func ceilingSeconds(forAttempt attempt: Int) -> Double {
        let cap = Self.seconds(maximumDelay)
        let grown = Self.seconds(initialDelay) * pow(multiplier, Double(max(attempt, 0)))
        return grown.isFinite ? min(grown, cap) : cap
    }

    private static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
