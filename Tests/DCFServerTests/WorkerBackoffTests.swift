// SPDX-License-Identifier: Apache-2.0
@testable import DCFWorker
import Testing

@Suite struct WorkerBackoffTests {
    private let policy = RetryBackoff(
        initialDelay: .milliseconds(500), multiplier: 2, maximumDelay: .seconds(30), jitter: 0.5)

    @Test(arguments: [
        (0, Duration.milliseconds(500)), (1, .seconds(1)), (2, .seconds(2)), (5, .seconds(16)), (6, .seconds(30)),
        (60, .seconds(30)), (10_000, .seconds(30)), (Int.max, .seconds(30)),
    ])
    func ceilingGrowsThenCaps(attempt: Int, ceiling: Duration) {
        #expect(policy.delay(forAttempt: attempt, randomUnit: 0) == ceiling)
    }

    @Test(arguments: [0, 1, 3, 7, 100])
    func jitterStaysWithinBand(attempt: Int) {
        let ceiling = policy.delay(forAttempt: attempt, randomUnit: 0)
        let shortest = policy.delay(forAttempt: attempt, randomUnit: 0.999_999)
        let middle = policy.delay(forAttempt: attempt, randomUnit: 0.5)
        #expect(shortest >= ceiling / 2)
        #expect(shortest < middle)
        #expect(middle < ceiling)
        #expect(middle == ceiling * 0.75)
    }

    @Test func systemRandomDrawsAreBoundedAndVary() {
        var seen: Set<Duration> = []
        for attempt in 0..<200 {
            let delay = policy.delay(forAttempt: attempt)
            let ceiling = policy.delay(forAttempt: attempt, randomUnit: 0)
            #expect(delay <= ceiling)
            #expect(delay >= ceiling / 2)
            #expect(delay <= .seconds(30))
            seen.insert(delay)
        }
        // 200 draws from a continuous band; equal values would mean the jitter is not applied.
        #expect(seen.count > 150)
    }

    @Test func zeroJitterIsDeterministic() {
        let fixed = RetryBackoff(initialDelay: .seconds(1), multiplier: 3, maximumDelay: .seconds(10), jitter: 0)
        #expect(fixed.delay(forAttempt: 2, randomUnit: 0.9) == .seconds(9))
        #expect(fixed.delay(forAttempt: 3, randomUnit: 0.1) == .seconds(10))
    }

    @Test func outOfRangeSettingsAreClamped() {
        let odd = RetryBackoff(initialDelay: .seconds(-1), multiplier: 0.5, maximumDelay: .seconds(2), jitter: 7)
        #expect(odd.initialDelay == .zero)
        #expect(odd.multiplier == 1)
        #expect(odd.jitter == 1)
        #expect(odd.delay(forAttempt: 4, randomUnit: 0.5) == .zero)
        #expect(policy.delay(forAttempt: -3, randomUnit: 0) == .milliseconds(500))
    }
}

/// `DisplacedPollPacing`: "no change" replies that came at once are paced after a few in a row.
@Suite struct DisplacedPollPacingTests {
    private let backoff = RetryBackoff(initialDelay: .milliseconds(100), maximumDelay: .seconds(1), jitter: 0)

    @Test func earlyNoChangeRepliesArePacedAfterTheTolerated() {
        var pacing = DisplacedPollPacing()
        let early = Duration.milliseconds(5)
        #expect(pacing.delay(afterPollThatChanged: false, took: early, backoff: backoff) == nil)
        #expect(pacing.delay(afterPollThatChanged: false, took: early, backoff: backoff) == nil)
        #expect(pacing.delay(afterPollThatChanged: false, took: early, backoff: backoff) == .milliseconds(100))
        #expect(pacing.shouldWarn)
        #expect(pacing.delay(afterPollThatChanged: false, took: early, backoff: backoff) == .milliseconds(200))
        #expect(!pacing.shouldWarn)
    }

    @Test func heldOrChangedPollEndsTheStreak() {
        var pacing = DisplacedPollPacing()
        for _ in 0..<5 { _ = pacing.delay(afterPollThatChanged: false, took: .zero, backoff: backoff) }
        #expect(pacing.delay(afterPollThatChanged: false, took: .seconds(2), backoff: backoff) == nil)
        #expect(pacing.consecutive == 0)
        for _ in 0..<5 { _ = pacing.delay(afterPollThatChanged: false, took: .zero, backoff: backoff) }
        #expect(pacing.delay(afterPollThatChanged: true, took: .zero, backoff: backoff) == nil)
        #expect(pacing.consecutive == 0)
    }
}
