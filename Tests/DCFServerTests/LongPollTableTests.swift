// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Synchronization
import Testing

@testable import DCFServer

@Suite struct LongPollTableTests {
    let start = ContinuousClock.now
    let first = WorkerID("11111111")!
    let second = WorkerID("22222222")!

    private func table(version: ModelVersion? = 3) -> LongPollTable<String> {
        LongPollTable(hold: .seconds(50), currentVersion: version)
    }

    @Test func currentVersionParks() {
        var polls = table()
        let completions = polls.park(worker: first, knownVersion: 3, connectionID: 1, now: start, responder: "a")
        #expect(completions.isEmpty)
        #expect(polls.parkedCount == 1)
    }

    @Test func staleVersionCompletesAtOnce() throws {
        var polls = table()
        let completions = polls.park(worker: first, knownVersion: 2, connectionID: 1, now: start, responder: "a")
        let completion = try #require(completions.first)
        #expect(completion.responder == "a")
        #expect(completion.response == ModelWaitResponse(changed: true, version: 3))
        #expect(polls.parkedCount == 0)
    }

    @Test func noModelYetParksWorkerWithoutModel() {
        var polls = table(version: nil)
        let completions = polls.park(worker: first, knownVersion: nil, connectionID: 1, now: start, responder: "a")
        #expect(completions.isEmpty)
        #expect(polls.parkedCount == 1)
    }

    @Test func newPollReplacesOld() throws {
        var polls = table()
        _ = polls.park(worker: first, knownVersion: 3, connectionID: 1, now: start, responder: "old")
        let completions = polls.park(worker: first, knownVersion: 3, connectionID: 2, now: start, responder: "new")
        let replaced = try #require(completions.first)
        #expect(completions.count == 1)
        #expect(replaced.responder == "old")
        #expect(replaced.response.changed == false)
        #expect(polls.parkedCount == 1)
    }

    @Test func publishCompletesEveryPoll() {
        var polls = table()
        _ = polls.park(worker: first, knownVersion: 3, connectionID: 1, now: start, responder: "a")
        _ = polls.park(worker: second, knownVersion: 3, connectionID: 2, now: start, responder: "b")
        let completions = polls.publish(4)
        #expect(completions.map(\.responder).sorted() == ["a", "b"])
        #expect(completions.allSatisfy { $0.response == ModelWaitResponse(changed: true, version: 4) })
        #expect(polls.parkedCount == 0)
    }

    @Test func holdEndsWithNoChange() throws {
        var polls = table()
        _ = polls.park(worker: first, knownVersion: 3, connectionID: 1, now: start, responder: "a")
        _ = polls.park(worker: second, knownVersion: 3, connectionID: 2, now: start + .seconds(10), responder: "b")
        #expect(polls.nextDeadline == start + .seconds(50))
        let early = polls.expire(now: start + .seconds(49))
        #expect(early.isEmpty)
        let expired = polls.expire(now: start + .seconds(50))
        #expect(expired.map(\.responder) == ["a"])
        #expect(expired.first?.response == ModelWaitResponse(changed: false, version: 3))
        #expect(polls.nextDeadline == start + .seconds(60))
    }

    @Test func closedConnectionDropsPoll() {
        var polls = table()
        _ = polls.park(worker: first, knownVersion: 3, connectionID: 7, now: start, responder: "a")
        let unknownCancelled = polls.cancel(connectionID: 8)
        let parkedCancelled = polls.cancel(connectionID: 7)
        let completions = polls.publish(4)
        #expect(unknownCancelled == false)
        #expect(parkedCancelled)
        #expect(completions.isEmpty)
    }
}

@Suite struct LongPollRegistryTimerTests {
    /// The real hold timer ends a short hold by itself; the wait is bounded so a broken timer fails the test.
    @Test func holdTimerCompletesPoll() async throws {
        let polls = LongPollRegistry(hold: .milliseconds(20), currentVersion: 1, clock: SystemServerClock())
        let outcome = Mutex<ModelWaitResponse?>(nil)
        polls.park(worker: WorkerID("33333333")!, knownVersion: 1, connectionID: 1) { result in
            if case .answered(let response) = result { outcome.withLock { $0 = response } }
        }
        for _ in 0..<500 where outcome.withLock({ $0 }) == nil {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(outcome.withLock { $0 } == ModelWaitResponse(changed: false, version: 1))
        #expect(polls.parkedCount == 0)
    }
}
