// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import Foundation

extension DCFServer {
    /// The fields of an update head that passed `screenUpdateHead`.
    struct ScreenedUpdateHead: Sendable {
        let worker: WorkerID
        let protocolVersion: Int
        /// The body digest from `DCF-Body-SHA256`, lowercase.
        let bodySHA256: String
        /// The nonce from `DCF-Nonce`, outstanding for `worker` when the head arrived.
        let nonce: String
    }

    /// Checks what the head of a `POST /dcf/update` shows before any body byte is spooled: protocol, worker,
    /// a nonce outstanding for it, base version, coding and the declared body digest. These checks cost no
    /// signature verification, so they run on the event loop; `verifyUpdateHead` then checks the signature
    /// off the loop before the first body byte is stored. The nonce is not consumed here; authentication
    /// consumes it after the body arrived.
    ///
    /// - Throws: the error response the full request would get for the same header.
    func screenUpdateHead(_ request: ServerRequest) throws(DCFErrorResponse) -> ScreenedUpdateHead {
        guard isHandlingRequests else {
            throw DCFErrorResponse(.unavailable, "the server is not running; retry later")
        }
        let version = try checkProtocolVersion(request)
        let worker = try authenticator.workerID(request)
        let nonce = try WorkerAuthenticator.requiredHeader(request, DCFHeader.nonce)
        _ = try authenticator.signatureBytes(request)
        try registry.checkRegistered(worker)
        try WorkerAuthenticator.check(nonces.peek(nonce, for: worker))
        let baseText = try WorkerAuthenticator.requiredHeader(request, DCFHeader.baseVersion)
        guard ModelVersion(baseText) != nil else {
            throw DCFErrorResponse(.badRequest, "\(DCFHeader.baseVersion) \"\(baseText.prefix(40))\" is not a decimal integer")
        }
        guard ContentCoding(contentEncoding: request.header("Content-Encoding")) != nil else {
            throw DCFErrorResponse(
                .unsupportedEncoding,
                "Content-Encoding \"\(request.header("Content-Encoding")?.prefix(40) ?? "")\" is not identity, "
                    + "deflate or gzip")
        }
        let digest = try WorkerAuthenticator.requiredHeader(request, DCFHeader.bodySHA256).lowercased()
        guard digest.utf8.count == 64, (try? Hex.decode(digest)) != nil else {
            throw DCFErrorResponse(.badRequest, "\(DCFHeader.bodySHA256) \"\(digest.prefix(80))\" is not 64 hex digits")
        }
        return ScreenedUpdateHead(worker: worker, protocolVersion: version, bodySHA256: digest, nonce: nonce)
    }

    /// Verifies the signature of a screened update head over its declared body digest, so only the holder
    /// of the worker's key can make the server store a body under that worker.
    func verifyUpdateHead(_ request: ServerRequest, _ head: ScreenedUpdateHead) throws(DCFErrorResponse) {
        _ = try authenticator.verifySignature(
            request, id: head.worker, protocolVersion: head.protocolVersion, registering: false,
            bodySHA256: head.bodySHA256)
    }

    /// Holds a screened update's nonce for its upload, called once the head's signature is verified: the nonce
    /// then stays valid while the body waits for its turn and arrives, and authentication consumes it at the end.
    ///
    /// - Throws: `nonce_expired` or `replayed_request` when the nonce is no longer outstanding.
    func holdUpdateNonce(_ head: ScreenedUpdateHead) throws(DCFErrorResponse) {
        try WorkerAuthenticator.check(nonces.hold(head.nonce, for: head.worker))
    }

    /// Ends the hold of `holdUpdateNonce(_:)` after an upload that did not reach authentication, so the worker may
    /// send the update again with the same nonce.
    func releaseUpdateNonce(_ head: ScreenedUpdateHead) {
        nonces.release(head.nonce, for: head.worker)
    }

    /// Sends `error` for an update rejected before its body was read, counted and logged like any rejection.
    func rejectUpdateHead(
        _ request: ServerRequest, _ error: DCFErrorResponse, respond: @escaping @Sendable (ServerResponse) -> Void
    ) {
        recordingResponses(to: request, respond)(.error(error))
    }
}
