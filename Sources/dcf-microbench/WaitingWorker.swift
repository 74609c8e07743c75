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
        let response = try client.execute(longPollRequest(knownVersion: knownVersion, hold: hold, nonce: nonce))
        try Self.requireOK(response, of: "long poll")
        return response
    }

    /// Returns the signed `GET /dcf/model/wait` for `knownVersion` with `nonce`, headers as DCFWorker sends them.
    func longPollRequest(knownVersion: ModelVersion, hold: Duration, nonce: String) throws -> HTTPClientRequest {
        let target = DCFRoute.modelWaitTarget(knownVersion: knownVersion)
        let content = try SignedRequestContent(
            protocolVersion: 1, method: "GET", target: target, workerID: id, nonce: nonce, baseVersion: "",
            bodySHA256: Self.emptyBodySHA256)
        let headers: HTTPHeaders = [
            DCFHeader.protocolVersion: "1", DCFHeader.workerID: id.rawValue, DCFHeader.nonce: nonce,
            DCFHeader.signature: Hex.encode(try key.signature(for: content.canonicalBytes)),
        ]
        return HTTPClientRequest(path: target, headers: headers, idleTimeout: hold)
    }

    /// Returns the `POST /dcf/nonce` request for this worker.
    func nonceRequest() throws -> HTTPClientRequest {
        let body = try JSONEncoder().encode(
            NonceRequest(
                workerID: id, timestamp: Int(Date().timeIntervalSince1970),
                requestID: Hex.encode(try SecureRandom.bytes(count: 8))))
        let content = try SignedRequestContent(
            protocolVersion: 1, method: "POST", target: DCFRoute.noncePath, workerID: id, nonce: "", baseVersion: "",
            bodySHA256: try SHA256.hash(body).hexString)
        let headers: HTTPHeaders = [
            DCFHeader.protocolVersion: "1", "Content-Type": "application/json", DCFHeader.workerID: id.rawValue,
            DCFHeader.signature: Hex.encode(try key.signature(for: content.canonicalBytes)),
        ]
        return HTTPClientRequest(method: "POST", path: DCFRoute.noncePath, headers: headers, body: .data(body))
    }

    /// Returns the nonce in the response to `nonceRequest()`.
    ///
    /// - Throws: `BenchError` when the status is not 200, or a decoding error.
    static func nonce(from response: HTTPClientResponse) throws -> String {
        try requireOK(response, of: "nonce request")
        return try JSONDecoder().decode(NonceResponse.self, from: response.body).nonce
    }

    /// Throws `BenchError` with the status and body when `response` is not 200.
    static func requireOK(_ response: HTTPClientResponse, of request: String) throws {
        guard response.statusCode == 200 else {
            throw BenchError("\(request) returned \(response.statusCode): \(String(decoding: response.body, as: UTF8.self))")
        }
    }

    private func fetchNonce(client: HTTPClient) throws -> String {
        try Self.nonce(from: client.execute(nonceRequest()))
    }
}
