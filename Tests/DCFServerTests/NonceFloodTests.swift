// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Foundation
import Testing

/// `POST /dcf/nonce` is unauthenticated, so a third party may flood it for any allowed worker id.
@Suite struct NonceFloodTests {
    @Test func requestedNoncesCannotEvictSignedResponseNonce() throws {
        let nonces = NonceStore(lifetime: .seconds(120), maximumPerWorker: 4, maximumTotal: 100, clock: ManualClock())
        let worker = WorkerID("aaaaaaaa")!
        let next = try nonces.issue(for: worker, origin: .signedResponse)
        for _ in 0..<20 { _ = try nonces.issue(for: worker) }
        #expect(nonces.isOutstanding(next, for: worker))
        #expect(nonces.consume(next, for: worker) == .accepted)
    }

    @Test func signedResponseNonceIssuedWhenStoreIsFull() throws {
        let nonces = NonceStore(lifetime: .seconds(120), maximumPerWorker: 4, maximumTotal: 2, clock: ManualClock())
        _ = try nonces.issue(for: WorkerID("bbbbbbbb")!)
        _ = try nonces.issue(for: WorkerID("cccccccc")!)
        let worker = WorkerID("aaaaaaaa")!
        #expect(throws: DCFErrorResponse.self) { try nonces.issue(for: worker) }
        let next = try nonces.issue(for: worker, origin: .signedResponse)
        #expect(nonces.consume(next, for: worker) == .accepted)
    }

    @Test func floodDoesNotBreakNextNonce() async throws {
        try await HTTPHarness.run { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let first = try await harness.signed(worker, "GET", DCFRoute.modelPath)
            #expect(first.statusCode == 200, "\(first.text)")
            let next = try #require(first.headers[DCFHeader.nextNonce])
            // A third party asks for more nonces than a worker may hold, for the worker's id.
            for _ in 0..<(harness.server.nonces.maximumPerWorker * 3) {
                let flood = try await harness.send(try TestWorker().nonceRequest(for: worker.id))
                #expect(flood.statusCode == 200, "\(flood.text)")
            }
            let second = try await harness.send(try worker.signed("GET", DCFRoute.modelPath, nonce: next))
            #expect(second.statusCode == 200, "\(second.text)")
            #expect(second.code == nil)
        }
    }
}
