// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
@testable import DCFWorker
import Testing

@Suite struct WorkerNonceTests {
    private let alice = WorkerID("aaaaaaaa11111111")!
    private let bob = WorkerID("bbbbbbbb22222222")!

    @Test func nonceIsHandedOutOnce() {
        let slot = NonceSlot()
        slot.store("n1", for: alice)
        #expect(slot.take(for: alice) == "n1")
        #expect(slot.take(for: alice) == nil)
    }

    @Test func newerNonceReplacesOlder() {
        let slot = NonceSlot()
        slot.store("n1", for: alice)
        slot.store("n2", for: alice)
        #expect(slot.take(for: alice) == "n2")
    }

    @Test func nonceOfOtherWorkerIsDropped() {
        let slot = NonceSlot()
        slot.store("n1", for: alice)
        #expect(slot.take(for: bob) == nil)
        #expect(slot.take(for: alice) == nil)
    }

    @Test func oldNonceIsDropped() {
        let slot = NonceSlot()
        slot.learnLifetime(seconds: 60)
        #expect(slot.usableFor == .seconds(45))
        let received = ContinuousClock.now
        slot.store("n1", for: alice, receivedAt: received)
        #expect(slot.take(for: alice, now: received + .seconds(46)) == nil)
        slot.store("n2", for: alice, receivedAt: received)
        #expect(slot.take(for: alice, now: received + .seconds(44)) == "n2")
    }

    @Test func marginIsAtMostFifteenSeconds() {
        let slot = NonceSlot()
        #expect(slot.usableFor == .seconds(105))
        slot.learnLifetime(seconds: 0)
        #expect(slot.usableFor == .seconds(105))
        slot.learnLifetime(seconds: 8)
        #expect(slot.usableFor == .seconds(6))
    }

    @Test func clearDropsNonce() {
        let slot = NonceSlot()
        slot.store("n1", for: alice)
        slot.clear()
        #expect(slot.take(for: alice) == nil)
    }

    @Test func eachRecoveryStepRunsOnce() {
        var recovery = RequestRecovery()
        let expired = DCFErrorResponse(.nonceExpired, "expired")
        let replayed = DCFErrorResponse(.replayedRequest, "used")
        #expect(recovery.step(for: expired, isRegistration: false) == .freshNonce)
        #expect(recovery.step(for: replayed, isRegistration: false) == nil)
        let lost = DCFErrorResponse(.unregisteredWorker, "lost")
        #expect(recovery.step(for: lost, isRegistration: true) == nil)
        #expect(recovery.step(for: lost, isRegistration: false) == .register)
        #expect(recovery.step(for: DCFErrorResponse(.unknownKey, "gone"), isRegistration: false) == nil)
        #expect(recovery.step(for: DCFErrorResponse(.protocolMismatch, "v9"), isRegistration: false) == .renegotiate)
        #expect(recovery.step(for: DCFErrorResponse(.badSignature, "bad"), isRegistration: false) == nil)
    }
}
