// SPDX-License-Identifier: Apache-2.0
import DCFCompression
import DCFCrypto
import DCFSupport
public import DCFProtocol
import DCFTransport
public import Foundation

extension DCFWorker {
    /// Sends an update (`POST /dcf/update`) and returns the strategy's reply.
    ///
    /// `payload` is safetensors whose `__metadata__` carries `UpdateMetadata`; its base version becomes
    /// `DCF-Base-Version`, and the signature covers the SHA-256 of the body as sent (after compression).
    ///
    /// The update reaches the server's strategy at most once. While the server is unreachable, the request
    /// is signed again and retried with backoff, because nothing was sent. The same applies when the connection
    /// fails before the server sends `100 Continue`, because the body never went out. When the connection fails after
    /// the request went out, the same signed bytes are sent again. A replay or expired-nonce reply to such a copy
    /// (the first copy spent the nonce, or a restarted server no longer has it) leads to a copy signed over a
    /// fresh nonce: the server counts a body it already stores from this worker only once, and its reply then
    /// tells whether the update is in. Other refusals of a resent copy leave the outcome unknown.
    ///
    /// An update the server did not take (no connection, 503, 408) is kept and signed again with backoff for
    /// `updateRetryWindow` from its first failed attempt, so it outlasts a server restart. Each retry is logged
    /// with the time waited and the time the retries end. A server that is back decides: it accepts the update,
    /// or rejects it as stale when its round moved on meanwhile.
    /// - Throws: `DCFWorkerError`: `invalidUpdate` for a payload without `UpdateMetadata`, `server` with
    ///   `update_rejected` when the strategy rejected it (for example a stale base version),
    ///   `isUpdateOutcomeUnknown` as described above, `isUpdateNotDelivered` once `updateRetryWindow` has passed,
    ///   or the first attempt's error when the window is zero.
    /// - Parameter payloadSHA256: the SHA-256 of `payload` as lowercase hex, when the caller already has it
    ///   (a process that sends the same bytes for many workers hashes them once). It is used only for an
    ///   uncompressed upload; a wrong value makes the server reject the update's signature.
    @discardableResult
    public func sendModelUpdate(_ payload: Data, payloadSHA256: String? = nil) async throws -> UpdateResponse {
        let metadata = try Self.updateMetadata(payload)
        let request = try updateRequest(payload, baseVersion: metadata.baseVersion, payloadSHA256: payloadSHA256)
        var attempt = 0
        var firstFailure: ContinuousClock.Instant?
        while true {
            do {
                let reply = try await perform(request).decode(UpdateResponse.self, operation: request.operation)
                logger.info(
                    "sent update",
                    [idField, ("base_version", metadata.baseVersion.description), ("bytes", String(request.body.count)),
                     ("examples", String(metadata.numExamples))])
                return reply
            } catch let error as DCFWorkerError where Self.updateMayBeSentAgain(error) {
                let now = ContinuousClock.now
                let started = firstFailure ?? now
                firstFailure = started
                let remaining = started + configuration.updateRetryWindow - now
                guard remaining > .zero else {
                    if attempt == 0 { throw error }
                    throw DCFWorkerError.updateNotDelivered(
                        baseVersion: metadata.baseVersion, waited: now - started, lastError: error.description)
                }
                let delay = min(configuration.backoff.delay(forAttempt: attempt), remaining)
                attempt += 1
                recordFailedAttempt()
                logger.warning(
                    "update not delivered; keeping it and sending it again",
                    [idField, ("attempt", String(attempt)), ("delay_ms", String(delay.milliseconds)),
                     ("waited", DurationFormat.format((now - started).wholeSeconds)),
                     ("retry_until", Self.wallClockText(after: remaining)), ("error", error.description)])
                try await Task.sleep(for: delay)
            }
        }
    }

    /// Returns the UTC time `duration` from now in the log's timestamp format, to the second.
    private static func wallClockText(after duration: Duration) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date().addingTimeInterval(duration.secondsDouble))
    }

    /// Returns whether `error` shows that a freshly signed copy of the update may be sent. That is the case for no
    /// connection, a 408 `request_timeout` (the server stopped waiting for the body), a 503, and a nonce that
    /// expired again after the request's own retry with a fresh one. After a 503 the strategy either never saw the
    /// update or counted it without acknowledging it, and it counts identical bytes sent again only once.
    /// Any 408 counts, because older servers sent it with `bad_request` and a proxy sends no dcf code.
    static func updateMayBeSentAgain(_ error: DCFWorkerError) -> Bool {
        if error.isUnreachable || error.httpStatus == 408 { return true }
        switch error.serverErrorCode {
        case .unavailable, .requestTimeout, .nonceExpired: return true
        default: return false
        }
    }

    /// Returns whether a reply to resent update bytes ends the resends so that the update is signed again. These
    /// replies are a 503 `unavailable`, a 408 `request_timeout` after the server stopped waiting for the body, and
    /// `replayed_request` or `nonce_expired`, after which these bytes can never be accepted. The first copy or this
    /// one may have spent the nonce, and a restarted server has none of the nonces it issued before. A newly signed
    /// copy is safe, because the server replies to a body it already stores from this worker with an acceptance and
    /// does not count it again.
    static func resentReplyNeedsNewSignature(_ code: DCFErrorCode?) -> Bool {
        code == .unavailable || code == .requestTimeout || code == .replayedRequest || code == .nonceExpired
    }

    private static func updateMetadata(_ payload: Data) throws(DCFWorkerError) -> UpdateMetadata {
        do {
            let tensors = try SafeTensors(bytes: payload)
            return try UpdateMetadata(safetensorsMetadata: tensors.metadata)
        } catch let error as DCFErrorResponse {
            throw .invalidUpdate(error.message)
        } catch {
            throw .invalidUpdate("the payload is not safetensors: \(error)")
        }
    }

    private func updateRequest(
        _ payload: Data, baseVersion: ModelVersion, payloadSHA256: String?
    ) throws -> WorkerRequest {
        // The server may be receiving as many bodies as it takes at once; the body waits here for its turn.
        var headers = [("Content-Type", "application/octet-stream"), ("Expect", "100-continue")]
        var body = payload
        var digest = payloadSHA256
        if configuration.uploadCompression == .deflate {
            body = try Deflater.compress(payload, coding: .deflate)
            headers.append(("Content-Encoding", "deflate"))
            digest = nil
        }
        // Hashed once here, so signing again after a fresh nonce or a re-registration costs no second pass.
        var request = WorkerRequest(
            method: "POST", target: DCFRoute.updatePath, body: body,
            bodySHA256: try digest ?? SHA256.hash(body).hexString, baseVersion: baseVersion,
            extraHeaders: headers, operation: "send update", resendsLostReply: true)
        request.continueTimeout = configuration.uploadTurnTimeout
        return request
    }

    /// Sends `http` again, byte for byte, until a reply arrives or the resends are spent.
    ///
    /// Only copies that may have reached the server count toward `maximumUpdateResends`. An attempt that fails
    /// before the request goes out, such as a refused connection or a failed handshake while the server restarts,
    /// counts only once `updateRetryWindow` has passed since the lost reply. A restart within the window therefore
    /// does not spend the resends.
    ///
    /// - Returns: a reply that proves this copy was judged on its content: success, or a rejection of the
    ///   update itself (`update_rejected`, `bad_request`, size or encoding errors). Also a reply for which
    ///   `resentReplyNeedsNewSignature` holds, after which the update is signed again.
    /// - Throws: `isUpdateOutcomeUnknown` for any other reply or when the resends are spent.
    func resendLostUpdate(_ http: HTTPClientRequest, baseVersion: ModelVersion) async throws -> HTTPClientResponse {
        let started = ContinuousClock.now
        var resends = 0
        var attempt = 0
        while resends < configuration.maximumUpdateResends {
            try await Task.sleep(for: configuration.backoff.delay(forAttempt: attempt))
            attempt += 1
            let response: HTTPClientResponse
            do {
                response = try await connection.send(http)
            } catch let failure as ConnectionFailure {
                let windowPassed = ContinuousClock.now - started >= configuration.updateRetryWindow
                if failure.requestMayHaveArrived || windowPassed { resends += 1 }
                logger.warning(
                    "resending update failed",
                    [idField, ("attempt", String(attempt)), ("copies_sent", String(resends)),
                     ("waited", DurationFormat.format((ContinuousClock.now - started).wholeSeconds)),
                     ("error", failure.description)])
                continue
            }
            resends += 1
            if response.isSuccess { return response }
            let code = response.dcfError.code
            // The caller signs the update over a fresh nonce after these replies instead of sending the same bytes
            // a third time.
            if Self.resentReplyNeedsNewSignature(code) { return response }
            if code == .internalError { continue }
            if Self.judgedOnContent.contains(code) { return response }
            logger.warning(
                "resent update was refused, so the first copy may have arrived; not sending it again",
                [idField, ("base_version", baseVersion.description), ("code", response.dcfError.error.code)])
            break
        }
        throw DCFWorkerError.updateOutcomeUnknown(baseVersion: baseVersion)
    }

    /// Reply codes that the server sends only after it consumed this copy's nonce and read the update, and the
    /// transport's rejections of the request's framing, which the first copy's identical bytes got too.
    private static let judgedOnContent: Set<DCFErrorCode?> = [
        .updateRejected, .badRequest, .bodyTooLarge, .inflatedTooLarge, .unsupportedEncoding, .uriTooLong,
        .headerTooLarge, .unsupportedTransferEncoding, .unsupportedHTTPVersion,
    ]
}

extension Duration {
    /// The duration without its fraction of a second, for messages that count the seconds of a wait.
    var wholeSeconds: Duration { .seconds(components.seconds) }

    /// The duration in whole milliseconds, for log fields.
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
