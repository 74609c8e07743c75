// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Testing

struct LogRepeatLimitTests {
    @Test func repeatsWithinIntervalAreHeldBack() {
        let limit = LogRepeatLimit(interval: .seconds(10))
        let start = ContinuousClock.now
        #expect(limit.admit(now: start) == 0)
        for step in 1...99 {
            #expect(limit.admit(now: start + .milliseconds(100 * step)) == nil)
        }
        #expect(limit.admit(now: start + .seconds(10)) == 99)
        #expect(limit.admit(now: start + .seconds(11)) == nil)
        #expect(limit.admit(now: start + .seconds(20)) == 1)
    }
}
