// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing

@testable import DCFServer

struct SeenNonceRequestsTests {
    private let expiry = Int(Date().timeIntervalSince1970) + 600
    private let worker = WorkerID("aaaaaaaa")!

    @Test func copyInOtherLetterCaseIsAReplay() {
        let seen = SeenNonceRequests()
        let signature = "abcdef0123"
        #expect(seen.record(signature, of: worker, until: expiry) == .firstUse)
        #expect(seen.record(signature.uppercased(), of: worker, until: expiry) == .replayed)
    }

    @Test func oneWorkerCannotGrowTheTableWithoutBound() {
        let seen = SeenNonceRequests(maximumPerWorker: 8)
        for index in 0..<8 {
            #expect(seen.record("signature-\(index)", of: worker, until: expiry) == .firstUse)
        }
        #expect(seen.record("signature-8", of: worker, until: expiry) == .tooMany)
        // Another worker is not held back by the first one's requests.
        #expect(seen.record("signature-8", of: WorkerID("bbbbbbbb")!, until: expiry) == .firstUse)
    }

    @Test func allWorkersTogetherAreBounded() {
        let seen = SeenNonceRequests(maximumPerWorker: 8, maximumTotal: 4)
        for index in 0..<4 {
            #expect(seen.record("signature-\(index)", of: WorkerID("0000000\(index)")!, until: expiry) == .firstUse)
        }
        #expect(seen.record("signature-4", of: WorkerID("00000004")!, until: expiry) == .tooMany)
    }

    @Test func expiredEntriesMakeRoomAgain() {
        let seen = SeenNonceRequests(maximumPerWorker: 2)
        let past = Int(Date().timeIntervalSince1970) - 1
        #expect(seen.record("old-1", of: worker, until: past) == .firstUse)
        #expect(seen.record("old-2", of: worker, until: past) == .firstUse)
        #expect(seen.record("new", of: worker, until: expiry) == .firstUse)
    }
}
