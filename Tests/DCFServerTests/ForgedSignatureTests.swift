// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Foundation
import Testing

/// Keys and signatures an attacker could use to act as a worker without its private key.
@Suite struct ForgedSignatureTests {
    /// The identity point of edwards25519, a point of small order. With it as the public key, the signature
    /// R = identity, S = 0 satisfies the verification equation for every message.
    static let identityPointKey = "01" + String(repeating: "00", count: 31)
    static let constantSignature = "01" + String(repeating: "00", count: 63)

    /// A copy of a signed nonce request must be rejected even when the signature's hex digits change case,
    /// because both spellings decode to the same signature.
    @Test func uppercasedSignatureCopyRejected() throws {
        let worker = try TestWorker()
        let harness = try ServerHarness()
        _ = try harness.server.registry.addWorker(publicKey: worker.publicKeyHex, registered: true)
        let request = try worker.nonceRequest()
        #expect(harness.send(request)?.status == 200)
        let signature = try #require(request.header(DCFHeader.signature))
        let copy = request.replacingHeader(DCFHeader.signature, with: signature.uppercased())
        let response = try #require(harness.send(copy))
        #expect(response.status == 401, "\(String(decoding: response.body, as: UTF8.self))")
        #expect(response.code == .replayedRequest)
        #expect(harness.server.nonces.outstandingCount == 1)
    }

    /// Public keys that cannot protect a worker: a small-order point and 32 bytes that are no curve point.
    @Test(arguments: [identityPointKey, String(repeating: "ff", count: 32)])
    func adminRejectsUnusableKey(_ key: String) throws {
        let harness = try ServerHarness()
        #expect(throws: DCFErrorResponse.self) {
            _ = try harness.server.registry.addWorker(publicKey: key, registered: true)
        }
        #expect(harness.server.registry.workers.isEmpty)
    }

    /// Whatever the registry holds, a request carrying the constant signature must not authenticate.
    @Test func constantSignatureRejected() throws {
        let harness = try ServerHarness()
        _ = try? harness.server.registry.addWorker(publicKey: Self.identityPointKey, registered: true)
        let id = try #require(WorkerID(Self.identityPointKey))
        let message = NonceRequest(
            workerID: id, timestamp: Int(Date().timeIntervalSince1970), requestID: UUID().uuidString)
        let request = ServerRequest(
            method: "POST", target: DCFRoute.noncePath,
            headers: [
                (DCFHeader.protocolVersion, "1"), (DCFHeader.workerID, id.rawValue),
                (DCFHeader.signature, Self.constantSignature),
            ],
            body: try .memory(JSONEncoder().encode(message)))
        let response = try #require(harness.send(request))
        #expect(response.status != 200, "a forged signature obtained a nonce for worker \(id.short)")
        #expect(harness.server.nonces.outstandingCount == 0)
    }
}
