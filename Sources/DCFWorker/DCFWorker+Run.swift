// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation

extension DCFWorker {
    /// The body of `run()`: register, then long-poll for new models, backing off after each failure.
    func runLoop() async throws {
        var failures = 0
        while true {
            try Task.checkCancellation()
            do {
                if !session.withLock({ $0.isRegistered }) { try await registerWorker() }
                try await pollOnce()
                failures = 0
            } catch let error where Self.isFinal(error) {
                if !(error is CancellationError) {
                    logger.error("worker stopped", [idField, ("error", String(describing: error))])
                }
                throw error
            } catch {
                let delay = configuration.backoff.delay(forAttempt: failures)
                failures += 1
                logger.warning(
                    "request failed; retrying",
                    [idField, ("attempt", String(failures)), ("delay_ms", String(delay.milliseconds)),
                     ("error", String(describing: error))])
                try await Task.sleep(for: delay)
            }
        }
    }

    /// One long poll; on a new version, downloads it and passes it to `globalModelVersionChanged`.
    /// A "no change" reply returns at once, so the loop asks again.
    private func pollOnce() async throws {
        let known = callbacks.getWorkerVersionOfGlobalModel()
        let wait = try await waitForModel(after: known)
        guard wait.changed, let version = wait.version, version != known else {
            logger.debug("no new global model", [idField, ("version", known?.description ?? "none")])
            return
        }
        let (bytes, served) = try await downloadModelParts(version)
        logger.info(
            "received global model",
            [idField, ("version", served.description), ("previous", known?.description ?? "none"),
             ("bytes", String(bytes.count))])
        do {
            // Handed over, not shared: the callback may free the bytes before it returns.
            try await callbacks.globalModelVersionChanged(consume bytes, served)
        } catch let error as CancellationError {
            throw error
        } catch {
            throw CallbackFailure(version: served, error: error)
        }
    }

    /// Whether retrying cannot fix `error`: cancellation, a protocol mismatch, a configuration error, or a
    /// signature the server rejects (the key or the signing code is wrong).
    private static func isFinal(_ error: any Error) -> Bool {
        if error is CancellationError { return true }
        guard let error = error as? DCFWorkerError else { return false }
        return error.isProtocolMismatch || error.isInvalidConfiguration || error.serverErrorCode == .badSignature
    }
}

/// `globalModelVersionChanged` threw; the loop logs it and offers the model again after a backoff delay.
struct CallbackFailure: Error, CustomStringConvertible {
    let version: ModelVersion
    let error: any Error

    var description: String { "globalModelVersionChanged failed for version \(version): \(error)" }
}
