// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import Foundation
import Testing

@testable import DCFServer

/// Tests that authentication after an upload's body reuses the signature check of its head only for the same
/// worker and the same body digest.
@Suite struct VerifiedHeadTests {
    private func harnessWithRegisteredWorker() throws -> (ServerHarness, TestWorker) {
        let worker = try TestWorker()
        let harness = try ServerHarness()
        _ = try harness.server.registry.addWorker(publicKey: worker.publicKeyHex, registered: true)
        return (harness, worker)
    }

    /// Returns an update whose signature header is garbage, so that any new verification of it fails.
    private func forgedUpdate(_ worker: TestWorker, nonce: String, body: Data) throws -> ServerRequest {
        try worker.signed("POST", DCFRoute.updatePath, nonce: nonce, body: body, baseVersion: "1")
            .replacingHeader(DCFHeader.signature, with: String(repeating: "ab", count: 64))
    }

    @Test func verifiedHeadIsNotVerifiedAgain() throws {
        let (harness, worker) = try harnessWithRegisteredWorker()
        let body = Data("update".utf8)
        var request = try forgedUpdate(worker, nonce: try harness.nonce(for: worker), body: body)
        request.verifiedHead = (worker.id, try SHA256.hash(body).hexString)
        let response = try #require(harness.send(request))
        #expect(response.status == 200)
        #expect(harness.strategy.updateCount == 1)
    }

    @Test func otherBodyDigestIsVerifiedAgain() throws {
        let (harness, worker) = try harnessWithRegisteredWorker()
        var request = try forgedUpdate(worker, nonce: try harness.nonce(for: worker), body: Data("update".utf8))
        request.verifiedHead = (worker.id, try SHA256.hash(Data("other".utf8)).hexString)
        #expect(harness.send(request)?.code == .badSignature)
        #expect(harness.strategy.updateCount == 0)
    }

    @Test func otherWorkerIsVerifiedAgain() throws {
        let (harness, worker) = try harnessWithRegisteredWorker()
        let other = try TestWorker()
        let body = Data("update".utf8)
        var request = try forgedUpdate(worker, nonce: try harness.nonce(for: worker), body: body)
        request.verifiedHead = (other.id, try SHA256.hash(body).hexString)
        #expect(harness.send(request)?.code == .badSignature)
        #expect(harness.strategy.updateCount == 0)
    }
}
