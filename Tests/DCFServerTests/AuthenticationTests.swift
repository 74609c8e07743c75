// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFServer
import Foundation
import Testing

/// Each authentication failure returns its own code and leaves the registry, the nonces and the strategy
/// as they were.
@Suite struct AuthenticationTests {
    private func harnessWithRegisteredWorker() throws -> (ServerHarness, TestWorker) {
        let worker = try TestWorker()
        let harness = try ServerHarness()
        _ = try harness.server.registry.addWorker(publicKey: worker.publicKeyHex, registered: true)
        return (harness, worker)
    }

    private func snapshot(_ harness: ServerHarness) -> [String] {
        harness.server.registry.workers.map { "\($0.id):\($0.status)" }
            + ["registered:\(harness.strategy.registeredCalls.count)", "updates:\(harness.strategy.updateCount)"]
    }

    @Test func validRequestGetsModelAndNextNonce() throws {
        let (harness, worker) = try harnessWithRegisteredWorker()
        let nonce = try harness.nonce(for: worker)
        let response = try #require(harness.send(try worker.signed("GET", DCFRoute.modelPath, nonce: nonce)))
        #expect(response.status == 200)
        #expect(response.body == Data("v1".utf8))
        let next = try #require(response.header(DCFHeader.nextNonce))
        let again = try #require(harness.send(try worker.signed("GET", DCFRoute.modelPath, nonce: next)))
        #expect(again.status == 200)
    }

    @Test func unknownKeyIsRejected() throws {
        let harness = try ServerHarness()
        let stranger = try TestWorker()
        let response = try #require(harness.send(try stranger.nonceRequest()))
        #expect(response.code == .unknownKey)
        #expect(response.status == 401)
        #expect(harness.logged("worker=\(stranger.id.short)"))
        let signed = try #require(harness.send(try stranger.signed("GET", DCFRoute.modelPath, nonce: "00")))
        #expect(signed.code == .unknownKey)
    }

    @Test func unregisteredWorkerIsRejected() throws {
        let worker = try TestWorker()
        let harness = try ServerHarness()
        _ = try harness.server.registry.addWorker(publicKey: worker.publicKeyHex, registered: false)
        let nonce = try harness.nonce(for: worker)
        let before = snapshot(harness)
        let response = try #require(harness.send(try worker.signed("GET", DCFRoute.modelPath, nonce: nonce)))
        #expect(response.code == .unregisteredWorker)
        #expect(response.status == 403)
        #expect(snapshot(harness) == before)
        #expect(harness.server.nonces.isOutstanding(nonce, for: worker.id))
    }

    @Test func badSignatureIsRejected() throws {
        let (harness, worker) = try harnessWithRegisteredWorker()
        let nonce = try harness.nonce(for: worker)
        let request = try worker.signed("GET", DCFRoute.modelPath, nonce: nonce)
        let forged = request.replacingHeader(DCFHeader.signature, with: String(repeating: "ab", count: 64))
        let before = snapshot(harness)
        let response = try #require(harness.send(forged))
        #expect(response.code == .badSignature)
        #expect(snapshot(harness) == before)
        #expect(harness.server.nonces.isOutstanding(nonce, for: worker.id))
        #expect(harness.logged("code=bad_signature"))
        #expect(harness.logged("worker=\(worker.id.short)"))
    }

    @Test func signatureCoversTargetAndBody() throws {
        let (harness, worker) = try harnessWithRegisteredWorker()
        let nonce = try harness.nonce(for: worker)
        var retargeted = try worker.signed("GET", DCFRoute.modelPath, nonce: nonce)
        retargeted.target = "/dcf/model/1"
        #expect(harness.send(retargeted)?.code == .badSignature)
        var swapped = try worker.signed(
            "POST", DCFRoute.updatePath, nonce: nonce, body: Data("a".utf8), baseVersion: "1")
        swapped.body = try .memory(Data("b".utf8))
        #expect(harness.send(swapped)?.code == .badSignature)
        let rebased = try worker.signed("POST", DCFRoute.updatePath, nonce: nonce, body: Data("a".utf8), baseVersion: "1")
            .replacingHeader(DCFHeader.baseVersion, with: "0")
        #expect(harness.send(rebased)?.code == .badSignature)
        #expect(harness.strategy.updateCount == 0)
    }

    @Test func reusedNonceIsReplay() throws {
        let (harness, worker) = try harnessWithRegisteredWorker()
        let request = try worker.signed("GET", DCFRoute.modelPath, nonce: try harness.nonce(for: worker))
        #expect(harness.send(request)?.status == 200)
        let replay = try #require(harness.send(request))
        #expect(replay.code == .replayedRequest)
        #expect(replay.status == 401)
        #expect(replay.header(DCFHeader.nextNonce) == nil)
        #expect(harness.logged("code=replayed_request"))
    }

    @Test func expiredNonceIsRejected() throws {
        let (harness, worker) = try harnessWithRegisteredWorker()
        let nonce = try harness.nonce(for: worker)
        harness.clock.advance(by: .seconds(121))
        let response = try #require(harness.send(try worker.signed("GET", DCFRoute.modelPath, nonce: nonce)))
        #expect(response.code == .nonceExpired)
    }

    @Test func nonceOfAnotherWorkerIsReplay() throws {
        let (harness, worker) = try harnessWithRegisteredWorker()
        let other = try TestWorker()
        _ = try harness.server.registry.addWorker(publicKey: other.publicKeyHex, registered: true)
        let othersNonce = try harness.nonce(for: other)
        let response = try #require(harness.send(try worker.signed("GET", DCFRoute.modelPath, nonce: othersNonce)))
        #expect(response.code == .replayedRequest)
        #expect(harness.server.nonces.isOutstanding(othersNonce, for: other.id))
    }

    @Test(arguments: [DCFHeader.workerID, DCFHeader.nonce, DCFHeader.signature])
    func missingHeaderIsRejected(header: String) throws {
        let (harness, worker) = try harnessWithRegisteredWorker()
        let request = try worker.signed("GET", DCFRoute.modelPath, nonce: try harness.nonce(for: worker))
        let response = try #require(harness.send(request.replacingHeader(header, with: nil)))
        #expect(response.code == .missingHeader)
        #expect(String(decoding: response.body, as: UTF8.self).contains(header))
    }

    @Test(arguments: [nil, "0", "2", "x"])
    func protocolOutsideRangeGets426(version: String?) throws {
        let (harness, worker) = try harnessWithRegisteredWorker()
        let request = try worker.signed("GET", DCFRoute.modelPath, nonce: try harness.nonce(for: worker))
            .replacingHeader(DCFHeader.protocolVersion, with: version)
        let response = try #require(harness.send(request))
        #expect(response.status == 426)
        #expect(response.code == .protocolMismatch)
        let message = try response.decode(DCFErrorResponse.self).message
        #expect(message.contains("speaks protocol 1") || message.contains("this server speaks 1"))
        if let version { #expect(message.contains("version \(version)")) }
    }
}
