// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Testing

@Suite struct NonceStoreTests {
    let clock = ManualClock()
    let worker = WorkerID("aaaaaaaa")!
    let other = WorkerID("bbbbbbbb")!

    private func store(perWorker: Int = 4, total: Int = 100) -> NonceStore {
        NonceStore(lifetime: .seconds(120), maximumPerWorker: perWorker, maximumTotal: total, clock: clock)
    }

    @Test func nonceIsSingleUse() throws {
        let nonces = store()
        let nonce = try nonces.issue(for: worker)
        #expect(nonces.consume(nonce, for: worker) == .accepted)
        #expect(nonces.consume(nonce, for: worker) == .unknown)
    }

    @Test func nonceIsBoundToItsWorker() throws {
        let nonces = store()
        let nonce = try nonces.issue(for: worker)
        #expect(nonces.consume(nonce, for: other) == .unknown)
        #expect(nonces.consume(nonce, for: worker) == .accepted)
    }

    @Test func nonceExpiresAfterLifetime() throws {
        let nonces = store()
        let early = try nonces.issue(for: worker)
        let late = try nonces.issue(for: worker)
        clock.advance(by: .seconds(119))
        #expect(nonces.consume(early, for: worker) == .accepted)
        clock.advance(by: .seconds(1))
        #expect(nonces.consume(late, for: worker) == .expired)
        #expect(nonces.consume(late, for: worker) == .unknown)
    }

    @Test func extraNonceEvictsOldest() throws {
        let nonces = store(perWorker: 2)
        let first = try nonces.issue(for: worker)
        let second = try nonces.issue(for: worker)
        let third = try nonces.issue(for: worker)
        #expect(nonces.outstandingCount == 2)
        #expect(nonces.consume(first, for: worker) == .unknown)
        #expect(nonces.consume(second, for: worker) == .accepted)
        #expect(nonces.consume(third, for: worker) == .accepted)
    }

    @Test func fullStoreRejectsUntilSweep() throws {
        let nonces = store(total: 2)
        _ = try nonces.issue(for: worker)
        _ = try nonces.issue(for: other)
        #expect(throws: DCFErrorResponse.self) { try nonces.issue(for: WorkerID("cccccccc")!) }
        clock.advance(by: .seconds(121))
        _ = try nonces.issue(for: WorkerID("cccccccc")!)
        #expect(nonces.outstandingCount == 1)
    }

    @Test func fullStoreStillEvictsForWorkerAtLimit() throws {
        let nonces = store(perWorker: 2, total: 2)
        let first = try nonces.issue(for: worker)
        _ = try nonces.issue(for: worker)
        let third = try nonces.issue(for: worker)
        #expect(nonces.outstandingCount == 2)
        #expect(nonces.consume(first, for: worker) == .unknown)
        #expect(nonces.consume(third, for: worker) == .accepted)
    }

    @Test func rejectedIssueKeepsCount() throws {
        let nonces = store(perWorker: 1, total: 1)
        _ = try nonces.issue(for: worker)
        #expect(throws: DCFErrorResponse.self) { try nonces.issue(for: other) }
        #expect(nonces.outstandingCount == 1)
    }

    @Test func issuedNoncesAreDistinctHex() throws {
        // Nonces come from a pool of random bytes refilled in blocks; crossing several refills must not repeat.
        let nonces = store(perWorker: 1000, total: 1000)
        let issued = try (0..<1000).map { _ in try nonces.issue(for: worker) }
        #expect(Set(issued).count == 1000)
        #expect(issued.allSatisfy { $0.count == 32 && $0.allSatisfy(\.isHexDigit) })
    }
}

/// A nonce held by an upload whose signed head arrived in time.
@Suite struct NonceHoldTests {
    let clock = ManualClock()
    let worker = WorkerID("aaaaaaaa")!

    private func store(perWorker: Int = 4) -> NonceStore {
        NonceStore(lifetime: .seconds(120), maximumPerWorker: perWorker, maximumTotal: 100, clock: clock)
    }

    @Test func heldNonceOutlivesLifetime() throws {
        let nonces = store()
        let nonce = try nonces.issue(for: worker)
        #expect(nonces.hold(nonce, for: worker) == .accepted)
        clock.advance(by: .seconds(600))
        nonces.removeExpired()
        #expect(nonces.peek(nonce, for: worker) == .accepted)
        #expect(nonces.consume(nonce, for: worker) == .accepted)
        #expect(nonces.consume(nonce, for: worker) == .unknown)
    }

    @Test func expiredNonceCannotBeHeld() throws {
        let nonces = store()
        let nonce = try nonces.issue(for: worker)
        clock.advance(by: .seconds(120))
        #expect(nonces.hold(nonce, for: worker) == .expired)
        #expect(nonces.hold(String(repeating: "0", count: 32), for: worker) == .unknown)
    }

    @Test func releaseRestartsLifetime() throws {
        let nonces = store()
        let nonce = try nonces.issue(for: worker)
        #expect(nonces.hold(nonce, for: worker) == .accepted)
        clock.advance(by: .seconds(300))
        nonces.release(nonce, for: worker)
        clock.advance(by: .seconds(119))
        #expect(nonces.peek(nonce, for: worker) == .accepted)
        clock.advance(by: .seconds(1))
        #expect(nonces.consume(nonce, for: worker) == .expired)
    }

    @Test func evictionSkipsHeldNonce() throws {
        let nonces = store(perWorker: 2)
        let heldNonce = try nonces.issue(for: worker)
        let freeNonce = try nonces.issue(for: worker)
        #expect(nonces.hold(heldNonce, for: worker) == .accepted)
        _ = try nonces.issue(for: worker)
        #expect(nonces.peek(heldNonce, for: worker) == .accepted)
        #expect(nonces.peek(freeNonce, for: worker) == .unknown)
    }
}
