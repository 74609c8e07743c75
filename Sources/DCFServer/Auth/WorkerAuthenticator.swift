// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol

/// Checks the signature, nonce and registration of a worker request.
///
/// The checks run in an order that leaves the server unchanged on every failure but a replayed or
/// expired nonce: key lookup, signature, registration status, and only then nonce consumption.
struct WorkerAuthenticator: Sendable {
    let registry: WorkerRegistry
    let nonces: NonceStore

    /// Returns the id of the worker that signed `request`.
    ///
    /// - Parameter registering: true on `POST /dcf/register`, where the worker need not be registered yet
    ///   and, in unsafe mode, the id is the public key itself.
    func authenticate(_ request: ServerRequest, protocolVersion: Int, registering: Bool)
        throws(DCFErrorResponse) -> WorkerID
    {
        // The caller's rejection log writes one rate-limited line per failure, naming the worker.
        let id = try workerID(request)
        try verify(request, id: id, protocolVersion: protocolVersion, registering: registering)
        return id
    }

    private func verify(_ request: ServerRequest, id: WorkerID, protocolVersion: Int, registering: Bool)
        throws(DCFErrorResponse)
    {
        let nonce: String
        if let verified = request.verifiedHead, verified.worker == id, verified.bodySHA256 == request.body.sha256 {
            // The same head's signature over this digest was verified before the body was read.
            nonce = try Self.requiredHeader(request, DCFHeader.nonce)
        } else {
            nonce = try verifySignature(
                request, id: id, protocolVersion: protocolVersion, registering: registering,
                bodySHA256: request.body.sha256)
        }
        if registering {
            try registry.checkNonceEligibility(id)
        } else {
            try registry.checkRegistered(id)
        }
        try Self.check(nonces.consume(nonce, for: id))
    }

    /// Checks that `request`'s signature is `id`'s over the request with a body of digest `bodySHA256`, and
    /// returns its nonce; consumes nothing.
    func verifySignature(
        _ request: ServerRequest, id: WorkerID, protocolVersion: Int, registering: Bool, bodySHA256: String
    ) throws(DCFErrorResponse) -> String {
        let nonce = try Self.requiredHeader(request, DCFHeader.nonce)
        try checkSignature(
            request, id: id, protocolVersion: protocolVersion, registering: registering, nonce: nonce,
            baseVersion: request.header(DCFHeader.baseVersion) ?? "", bodySHA256: bodySHA256)
        return nonce
    }

    /// Checks that a `POST /dcf/nonce` is signed by the key of the worker it names. The signed content has an
    /// empty nonce, because the request comes before the worker has one. Consumes nothing.
    func verifyNonceRequest(_ request: ServerRequest, id: WorkerID, protocolVersion: Int) throws(DCFErrorResponse) {
        try checkSignature(
            request, id: id, protocolVersion: protocolVersion, registering: true, nonce: "", baseVersion: "",
            bodySHA256: request.body.sha256)
    }

    private func checkSignature(
        _ request: ServerRequest, id: WorkerID, protocolVersion: Int, registering: Bool, nonce: String,
        baseVersion: String, bodySHA256: String
    ) throws(DCFErrorResponse) {
        let signature = try signatureBytes(request)
        let keyHex = try registry.signingKey(for: id, registering: registering)
        let content = try SignedRequestContent(
            protocolVersion: protocolVersion, method: request.method, target: request.target, workerID: id,
            nonce: nonce, baseVersion: baseVersion, bodySHA256: bodySHA256)
        guard let key = try? Ed25519PublicKey(hex: keyHex), key.isValidSignature(signature, for: content.canonicalBytes)
        else {
            throw DCFErrorResponse(
                .badSignature, "the signature does not match worker \(id.short)'s key for this request")
        }
    }

    /// Throws the error for a nonce that is not `.accepted`.
    static func check(_ consumption: NonceStore.Consumption) throws(DCFErrorResponse) {
        switch consumption {
        case .accepted: return
        case .expired:
            throw DCFErrorResponse(.nonceExpired, "the nonce expired; get a new one from POST \(DCFRoute.noncePath)")
        case .unknown:
            throw DCFErrorResponse(
                .replayedRequest,
                "the nonce was already used or was not issued to this worker; get a new one from POST "
                    + DCFRoute.noncePath)
        }
    }

    func workerID(_ request: ServerRequest) throws(DCFErrorResponse) -> WorkerID {
        let text = try Self.requiredHeader(request, DCFHeader.workerID)
        guard let id = WorkerID(text) else {
            throw DCFErrorResponse(.badRequest, "\(DCFHeader.workerID) \"\(text.prefix(140))\" is not 8 to 128 hex digits")
        }
        return id
    }

    func signatureBytes(_ request: ServerRequest) throws(DCFErrorResponse) -> [UInt8] {
        let text = try Self.requiredHeader(request, DCFHeader.signature)
        guard text.utf8.count == Ed25519PublicKey.signatureByteCount * 2, let bytes = try? Hex.decode(text) else {
            throw DCFErrorResponse(.badSignature, "\(DCFHeader.signature) is not 128 hex digits")
        }
        return bytes
    }

    static func requiredHeader(_ request: ServerRequest, _ name: String) throws(DCFErrorResponse) -> String {
        guard let value = request.header(name), !value.isEmpty else {
            throw DCFErrorResponse(.missingHeader, "the request has no \(name) header")
        }
        return value
    }
}
