// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import Foundation

extension DCFWorker {
    /// The body of `run()`: register, then long-poll for new models, backing off after each failure.
    func runLoop() async throws {
        var failures = 0
        var pacing = DisplacedPollPacing()
        while true {
            try Task.checkCancellation()
            do {
                if !session.withLock({ $0.isRegistered }) { try await registerWorker() }
                let started = ContinuousClock.now
                let changed = try await pollOnce()
                failures = 0
                if let delay = pacing.delay(afterPollThatChanged: changed, took: .now - started,
                                            backoff: configuration.backoff) {
                    if pacing.shouldWarn {
                        logger.warning(
                            "the server ended the long poll at once with \"no change\" \(pacing.consecutive) times in a row, "
                                + "which it does when another long poll for the same worker id arrives; another agent may "
                                + "be running with this worker's key. Give each agent a key of its own",
                            [idField, ("public_key", publicKeyHex), ("delay_ms", String(delay.milliseconds))])
                    }
                    try await Task.sleep(for: delay)
                }
            } catch let error where Self.isFinal(error) {
                // The caller reports a settings error once, with the exit status it chooses for it.
                let isSettingsError = (error as? DCFWorkerError)?.isInvalidConfiguration == true
                if !(error is CancellationError) && !isSettingsError {
                    logger.error("worker stopped", [idField, ("error", String(describing: error))])
                }
                throw error
            } catch {
                let delay = configuration.backoff.delay(forAttempt: failures)
                failures += 1
                // A failed training callback does not involve the server, so it starts no outage.
                if error is DCFWorkerError { recordFailedAttempt() }
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
    /// - Returns: false for a "no change" reply, true when a new version was handed over.
    private func pollOnce() async throws -> Bool {
        let known = callbacks.getWorkerVersionOfGlobalModel()
        let offersAgain = session.withLock { $0.offersCurrentModelAgain }
        // Asking with no version returns the current one at once.
        let wait = try await waitForModel(after: offersAgain ? nil : known)
        guard wait.changed, let version = wait.version, offersAgain || version != known else {
            logger.debug("no new global model", [idField, ("version", known?.description ?? "none")])
            return false
        }
        if offersAgain {
            session.withLock { $0.offersCurrentModelAgain = false }
            if version == known {
                logger.notice(
                    "registered again, and the server dropped this worker's update with its registration; "
                        + "training the current model again", [idField, ("version", version.description)])
            }
        }
        let (bytes, served) = try await downloadModelParts(version)
        let previous = session.withLock { session in
            defer { session.lastHandedOver = served }
            return known ?? session.lastHandedOver
        }
        logger.info(
            previous == served ? "received global model again" : "received global model",
            [idField, ("version", served.description), ("previous", previous?.description ?? "none"),
             ("bytes", String(bytes.count))])
        do {
            // Handed over, not shared: the callback may free the bytes before it returns.
            try await callbacks.globalModelVersionChanged(consume bytes, served)
        } catch let error as CancellationError {
            throw error
        } catch {
            throw CallbackFailure(version: served, error: error)
        }
        return true
    }

    /// Counts a failed attempt of the run loop or of an update's retries towards the current outage.
    func recordFailedAttempt() {
        session.withLock { session in
            var outage = session.outage ?? Outage(started: .now)
            outage.failedAttempts += 1
            session.outage = outage
        }
    }

    /// Logs the end of an outage once, at the first successful reply after failed attempts.
    func endOutage() {
        let ended = session.withLock { session -> Outage? in
            defer { session.outage = nil }
            return session.outage
        }
        guard let ended else { return }
        let attempts = ended.failedAttempts == 1 ? "1 failed attempt" : "\(ended.failedAttempts) failed attempts"
        let duration = ContinuousClock.now - ended.started
        logger.notice(
            "requests to the server succeed again after \(attempts) (\(String(format: "%.1f", duration.secondsDouble)) s)",
            [idField])
    }

    /// Whether retrying cannot fix `error`: cancellation, a protocol mismatch, a configuration error, or a
    /// signature the server rejects (the key or the signing code is wrong).
    private static func isFinal(_ error: any Error) -> Bool {
        if error is CancellationError { return true }
        guard let error = error as? DCFWorkerError else { return false }
        return error.isProtocolMismatch || error.isInvalidConfiguration || error.serverErrorCode == .badSignature
    }
}

/// A run of failed attempts, from the first failure to the next successful request.
struct Outage {
    let started: ContinuousClock.Instant
    var failedAttempts = 0
}

/// `globalModelVersionChanged` threw; the loop logs it and offers the model again after a backoff delay.
struct CallbackFailure: Error, CustomStringConvertible {
    let version: ModelVersion
    let error: any Error

    var description: String { "globalModelVersionChanged failed for version \(version): \(error)" }
}

/// Paces long polls that the server ends with "no change" at once.
///
/// The server holds a long poll for at least a second, and ends it early with "no change" only when a newer long
/// poll for the same worker id replaces it. Two agents that share a key replace each other's polls in a loop of
/// hundreds of requests a second, so after a few such replies in a row the loop waits a backoff delay.
struct DisplacedPollPacing {
    /// A "no change" reply faster than this was not held; the server's shortest hold is one second.
    static let heldPollMinimum = Duration.milliseconds(900)
    /// Early replies tolerated before the loop waits; one can follow a lost connection.
    static let tolerated = 2
    /// Early replies between two repeated warnings.
    static let warningInterval = 100

    /// Early "no change" replies in a row.
    private(set) var consecutive = 0

    /// Records one poll; returns the delay before the next one, or nil to poll at once.
    mutating func delay(afterPollThatChanged changed: Bool, took elapsed: Duration, backoff: RetryBackoff) -> Duration? {
        guard !changed, elapsed < Self.heldPollMinimum else {
            consecutive = 0
            return nil
        }
        consecutive += 1
        guard consecutive > Self.tolerated else { return nil }
        return backoff.delay(forAttempt: consecutive - Self.tolerated - 1)
    }

    /// Whether the last delay should be logged: the first one of a streak, then every `warningInterval`.
    var shouldWarn: Bool {
        consecutive == Self.tolerated + 1 || (consecutive - Self.tolerated - 1) % Self.warningInterval == 0
    }
}
