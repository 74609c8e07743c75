// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFTransport
import Foundation

/// One worker that fetches a nonce and parks a signed `GET /dcf/model/wait`, signing exactly as DCFWorker does.
struct WaitingWorker: Sendable {
    let key: Ed25519PrivateKey
    let id: WorkerID
    static let emptyBodySHA256 = try! SHA256.hash(Data()).hexString

    init(key: Ed25519PrivateKey) {
        self.key = key
        id = WorkerID(key.publicKey.hexString)!
    }

    init() throws {
        self.init(key: try Ed25519PrivateKey())
    }

    /// Sends the long poll for `knownVersion` and blocks until the server responds.
    ///
    /// Signs with `nonce`, the `DCF-Next-Nonce` of the previous response as DCFWorker does, or with a nonce
    /// fetched from `POST /dcf/nonce` when it is nil.
    ///
    /// - Throws: a transport error, or `BenchError` when either response is not 200.
    func wait(
        client: HTTPClient, knownVersion: ModelVersion, hold: Duration, nonce: String? = nil
    ) throws -> HTTPClientResponse {
        let nonce = try nonce ?? fetchNonce(client: client)
        let target = DCFRoute.modelWaitTarget(knownVersion: knownVersion)
        let content = try SignedRequestContent(
            protocolVersion: 1, method: "GET", target: target, workerID: id, nonce: nonce, baseVersion: "",
            bodySHA256: Self.emptyBodySHA256)
        let headers: HTTPHeaders = [
            DCFHeader.protocolVersion: "1", DCFHeader.workerID: id.rawValue, DCFHeader.nonce: nonce,
            DCFHeader.signature: Hex.encode(try key.signature(for: content.canonicalBytes)),
        ]
        let response = try client.execute(HTTPClientRequest(path: target, headers: headers, idleTimeout: hold))
        guard response.statusCode == 200 else {
            throw BenchError("long poll returned \(response.statusCode): \(String(decoding: response.body, as: UTF8.self))")
        }
        return response
    }

    private func fetchNonce(client: HTTPClient) throws -> String {
        let body = try JSONEncoder().encode(NonceRequest(workerID: id))
        let response = try client.execute(
            HTTPClientRequest(
                method: "POST", path: DCFRoute.noncePath,
                headers: [DCFHeader.protocolVersion: "1", "Content-Type": "application/json"], body: .data(body)))
        guard response.statusCode == 200 else {
            throw BenchError("nonce request returned \(response.statusCode): \(String(decoding: response.body, as: UTF8.self))")
        }
        return try JSONDecoder().decode(NonceResponse.self, from: response.body).nonce
    }
}
