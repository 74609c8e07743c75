// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import Foundation

extension DCFServer {
    /// `POST /dcf/nonce`: issues a nonce to an allowed worker (in unsafe mode, to any public key).
    ///
    /// The request must be signed by the worker's key, so no other client can fill the worker's pool of
    /// requested nonces and push out the one the worker is about to use.
    func issueNonce(_ request: ServerRequest, protocolVersion: Int) throws -> ServerResponse {
        let message = try decodeJSON(NonceRequest.self, request)
        do {
            try registry.checkNonceEligibility(message.workerID)
            try checkNonceRequestSignature(request, message, protocolVersion: protocolVersion)
        } catch {
            // The rejection log writes the line, rate-limited, with the worker named in the body.
            var response = ServerResponse.error(error)
            response.rejectedWorker = message.workerID
            return response
        }
        let nonce = try nonces.issue(for: message.workerID)
        let lifetime = Int(configuration.nonceLifetime.components.seconds)
        return .json(NonceResponse(nonce: nonce, expiresIn: lifetime))
    }

    private func checkNonceRequestSignature(
        _ request: ServerRequest, _ message: NonceRequest, protocolVersion: Int
    ) throws(DCFErrorResponse) {
        let signer = try authenticator.workerID(request)
        guard signer == message.workerID else {
            throw DCFErrorResponse(
                .badRequest, "\(DCFHeader.workerID) \(signer.short) differs from worker_id \(message.workerID.short)")
        }
        // The signature first, so only the worker's own requests reach the timestamp checks.
        try authenticator.verifyNonceRequest(request, id: message.workerID, protocolVersion: protocolVersion)
        guard let timestamp = message.timestamp else {
            throw DCFErrorResponse(.badRequest, "the nonce request has no timestamp (Unix seconds when it was signed)")
        }
        let now = Int(Date().timeIntervalSince1970)
        let limit = NonceRequest.maximumClockSkewSeconds
        // Compared without subtracting first, so no timestamp can overflow the arithmetic.
        guard timestamp >= now - limit, timestamp <= now + limit else {
            let direction = timestamp < now ? "behind" : "ahead of"
            throw DCFErrorResponse(
                .badRequest,
                "the nonce request's timestamp \(timestamp) is more than \(limit) s \(direction) the server's clock "
                    + "(\(now)); check the site's clock (NTP)")
        }
        let signature = request.header(DCFHeader.signature) ?? ""
        switch nonceRequests.record(signature, of: message.workerID, until: timestamp + limit) {
        case .firstUse:
            return
        case .replayed:
            throw DCFErrorResponse(
                .replayedRequest, "this signed nonce request was already used; sign a new one with a fresh timestamp")
        case .tooMany:
            throw DCFErrorResponse(
                .tooManyNonces,
                "too many nonce requests within \(limit * 2) s, from worker \(message.workerID.short) (at most "
                    + "\(nonceRequests.maximumPerWorker)) or from all workers; use the nonces already issued, or wait")
        }
    }

    /// `POST /dcf/register`: registers the signer and tells the strategy when its status changed.
    func register(_ signer: WorkerID, _ request: ServerRequest) throws -> WorkerRecord {
        let message = try decodeJSON(RegisterRequest.self, request)
        return try changeRegistration { try registry.register(signer, bodyKey: message.publicKey) }
    }

    /// `GET /dcf/model/wait`: parks until the model differs from `knownVersion` or the hold ends.
    func parkLongPoll(
        worker: WorkerID, knownVersion: ModelVersion?, request: ServerRequest,
        respond: @escaping @Sendable (ServerResponse) -> Void
    ) {
        refreshIfStrategyIsAhead(of: knownVersion)
        let replacedPeer = polls.park(
            worker: worker, knownVersion: knownVersion, connectionID: request.connectionID,
            peerAddress: request.peerAddress
        ) { [self] outcome in
            switch outcome {
            case .answered(let wait): respond(addingNextNonce(to: polls.jsonResponse(for: wait), for: worker))
            case .rejected(let error): respond(.error(error))
            }
        }
        if let replacedPeer, let address = request.peerAddress, sharedKeyWarnings.shouldWarn(about: worker) {
            // Each poll ends the other's, so the two agents poll in turns and neither waits for the next model.
            logger.warning(
                "two client addresses poll as one worker; give each agent a key of its own",
                [("worker", worker.short), ("address", address), ("other_address", replacedPeer)])
        }
    }

    /// Republishes when the strategy reports a newer model than the cache holds, so a strategy that forgot
    /// to call `globalModelDidChange()` cannot leave workers waiting on a stale version.
    ///
    /// A strategy that publishes calls `globalModelDidChange()` a moment after its version changes, and polls
    /// that arrive in between see it ahead. So the check is repeated one second later, once for all such
    /// polls, and only a strategy still ahead then is republished and warned about.
    private func refreshIfStrategyIsAhead(of knownVersion: ModelVersion?) {
        guard let cached = models.current?.version, cached == knownVersion,
            !callbacks.isGlobalModelMostRecent(cached),
            !staleCheckPending.exchange(true, ordering: .acquiringAndReleasing)
        else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(1)) { [self] in
            staleCheckPending.store(false, ordering: .releasing)
            guard models.current?.version == cached, !callbacks.isGlobalModelMostRecent(cached) else { return }
            logger.warning(
                "strategy has a newer model than the server was told about; call globalModelDidChange() after "
                    + "publishing", [("cached_version", cached.description)])
            globalModelDidChange()
        }
    }

    /// `GET /dcf/model` and `GET /dcf/model/<version>`: the cached bytes in the negotiated coding.
    func modelResponse(_ version: ModelVersion?, _ request: ServerRequest) throws -> ServerResponse {
        let model = try version.map(cachedModel) ?? currentModel()
        guard let coding = model.preferredCoding(acceptEncoding: request.header("Accept-Encoding")) else {
            throw DCFErrorResponse(
                .unsupportedEncoding, "Accept-Encoding excludes every coding this server offers (identity, "
                    + model.encodings.keys.map(\.rawValue).sorted().joined(separator: ", ") + ")")
        }
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/octet-stream"), (DCFHeader.modelVersion, model.version.description),
            ("ETag", model.entityTag), ("Vary", "Accept-Encoding"),
        ]
        if coding != .identity { headers.append(("Content-Encoding", coding.rawValue)) }
        if version != nil { headers.append(("Cache-Control", "private, max-age=31536000, immutable")) }
        if let tags = request.header("If-None-Match"), Self.entityTags(tags, contain: model.entityTag) {
            return ServerResponse(status: 304, headers: headers)
        }
        if coding == .identity, let file = model.identityFile {
            var response = ServerResponse(status: 200, headers: headers, bodyBytes: [])
            response.bodyFile = file
            return response
        }
        return ServerResponse(status: 200, headers: headers, bodyBytes: model.encodings[coding]!)
    }

    private func currentModel() throws -> PublishedModel {
        guard let model = models.current else {
            throw DCFErrorResponse(.modelUnavailable, "no global model has been published yet; wait for one")
        }
        return model
    }

    private func cachedModel(_ version: ModelVersion) throws -> PublishedModel {
        guard let model = models.model(version) else {
            let current = models.current.map { "version \($0.version)" } ?? "none yet"
            throw DCFErrorResponse(
                .notFound, "global model version \(version) is not available; the current one is \(current)")
        }
        return model
    }

    static func entityTags(_ header: String, contain tag: String) -> Bool {
        header.split(separator: ",").contains { element in
            let candidate = element.trimmingCharacters(in: .whitespaces)
            return candidate == "*" || candidate == tag || candidate == "W/" + tag
        }
    }

    func metricsResponse() -> ServerResponse {
        let workers = registry.workers
        let text = metrics.render(gauges: [
            ("dcf_workers_known", "Workers in the registry.", workers.count),
            ("dcf_workers_registered", "Registered workers.", workers.filter(\.isRegistered).count),
            ("dcf_long_polls_parked", "Long polls waiting for a new model.", polls.parkedCount),
            ("dcf_nonces_outstanding", "Issued nonces not yet used or swept.", nonces.outstandingCount),
            ("dcf_uploads_receiving", "Update bodies being received.", uploadAdmission.activeCount),
            ("dcf_uploads_waiting", "Update uploads waiting for their turn, bodies unread.", uploadAdmission.waitingCount),
            ("dcf_global_model_version", "The published global model version.", Int(models.current?.version.rawValue ?? 0)),
        ], counters: [
            ("dcf_slow_uploads_kept_total",
             "Pace checks that found an update body below limits.min_upload_rate but kept it, because the server "
                + "had not read all that had arrived.",
             uploadAdmission.slowUploadsKept),
        ])
        return ServerResponse(
            status: 200, headers: [("Content-Type", PrometheusTextWriter.contentType)], body: Data(text.utf8))
    }
}
