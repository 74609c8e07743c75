// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFServer
@testable import DCFWorker
import Foundation
import Testing

/// Requests signed by the worker's `RequestSigner`, checked by the server's own authenticator in-process.
@Suite struct WorkerSigningTests {
    private let signer: RequestSigner
    private let harness: ServerHarness

    init() throws {
        signer = RequestSigner(key: try Ed25519PrivateKey())
        let keyHex = signer.key.publicKey.hexString
        harness = try ServerHarness(admission: { directory in
            .safe(keyList: KeyListFile(url: try directory.file("keys.txt", contents: keyHex + "\n")))
        })
    }

    private func nonce() throws -> String {
        let (body, headers) = try signer.nonceRequest(protocolVersion: 1, workerID: signer.publicKeyID)
        let request = ServerRequest(
            method: "POST", target: DCFRoute.noncePath, headers: headers.map { (name: $0.0, value: $0.1) },
            body: try .memory(body))
        return try #require(harness.send(request)).decode(NonceResponse.self).nonce
    }

    /// Builds the server's view of a request the worker signed.
    private func request(
        _ method: String, _ target: String, body: Data = Data(), baseVersion: ModelVersion? = nil,
        nonce: String, sentBody: Data? = nil, sentTarget: String? = nil, sentBase: String? = nil
    ) throws -> ServerRequest {
        var headers = try signer.headers(
            protocolVersion: 1, method: method, target: target, workerID: signer.publicKeyID, nonce: nonce,
            baseVersion: baseVersion, body: body
        ).map { (name: $0.0, value: $0.1) }
        if let sentBase {
            headers.removeAll { $0.name == DCFHeader.baseVersion }
            headers.append((DCFHeader.baseVersion, sentBase))
        }
        let wire = sentBody ?? body
        return ServerRequest(
            method: method, target: sentTarget ?? target, headers: headers,
            body: wire.isEmpty ? .empty : try .memory(wire))
    }

    private func register() throws -> ServerResponse {
        let body = try JSONEncoder().encode(RegisterRequest(publicKey: signer.key.publicKey.hexString))
        return try #require(harness.send(try request("POST", DCFRoute.registerPath, body: body, nonce: nonce())))
    }

    @Test func registrationIsAccepted() throws {
        let response = try register()
        #expect(response.status == 200)
        #expect(try response.decode(RegisterResponse.self).workerID == signer.publicKeyID)
        #expect(harness.strategy.registeredCalls == [signer.publicKeyID])
    }

    @Test func signedUpdateIsAccepted() throws {
        let next = try #require(try register().header(DCFHeader.nextNonce))
        let payload = Data("update bytes".utf8)
        let response = try #require(
            harness.send(try request("POST", DCFRoute.updatePath, body: payload, baseVersion: 1, nonce: next)))
        #expect(response.status == 200)
        #expect(harness.strategy.lastUpdate?.payload == payload)
        #expect(harness.strategy.lastUpdate?.bodySHA256 == (try SHA256.hash(payload).hexString))
    }

    @Test func signedDownloadIsAccepted() throws {
        let next = try #require(try register().header(DCFHeader.nextNonce))
        let response = try #require(harness.send(try request("GET", "/dcf/model/1", nonce: next)))
        #expect(response.status == 200)
        #expect(response.body == Data("v1".utf8))
    }

    @Test func changedBodyFailsVerification() throws {
        let next = try #require(try register().header(DCFHeader.nextNonce))
        let forged = try request(
            "POST", DCFRoute.updatePath, body: Data("signed".utf8), baseVersion: 1, nonce: next,
            sentBody: Data("swapped".utf8))
        #expect(harness.send(forged)?.code == .badSignature)
        #expect(harness.strategy.updateCount == 0)
    }

    @Test func changedBaseVersionFailsVerification() throws {
        let next = try #require(try register().header(DCFHeader.nextNonce))
        let forged = try request(
            "POST", DCFRoute.updatePath, body: Data("w".utf8), baseVersion: 1, nonce: next, sentBase: "2")
        #expect(harness.send(forged)?.code == .badSignature)
    }

    @Test func changedTargetFailsVerification() throws {
        let next = try #require(try register().header(DCFHeader.nextNonce))
        let forged = try request("GET", "/dcf/model/1", nonce: next, sentTarget: DCFRoute.modelPath)
        #expect(harness.send(forged)?.code == .badSignature)
    }

    @Test func nonceIsSingleUse() throws {
        let next = try #require(try register().header(DCFHeader.nextNonce))
        let download = try request("GET", DCFRoute.modelPath, nonce: next)
        #expect(harness.send(download)?.status == 200)
        #expect(harness.send(download)?.code == .replayedRequest)
    }
}
