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
        let (payload, payloadFile) = try decodePayload(request.body, coding)
        defer {
            // The strategy may have renamed the file to keep it; then there is nothing to delete.
            if let payloadFile { try? FileManager.default.removeItem(at: payloadFile) }
        }
        let update = WorkerUpdate(
            payload: payload, baseVersion: baseVersion, bodySHA256: request.body.sha256, payloadFile: payloadFile,
            nonFiniteTensors: coding == .identity ? request.body.nonFiniteTensors : nil)
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
        // Logged after the strategy returns, so the last update of a round follows the strategy's own lines about
        // aggregating and publishing. The reply names where the update went.
        logger.info(
            "accepted update",
            [("worker", worker.short), ("base_version", baseVersion.description), ("bytes", String(payload.count)),
             ("reply", reply)])
        return .json(UpdateResponse(accepted: true, message: reply))
    }

    /// Returns the decoded payload and, for a spooled body, the file holding it.
    ///
    /// An identity body in a spool file is its own payload file; a compressed one is inflated into a second
    /// spool file chunk by chunk. Either way the payload is mapped, never read into memory.
    private func decodePayload(_ body: RequestBody, _ coding: ContentCoding) throws -> (Data, URL?) {
        let limit = configuration.maximumInflatedUpdateBytes
        guard case .file(let bodyFile) = body.storage else {
            return (try coder.decompress(try body.data(), from: coding, maximumSize: limit), nil)
        }
        guard coding != .identity else {
            return (try UpdateSpool.mappedContents(of: bodyFile), bodyFile)
        }
        let payloadFile = try UpdateSpool(stateDirectory: configuration.stateDirectory).makeFileURL(kind: "payload")
        do {
            _ = try coder.decompress(file: bodyFile, from: coding, to: payloadFile, maximumSize: limit)
            return (try UpdateSpool.mappedContents(of: payloadFile), payloadFile)
        } catch {
            try? FileManager.default.removeItem(at: payloadFile)
            guard UpdateSpool.isOutOfSpace(error) else { throw error }
            logger.error(
                "failed to inflate update body into the spool", [("file", payloadFile.path), ("error", "\(error)")])
            throw UpdateSpool.diskFullResponse
        }
    }
}
