// SPDX-License-Identifier: Apache-2.0
import DCFCompression
import DCFSupport
public import DCFProtocol
import DCFTransport
import Foundation

extension DCFWorker {
    /// Fetches the server's protocol versions and picks the highest one this worker also speaks.
    ///
    /// - Returns: the version stated on every later request.
    /// - Throws: `DCFWorkerError` with `isProtocolMismatch` and a message naming both ranges when they do not
    ///   overlap; `unreachable` when the server cannot be reached.
    @discardableResult
    public func negotiateProtocol() async throws -> Int {
        let operation = "negotiate protocol"
        let response = try await transmit(HTTPClientRequest(path: DCFRoute.protocolPath), operation: operation)
        guard response.isSuccess else {
            throw DCFWorkerError.server(response.dcfError, status: response.statusCode, operation: operation)
        }
        let info = try response.decode(ProtocolInfo.self, operation: operation)
        guard let range = info.range else {
            throw DCFWorkerError.invalidResponse("invalid protocol range \(info.min)-\(info.max)", operation: operation)
        }
        guard let version = configuration.protocolVersions.highestCommonVersion(with: range) else {
            throw DCFWorkerError.protocolMismatch(
                worker: configuration.protocolVersions, server: "\(range) (\(info.server))", operation: operation)
        }
        session.withLock { $0.protocolVersion = version }
        logger.info(
            "negotiated protocol",
            [("protocol", String(version)), ("server", info.server), ("server_range", range.description)])
        return version
    }

    func negotiatedProtocolVersion() async throws -> Int {
        if let version = protocolVersion { return version }
        return try await negotiateProtocol()
    }

    /// `POST /dcf/nonce` for `workerID`.
    func fetchNonce(for workerID: WorkerID) async throws -> String {
        let operation = "get nonce"
        let version = try await negotiatedProtocolVersion()
        // Signed with the worker's key, so nobody else can ask for this worker's nonces and push them out.
        let (body, headers) = try signer.nonceRequest(protocolVersion: version, workerID: workerID)
        let request = HTTPClientRequest(
            method: "POST", path: DCFRoute.noncePath, headers: HTTPHeaders(headers), body: .data(body))
        let response = try await transmit(request, operation: operation)
        guard response.isSuccess else {
            throw DCFWorkerError.server(response.dcfError, status: response.statusCode, operation: operation)
        }
        let issued = try response.decode(NonceResponse.self, operation: operation)
        nonces.learnLifetime(seconds: issued.expiresIn)
        return issued.nonce
    }

    /// Registers the worker's key with the server (`POST /dcf/register`) and returns the id to sign with.
    ///
    /// A safe-mode server returns the public key itself; an unsafe-mode server assigns a fresh id, which the
    /// worker adopts. Registering an already registered key is harmless.
    /// - Throws: `DCFWorkerError`, for example with `serverErrorCode == .unknownKey` when the key is not on the
    ///   server's list.
    @discardableResult
    public func registerWorker() async throws -> WorkerID {
        let body = try JSONEncoder().encode(RegisterRequest(publicKey: publicKeyHex))
        let request = WorkerRequest(
            method: "POST", target: DCFRoute.registerPath, body: body,
            extraHeaders: [("Content-Type", "application/json")], operation: "register", isRegistration: true)
        let response = try await perform(request)
        let registration = try response.decode(RegisterResponse.self, operation: "register")
        session.withLock { session in
            session.workerID = registration.workerID
            session.isRegistered = registration.registered
        }
        let mode = registration.workerID == signer.publicKeyID ? "key" : "server-assigned"
        logger.info("registered", [("worker", registration.workerID.short), ("id_kind", mode)])
        return registration.workerID
    }

    /// Registers again after the server answered `unknown_key` or `unregistered_worker`, which happens when an
    /// unsafe-mode server lost its state or an admin removed the worker.
    func registerAfterLoss() async throws {
        session.withLock { session in
            session.isRegistered = false
            session.workerID = signer.publicKeyID
            session.offersCurrentModelAgain = true
        }
        nonces.clear()
        try await registerWorker()
    }

    /// Downloads the current global model (`GET /dcf/model`).
    public func globalModel() async throws -> DownloadedModel {
        try await downloadModel(nil)
    }

    /// `GET /dcf/model/wait?version=V`: returns when the server's model differs from `knownVersion` or its hold
    /// ends ("no change").
    ///
    /// A server that holds the poll longer than `longPollTimeout` (its `long_poll_hold` is above it) is taken to
    /// have answered "no change": the loop asks again at once instead of counting a failure and backing off.
    func waitForModel(after knownVersion: ModelVersion?) async throws -> ModelWaitResponse {
        let request = WorkerRequest(
            method: "GET", target: DCFRoute.modelWaitTarget(knownVersion: knownVersion),
            idleTimeout: configuration.longPollTimeout, operation: "wait for model")
        do {
            return try await perform(request).decode(ModelWaitResponse.self, operation: "wait for model")
        } catch let error as DCFWorkerError where error.isIdleTimeout && error.operation == request.operation {
            // Only the poll itself: a nonce request that timed out while signing it is a failure.
            let first = session.withLock { session in
                defer { session.reportedLongHold = true }
                return !session.reportedLongHold
            }
            let fields = [idField, ("timeout", DurationFormat.format(configuration.longPollTimeout))]
            let message = "the server held the long poll past the worker's timeout; asking again. Set the server's "
                + "limits.long_poll_hold below the timeout"
            if first { logger.notice(message, fields) } else { logger.debug(message, fields) }
            return ModelWaitResponse(changed: false, version: knownVersion)
        }
    }

    /// Downloads one global model version, or the current one for nil, asking for compression and inflating
    /// the reply within `maximumModelBytes`.
    func downloadModel(_ version: ModelVersion?) async throws -> DownloadedModel {
        let (bytes, served) = try await downloadModelParts(version)
        return DownloadedModel(version: served, bytes: bytes)
    }

    /// `downloadModel` as separate values, so a caller can hand the bytes on without keeping a reference.
    func downloadModelParts(_ version: ModelVersion?) async throws -> (bytes: Data, version: ModelVersion) {
        let target = version.map { DCFRoute.modelPath + "/\($0)" } ?? DCFRoute.modelPath
        let operation = "download model " + (version?.description ?? "(current)")
        let request = WorkerRequest(
            method: "GET", target: target, extraHeaders: [("Accept-Encoding", "deflate, gzip")], operation: operation)
        let response = try await perform(request)
        guard let text = response.headers[DCFHeader.modelVersion], let served = ModelVersion(text) else {
            throw DCFWorkerError.invalidResponse(
                "missing or invalid \(DCFHeader.modelVersion) header", operation: operation)
        }
        return (try inflate(response, operation: operation), served)
    }

    private func inflate(_ response: HTTPClientResponse, operation: String) throws(DCFWorkerError) -> Data {
        let header = response.headers["Content-Encoding"]
        guard let coding = DCFProtocol.ContentCoding(contentEncoding: header) else {
            throw .invalidResponse("unsupported Content-Encoding \"\(header ?? "")\"", operation: operation)
        }
        let codec: DCFCompression.ContentCoding
        switch coding {
        case .identity: return response.body
        case .deflate: codec = .deflate
        case .gzip: codec = .gzip
        }
        do {
            return try Inflater.decompress(
                response.body, coding: codec, maxOutputBytes: configuration.maximumModelBytes)
        } catch {
            throw .invalidResponse(
                "the \(coding.rawValue) model body failed to decompress: \(error)", operation: operation)
        }
    }
}
