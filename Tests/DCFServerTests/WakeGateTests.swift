// SPDX-License-Identifier: Apache-2.0
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import DCFServer

/// Requests held back during a long-poll wake-up run once it is written, or after the time limit.
@Suite struct WakeGateTests {
    private static func waitUntil(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test func openGateRunsWorkAtOnce() async {
        let gate = WakeGate(queue: DispatchQueue(label: "test"))
        let ran = Atomic(0)
        gate.submit { ran.add(1, ordering: .relaxed) }
        #expect(await Self.waitUntil { ran.load(ordering: .relaxed) == 1 })
    }

    @Test func heldWorkRunsWhenEveryWakeUpIsWritten() async throws {
        // A hold limit far beyond the test, so only the two wake-ups being written can release the work.
        let gate = WakeGate(queue: DispatchQueue(label: "test"), maximumHold: .seconds(600))
        let ran = Atomic(0)
        let first = gate.close()
        let second = gate.close()
        for _ in 0..<3 { gate.submit { ran.add(1, ordering: .relaxed) } }
        first()
        try await Task.sleep(for: .milliseconds(50))
        // One wake-up is still being written, so nothing ran yet.
        let runsSoFar = ran.load(ordering: .relaxed)
        #expect(runsSoFar == 0)
        second()
        second()
        #expect(await Self.waitUntil { ran.load(ordering: .relaxed) == 3 })
    }

    @Test func heldWorkRunsAfterTheTimeLimit() async {
        let gate = WakeGate(queue: DispatchQueue(label: "test"), maximumHold: .milliseconds(100))
        let ran = Atomic(0)
        _ = gate.close()
        gate.submit { ran.add(1, ordering: .relaxed) }
        // The wake-up is never reported written; the hold limit releases the work.
        #expect(await Self.waitUntil { ran.load(ordering: .relaxed) == 1 })
    }
}
