// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation

extension DCFServer {
    /// Handles one request and passes its response to `respond`, exactly once.
    ///
    /// Most routes respond before this returns. `GET /dcf/model/wait` may park and respond later from
    /// another thread; `POST /dcf/update` runs the strategy's `receiveWorkerUpdate` on the calling thread,
    /// so the transport must call this off its event loop for updates.
    public func handle(_ request: ServerRequest, respond: @escaping @Sendable (ServerResponse) -> Void) {
        let reply = recordingResponses(to: request, respond)
        do {
            let route = try DCFRoute(method: request.method, target: request.target)
            if route == .healthz {
                reply(healthResponse())
                return
            }
            guard isHandlingRequests else {
                throw DCFErrorResponse(.unavailable, "the server is not running; retry later")
            }
            try dispatch(route, request, reply)
        } catch let error as DCFErrorResponse {
            reply(.error(error))
        } catch {
            logger.error("request failed", [("target", request.target), ("error", String(describing: error))])
            reply(.error(DCFErrorResponse(.internalError, "the server failed to handle the request; see its log")))
        }
    }

    /// Wraps `respond` so each response is counted in the metrics and each rejection reaches the rejection log.
    func recordingResponses(
        to request: ServerRequest, _ respond: @escaping @Sendable (ServerResponse) -> Void
    ) -> @Sendable (ServerResponse) -> Void {
        let route = try? DCFRoute(method: request.method, target: request.target)
        return { [metrics, rejections] response in
            metrics.recordRequest(route: route?.metricLabel ?? "unknown", status: response.status)
            if let code = response.errorCode {
                metrics.recordRejection(code)
                if route == .update { metrics.recordUpdateRejected(reason: response.errorReason ?? code) }
                let worker = response.rejectedWorker ?? request.header(DCFHeader.workerID).flatMap(WorkerID.init)
                rejections.record(
                    code: code, status: response.status, method: request.method, target: request.target,
                    address: request.peerAddress, worker: worker)
            }
            respond(response)
        }
    }

    private func dispatch(_ route: DCFRoute, _ request: ServerRequest, _ respond: @escaping @Sendable (ServerResponse) -> Void)
        throws
    {
        if route.isAdmin {
            respond(try handleAdmin(route, request))
            return
        }
        switch route {
        case .protocolInfo: respond(.json(ProtocolInfo(range: configuration.protocolVersions, server: configuration.serverName)))
        case .metrics: respond(metricsResponse())
        case .nonce:
            let version = try checkProtocolVersion(request)
            respond(try issueNonce(request, protocolVersion: version))
        default:
            try handleWorkerRoute(route, request, respond)
        }
    }

    /// `GET /healthz`: 200 `{"status":"ready"}` while serving a global model, else the 503 `unavailable` error
    /// naming the reason, in the same error body workers get.
    private func healthResponse() -> ServerResponse {
        guard isRunning else {
            return .error(DCFErrorResponse(.unavailable, "not ready: the server is not running"))
        }
        guard models.current != nil else {
            return .error(DCFErrorResponse(.unavailable, "not ready: no global model yet"))
        }
        return .json(["status": "ready"])
    }

    /// Authenticates a signed worker request, runs its route, and adds a fresh nonce to the response.
    private func handleWorkerRoute(
        _ route: DCFRoute, _ request: ServerRequest, _ respond: @escaping @Sendable (ServerResponse) -> Void
    ) throws {
        let version = try checkProtocolVersion(request)
        let registering = route == .register
        let signer = try authenticator.authenticate(request, protocolVersion: version, registering: registering)
        if case .modelWait(let known) = route {
            // A drain has responded to the parked polls, so one parked now would only wait for the grace period.
            guard isRunning else { throw DCFErrorResponse(.unavailable, "the server is shutting down; retry later") }
            parkLongPoll(worker: signer, knownVersion: known, request: request, respond: respond)
            return
        }
        var nonceHolder = signer
        var response: ServerResponse
        do {
            switch route {
            case .register:
                let record = try register(signer, request)
                nonceHolder = record.id
                response = .json(RegisterResponse(workerID: record.id, registered: record.isRegistered))
            case .currentModel: response = try modelResponse(nil, request)
            case .model(let version): response = try modelResponse(version, request)
            case .update: response = try receiveUpdate(from: signer, request)
            default: throw DCFErrorResponse(.notFound, "no worker endpoint at \(request.target)")
            }
        } catch let error as DCFErrorResponse {
            response = .error(error)
        }
        respond(addingNextNonce(to: response, for: nonceHolder))
    }

    /// Returns the request's `DCF-Protocol` version, or throws `protocol_mismatch` naming both ranges.
    func checkProtocolVersion(_ request: ServerRequest) throws(DCFErrorResponse) -> Int {
        let supported = configuration.protocolVersions
        guard let text = request.header(DCFHeader.protocolVersion) else {
            throw DCFErrorResponse(
                .protocolMismatch,
                "the request has no \(DCFHeader.protocolVersion) header; this server speaks protocol \(supported)")
        }
        guard let version = Int(text.trimmingCharacters(in: .whitespaces)), supported.contains(version) else {
            throw DCFErrorResponse(
                .protocolMismatch, supported.mismatchMessage(peer: text.prefix(20).description, peerRole: "worker"))
        }
        return version
    }

    func addingNextNonce(to response: ServerResponse, for worker: WorkerID) -> ServerResponse {
        guard let nonce = try? nonces.issue(for: worker, origin: .signedResponse) else { return response }
        var response = response
        response.headers.append((DCFHeader.nextNonce, nonce))
        return response
    }

    /// Decodes a JSON request body of at most `maximumControlBodyBytes`.
    func decodeJSON<Message: Decodable>(_ type: Message.Type, _ request: ServerRequest) throws -> Message {
        guard request.body.byteCount <= configuration.maximumControlBodyBytes else {
            throw DCFErrorResponse(
                .bodyTooLarge,
                "the JSON body has \(request.body.byteCount) bytes; the limit is \(configuration.maximumControlBodyBytes)")
        }
        let data = try request.body.data()
        let json = data.isEmpty ? Data("{}".utf8) : data
        do {
            return try JSONDecoder().decode(type, from: json)
        } catch {
            var detail = Self.describe(error)
            if case .dataCorrupted(let context)? = error as? DecodingError, context.codingPath.isEmpty {
                detail = Self.describeNumberMismatch(in: json) ?? detail
            }
            throw DCFErrorResponse(.malformedJSON, "the body is not a valid \(type) message: \(detail)")
        }
    }

    /// Names the fields of a JSON object that hold a fraction or a number beyond 64-bit integers. The JSONDecoder
    /// of Foundation for Swift 6.3 on Linux reports such a value in an integer field as "The given data was not
    /// valid JSON." without naming the field, so a client would look for a syntax error that is not there.
    /// Returns nil for a body that is not a JSON object or has no such number.
    static func describeNumberMismatch(in json: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else { return nil }
        let fields = object.keys.sorted().compactMap { key -> String? in
            guard let number = object[key] as? NSNumber else { return nil }
            let value = number.doubleValue
            let isInteger = value.rounded() == value && value >= Double(Int64.min) && value < -Double(Int64.min)
            return isInteger ? nil : "\(key) is \(number), which is not an integer in the 64-bit range"
        }
        return fields.isEmpty ? nil : fields.joined(separator: "; ")
    }

    private static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _): "missing key \"\(key.stringValue)\""
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            context.codingPath.isEmpty
                ? context.debugDescription
                : "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        default: String(describing: error)
        }
    }
}
