// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFServer
import Foundation
@testable import DCFWorker

/// A worker's key and the signed requests it sends, built with the same `SignedRequestContent` the agent uses.
struct TestWorker {
    let key: Ed25519PrivateKey
    /// The id to sign with: the public key until an unsafe-mode registration assigns another.
    var id: WorkerID

    init() throws {
        key = try Ed25519PrivateKey()
        id = WorkerID(key.publicKey.hexString)!
    }

    var publicKeyHex: String { key.publicKey.hexString }

    /// Builds a `POST /dcf/nonce` for `id` (this worker's by default), signed with this worker's key by the
    /// agent's own signer; `timestamp` overrides the signing time.
    func nonceRequest(for id: WorkerID? = nil, timestamp: Int? = nil) throws -> ServerRequest {
        let (body, headers) = try RequestSigner(key: key).nonceRequest(
            protocolVersion: 1, workerID: id ?? self.id, timestamp: timestamp)
        return ServerRequest(
            method: "POST", target: DCFRoute.noncePath, headers: headers.map { (name: $0.0, value: $0.1) },
            body: try .memory(body))
    }

    /// Builds a request signed over `SignedRequestContent`, exactly as the agent signs it.
    func signed(
        _ method: String, _ target: String, nonce: String, body: Data = Data(), baseVersion: String = "",
        protocolVersion: Int = 1, extraHeaders: [(String, String)] = [], connectionID: UInt64 = 0
    ) throws -> ServerRequest {
        let requestBody: RequestBody = body.isEmpty ? .empty : try .memory(body)
        let content = try SignedRequestContent(
            protocolVersion: protocolVersion, method: method, target: target, workerID: id, nonce: nonce,
            baseVersion: baseVersion, bodySHA256: requestBody.sha256)
        let signature = try key.signature(for: content.canonicalBytes)
        var headers: [(name: String, value: String)] = [
            (DCFHeader.protocolVersion, String(protocolVersion)), (DCFHeader.workerID, id.rawValue),
            (DCFHeader.nonce, nonce), (DCFHeader.signature, Hex.encode(signature)),
        ]
        if !baseVersion.isEmpty { headers.append((DCFHeader.baseVersion, baseVersion)) }
        if !body.isEmpty { headers.append((DCFHeader.bodySHA256, requestBody.sha256)) }
        headers += extraHeaders.map { (name: $0.0, value: $0.1) }
        return ServerRequest(method: method, target: target, headers: headers, body: requestBody, connectionID: connectionID)
    }
}

extension ServerRequest {
    /// Returns a copy whose header `name` is replaced by `value`, or removed when `value` is nil.
    func replacingHeader(_ name: String, with value: String?) -> ServerRequest {
        var copy = self
        copy.headers.removeAll { $0.name.caseInsensitiveCompare(name) == .orderedSame }
        if let value { copy.headers.append((name, value)) }
        return copy
    }
}
