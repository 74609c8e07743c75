// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Foundation
import Testing

/// A third party may flood `POST /dcf/nonce` naming any allowed worker id; only the worker's own key gets nonces.
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
            let requested = try await harness.nonce(for: worker)
            // A third party requests more nonces than a worker may hold, for the worker's id, with its own key.
            for _ in 0..<(harness.server.nonces.maximumPerWorker * 3) {
                let flood = try await harness.send(try TestWorker().nonceRequest(for: worker.id))
                #expect(flood.statusCode == 401, "\(flood.text)")
                #expect(flood.code == .badSignature)
            }
            let second = try await harness.send(try worker.signed("GET", DCFRoute.modelPath, nonce: next))
            #expect(second.statusCode == 200, "\(second.text)")
            #expect(second.code == nil)
            // The nonce the worker asked for was not pushed out either.
            let third = try await harness.send(try worker.signed("GET", DCFRoute.modelPath, nonce: requested))
            #expect(third.statusCode == 200, "\(third.text)")
        }
    }

    @Test(arguments: ["unsigned", "stale", "farPast", "otherWorker"])
    func invalidNonceRequestIsRejected(_ kind: String) throws {
        let worker = try TestWorker()
        let other = try TestWorker()
        let harness = try ServerHarness(admission: { directory in
            .safe(keyList: KeyListFile(url: try directory.file(
                "keys.txt", contents: worker.publicKeyHex + "\n" + other.publicKeyHex + "\n")))
        })
        var request = try worker.nonceRequest()
        let expected: (status: Int, code: DCFErrorCode)
        switch kind {
        case "unsigned":
            request = request.replacingHeader(DCFHeader.signature, with: nil)
            expected = (400, .missingHeader)
        case "stale":
            let hourAgo = Int(Date().timeIntervalSince1970) - 3600
            request = try worker.nonceRequest(timestamp: hourAgo)
            expected = (400, .badRequest)
        case "farPast":
            // Subtracting this from the current time would overflow.
            request = try worker.nonceRequest(timestamp: Int.min + 1)
            expected = (400, .badRequest)
        default:
            // Signed correctly, but the header names another worker than the body.
            request = request.replacingHeader(DCFHeader.workerID, with: other.id.rawValue)
            expected = (400, .badRequest)
        }
        let response = try #require(harness.send(request))
        #expect(response.status == expected.status, "\(String(decoding: response.body, as: UTF8.self))")
        #expect(response.code == expected.code)
        #expect(harness.server.nonces.outstandingCount == 0)
    }

    @Test func copiedNonceRequestIsRejected() throws {
        let worker = try TestWorker()
        let harness = try ServerHarness(admission: { directory in
            .safe(keyList: KeyListFile(url: try directory.file("keys.txt", contents: worker.publicKeyHex + "\n")))
        })
        let request = try worker.nonceRequest()
        #expect(harness.send(request)?.status == 200)
        let copy = try #require(harness.send(request))
        #expect(copy.status == 401)
        #expect(copy.code == .replayedRequest)
        #expect(harness.server.nonces.outstandingCount == 1)
    }
}
