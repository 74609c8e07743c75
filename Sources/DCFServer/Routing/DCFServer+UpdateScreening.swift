// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation

extension DCFServer {
    /// Checks what the head of a `POST /dcf/update` shows before any body byte is spooled, and returns the
    /// worker it names.
    ///
    /// The signature covers the body digest, so it can be verified only after the whole body arrived. These
    /// checks keep a client without a registered worker id and a nonce outstanding for it from spooling
    /// anything. The nonce is not consumed here; authentication consumes it after the body arrived.
    ///
    /// - Throws: the error response the full request would get for the same header.
    func screenUpdateHead(_ request: ServerRequest) throws(DCFErrorResponse) -> WorkerID {
        guard isRunning else { throw DCFErrorResponse(.unavailable, "the server is not running; retry later") }
        _ = try checkProtocolVersion(request)
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
        return worker
    }

    /// Sends `error` for an update rejected before its body was read, counted and logged like any rejection.
    func rejectUpdateHead(
        _ request: ServerRequest, _ error: DCFErrorResponse, respond: @escaping @Sendable (ServerResponse) -> Void
    ) {
        recordingResponses(to: request, respond)(.error(error))
    }
}
