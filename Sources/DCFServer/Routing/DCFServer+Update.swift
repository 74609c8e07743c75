// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation

extension DCFServer {
    /// `POST /dcf/update`: after the signature over the body digest has been checked, inflates the body within
    /// the configured limit and hands it to the strategy.
    func receiveUpdate(from worker: WorkerID, _ request: ServerRequest) throws -> ServerResponse {
        let baseText = try WorkerAuthenticator.requiredHeader(request, DCFHeader.baseVersion)
        guard let baseVersion = ModelVersion(baseText) else {
            throw DCFErrorResponse(.badRequest, "\(DCFHeader.baseVersion) \"\(baseText)\" is not a decimal integer")
        }
        guard let coding = ContentCoding(contentEncoding: request.header("Content-Encoding")) else {
            throw DCFErrorResponse(
                .unsupportedEncoding,
                "Content-Encoding \"\(request.header("Content-Encoding") ?? "")\" is not identity, deflate or gzip")
        }
        guard request.body.byteCount <= configuration.maximumUpdateBodyBytes else {
            throw DCFErrorResponse(
                .bodyTooLarge,
                "the update has \(request.body.byteCount) bytes; the limit is \(configuration.maximumUpdateBodyBytes)")
        }
        let payload = try coder.decompress(
            try request.body.data(), from: coding, maximumSize: configuration.maximumInflatedUpdateBytes)
        let update = WorkerUpdate(payload: payload, baseVersion: baseVersion, bodySHA256: request.body.sha256)
        let reply: String
        do {
            reply = try callbacks.receiveWorkerUpdate(worker, update)
        } catch let error as DCFErrorResponse {
            logger.notice("strategy rejected update", [("worker", worker.short), ("code", error.error.code)])
            throw error
        } catch {
            logger.notice("strategy rejected update", [("worker", worker.short), ("error", String(describing: error))])
            throw DCFErrorResponse(.updateRejected, "the strategy rejected the update: \(error)")
        }
        metrics.recordUpdateAccepted()
        logger.info(
            "received update",
            [("worker", worker.short), ("base_version", baseVersion.description), ("bytes", String(payload.count))])
        return .json(UpdateResponse(accepted: true, message: reply))
    }
}
