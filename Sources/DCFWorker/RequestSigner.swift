// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import Foundation

/// Signs worker requests over `SignedRequestContent`, the same canonical bytes the server verifies.
struct RequestSigner: Sendable {
    let key: Ed25519PrivateKey

    /// The worker id in safe mode, and the id to register with in unsafe mode: the public key hex.
    var publicKeyID: WorkerID { WorkerID(key.publicKey.hexString)! }

    /// Returns the body and headers of a signed `POST /dcf/nonce` for `workerID`, stamped with `timestamp`
    /// (Unix seconds; nil means now).
    func nonceRequest(
        protocolVersion: Int, workerID: WorkerID, timestamp: Int? = nil
    ) throws -> (body: Data, headers: [(String, String)]) {
        let body = try JSONEncoder().encode(
            NonceRequest(
                workerID: workerID, timestamp: timestamp ?? Int(Date().timeIntervalSince1970),
                requestID: Hex.encode(try SecureRandom.bytes(count: 8))))
        let content = try SignedRequestContent(
            protocolVersion: protocolVersion, method: "POST", target: DCFRoute.noncePath, workerID: workerID,
            nonce: "", baseVersion: "", bodySHA256: try SHA256.hash(body).hexString)
        let signature = try key.signature(for: content.canonicalBytes)
        let headers = [
            (DCFHeader.protocolVersion, String(protocolVersion)), (DCFHeader.workerID, workerID.rawValue),
            (DCFHeader.signature, Hex.encode(signature)), ("Content-Type", "application/json"),
        ]
        return (body, headers)
    }

    /// Returns the dcf headers of a signed request: protocol, worker id, nonce, signature, the body's digest
    /// when there is a body and, for updates, the base version.
    ///
    /// - Parameters:
    ///   - body: the body exactly as it goes on the wire, after any compression.
    ///   - bodySHA256: the SHA-256 of `body` as lowercase hex when already known; nil hashes `body`.
    func headers(
        protocolVersion: Int, method: String, target: String, workerID: WorkerID, nonce: String,
        baseVersion: ModelVersion? = nil, body: Data, bodySHA256: String? = nil
    ) throws -> [(String, String)] {
        let digest = try bodySHA256 ?? SHA256.hash(body).hexString
        let content = try SignedRequestContent(
            protocolVersion: protocolVersion, method: method, target: target, workerID: workerID, nonce: nonce,
            baseVersion: baseVersion?.description ?? "", bodySHA256: digest)
        let signature = try key.signature(for: content.canonicalBytes)
        var headers = [
            (DCFHeader.protocolVersion, String(protocolVersion)), (DCFHeader.workerID, workerID.rawValue),
            (DCFHeader.nonce, nonce), (DCFHeader.signature, Hex.encode(signature)),
        ]
        if let baseVersion { headers.append((DCFHeader.baseVersion, baseVersion.description)) }
        if !body.isEmpty { headers.append((DCFHeader.bodySHA256, digest)) }
        return headers
    }
}
