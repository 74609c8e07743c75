// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFTransport
import Foundation

extension DCFWorker {
    /// Sends a signed request and returns its successful reply, recovering once each from a used or expired
    /// nonce, a changed server protocol and a lost registration.
    ///
    /// - Throws: `DCFWorkerError` (`unreachable` on a connection failure, `server` for a final error reply),
    ///   or `CancellationError`.
    func perform(_ request: WorkerRequest) async throws -> HTTPClientResponse {
        var recovery = RequestRecovery()
        var freshNonce = false
        while true {
            let failure: DCFWorkerError
            do {
                let (http, signerID) = try await sign(request, freshNonce: freshNonce)
                let response = try await transmit(http, for: request)
                keepNextNonce(response, signerID: signerID, isRegistration: request.isRegistration)
                if response.isSuccess { return response }
                failure = .server(response.dcfError, status: response.statusCode, operation: request.operation)
            } catch let error as DCFWorkerError {
                // `POST /dcf/nonce` for an id the server lost fails with `unknown_key`, before any signed request.
                failure = error
            }
            guard let reply = failure.serverError,
                let step = recovery.step(for: reply, isRegistration: request.isRegistration)
            else { throw failure }
            try await recover(step, from: reply, operation: request.operation)
            freshNonce = step == .freshNonce
        }
    }

    /// Adds the protocol version, a nonce and the signature to `request`.
    func sign(_ request: WorkerRequest, freshNonce: Bool) async throws -> (HTTPClientRequest, WorkerID) {
        let version = try await negotiatedProtocolVersion()
        let signerID = request.isRegistration ? signer.publicKeyID : workerID
        let held = freshNonce ? nil : nonces.take(for: signerID)
        let nonce: String
        if let held { nonce = held } else { nonce = try await fetchNonce(for: signerID) }
        let headers = try signer.headers(
            protocolVersion: version, method: request.method, target: request.target, workerID: signerID,
            nonce: nonce, baseVersion: request.baseVersion, body: request.body, bodySHA256: request.bodySHA256)
        return (request.httpRequest(signedWith: headers), signerID)
    }

    /// Sends one request and maps a connection failure to `DCFWorkerError.unreachable`, or to
    /// `invalidConfiguration` when the worker's settings caused it.
    func transmit(_ request: HTTPClientRequest, operation: String) async throws -> HTTPClientResponse {
        let response: HTTPClientResponse
        do {
            response = try await connection.send(request)
        } catch let failure as ConnectionFailure {
            throw DCFWorkerError.connectionFailure(failure, operation: operation)
        }
        if response.isSuccess { endOutage() }
        return response
    }

    /// Sends a signed request; for an update whose reply was lost, resends the same bytes.
    private func transmit(_ http: HTTPClientRequest, for request: WorkerRequest) async throws -> HTTPClientResponse {
        let response: HTTPClientResponse
        do {
            response = try await connection.send(http)
        } catch let failure as ConnectionFailure {
            guard request.resendsLostReply, failure.requestMayHaveArrived, let base = request.baseVersion else {
                throw DCFWorkerError.connectionFailure(failure, operation: request.operation)
            }
            logger.warning(
                "connection failed after sending the update; resending the same signed bytes",
                [idField, ("base_version", base.description), ("error", failure.description)])
            return try await resendLostUpdate(http, baseVersion: base)
        }
        if response.isSuccess { endOutage() }
        return response
    }

    /// Keeps the reply's `DCF-Next-Nonce`. After registration it belongs to the id the server returned.
    private func keepNextNonce(_ response: HTTPClientResponse, signerID: WorkerID, isRegistration: Bool) {
        guard let next = response.headers[DCFHeader.nextNonce], !next.isEmpty else { return }
        var holder = signerID
        if isRegistration, response.isSuccess,
            let registered = try? JSONDecoder().decode(RegisterResponse.self, from: response.body)
        {
            holder = registered.workerID
        }
        nonces.store(next, for: holder)
    }

    private func recover(_ step: RequestRecovery.Step, from error: DCFErrorResponse, operation: String) async throws {
        switch step {
        case .freshNonce:
            logger.debug("nonce rejected; retrying with a new one", [idField, ("code", error.error.code)])
        case .renegotiate:
            session.withLock { $0.protocolVersion = nil }
            logger.notice("server rejected the protocol version; negotiating again", [idField])
        case .register:
            logger.notice(
                "server reports this worker as unknown or unregistered; registering again",
                [idField, ("code", error.error.code), ("operation", operation)])
            try await registerAfterLoss()
        }
    }
}
