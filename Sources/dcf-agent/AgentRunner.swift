// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import DCFTraining
import DCFWorker
import Foundation
import Synchronization

/// The agent's round loop: each new global model is trained by the configured trainer and the
/// update sent. A failed round is logged and the next round waits `retryDelay`, doubled after each further
/// failure. An update the server rejected as stale is not a failure: the next model is trained at once.
final class AgentRunner: Sendable {
    private struct State {
        var heldVersion: ModelVersion?
        var rounds = 0
        var consecutiveFailures = 0
        /// The error that stopped the agent because no later round could succeed.
        var stoppingError: (any Error)?
    }

    let settings: AgentSettings
    let trainer: any AgentTrainer
    let worker: DCFWorker
    let notifier: SystemdNotifier
    let logger: Logger
    let display: ProgressDisplay
    private let state = Mutex(State())

    init(settings: AgentSettings, trainer: any AgentTrainer, worker: DCFWorker, notifier: SystemdNotifier, logger: Logger) {
        self.settings = settings
        self.trainer = trainer
        self.worker = worker
        self.notifier = notifier
        self.logger = logger
        display = ProgressDisplay(style: settings.progress)
    }

    /// The global model version the agent holds, for the worker's long poll.
    var heldVersion: ModelVersion? { state.withLock { $0.heldVersion } }

    /// Runs until `maxRounds` updates were sent, a signal stops it, or the server cannot be used.
    ///
    /// - Throws: the worker's final error, or `AgentTrainerError` with `isConfigurationMismatch` when the
    ///   agent's settings cannot train the server's model.
    func run() async throws {
        logger.info(
            "agent starting",
            // The worker id is the public key on a server with a key list, and a random id in unsafe mode, so only
            // the key is known before registration.
            [("server", settings.worker.serverURL.absoluteString), ("public_key", worker.publicKeyHex),
             ("trainer", settings.trainerKind), ("tls_record_layer", settings.worker.tlsRecordLayer.rawValue)])
        do {
            try await worker.run()
        } catch is CancellationError {
            if let error = state.withLock({ $0.stoppingError }) { throw error }
            let rounds = state.withLock { $0.rounds }
            logger.info("agent stopped", [("rounds", String(rounds))])
        }
    }

    /// Stops the worker loop; `run()` returns.
    func stop() {
        worker.stop()
    }

    func trainRound(model: Data, version: ModelVersion) async {
        let round = state.withLock { $0.rounds } + 1
        let started = ContinuousClock.now
        notifier.status("round \(round): training model v\(version)")
        // With the progress display off (the default outside a terminal) this line and "round done" are the
        // round's only marks in the log.
        logger.info("round started", [("round", String(round)), ("base_version", version.description)])
        do {
            let payload = try await trainer.train(globalModel: model, version: version, round: round) { [display] in
                display.training(round: round, version: version.description, fraction: $0)
            }
            display.uploading(round: round, bytes: payload.count)
            let reply = try await worker.sendModelUpdate(payload)
            let seconds = (ContinuousClock.now - started).secondsDouble
            display.finish(round: round, status: "sent update from model v\(version) (\(payload.count) bytes)")
            logger.info(
                "round done", [("round", String(round)), ("base_version", version.description),
                               ("bytes", String(payload.count)), ("seconds", String(format: "%.2f", seconds)),
                               ("server", reply.message)])
            notifier.status("round \(round) done: sent the update from model v\(version)")
            let finished = state.withLock { state in
                state.heldVersion = version
                state.rounds = round
                state.consecutiveFailures = 0
                return settings.maxRounds > 0 && round >= settings.maxRounds
            }
            if finished {
                logger.info("reached max_rounds; exiting", [("rounds", String(round))])
                stop()
            }
        } catch is CancellationError {
            return
        } catch let error as DCFWorkerError
            where error.serverErrorCode == .updateRejected && error.serverErrorReason == Self.staleReason
        {
            // Another site's update closed the round while this one trained. That happens in every federation
            // whose sites differ in speed; waiting would only make this site later for the next round.
            display.finish(round: round, status: "update arrived after the round closed; training the new model")
            logger.notice(
                "the server did not count the update, because its model changed while this round trained (usually "
                    + "another site's update closed the round); training on the server's current model",
                [("round", String(round)), ("base_version", version.description), ("error", error.description)])
            state.withLock { $0.heldVersion = version }
        } catch let error as AgentTrainerError where error.isConfigurationMismatch {
            display.finish(round: round, status: "failed; nothing was sent")
            logger.error(
                "round failed; nothing was sent, and no later round can succeed with these settings",
                [("round", String(round)), ("base_version", version.description), ("error", error.description)])
            notifier.status("stopped: the settings cannot train the server's model")
            state.withLock { $0.stoppingError = error }
            stop()
        } catch {
            await failRound(round: round, version: version, error: error)
        }
    }

    /// The `reason` of an `update_rejected` reply for an update trained from an older model than the server
    /// accepts.
    static let staleReason = "stale_base_version"

    private func failRound(round: Int, version: ModelVersion, error: any Error) async {
        let failures = state.withLock { state in
            // The failed version counts as held so the worker waits for the next one instead of retrying at once.
            state.heldVersion = version
            state.consecutiveFailures += 1
            return state.consecutiveFailures
        }
        let delay = settings.retryDelay * (1 << min(failures - 1, 5))
        let outcome = Self.outcome(of: error)
        display.finish(round: round, status: "failed; \(outcome)")
        logger.error(
            "round failed; \(outcome)",
            [("round", String(round)), ("base_version", version.description), ("error", String(describing: error)),
             ("retry_in", "\(delay)")])
        notifier.status("round \(round) failed; retrying in \(delay)")
        try? await Task.sleep(for: delay)
        // Training again on the same version is worthwhile when the failure was passing (a busy disk, a
        // timeout). Forgetting the held version makes the worker hand the current model over again.
        state.withLock { $0.heldVersion = nil }
    }

    /// Describes what a failed round did with its update, for the log.
    static func outcome(of error: any Error) -> String {
        guard let error = error as? DCFWorkerError else { return "nothing was sent" }
        if error.isUpdateNotDelivered { return "the server did not take the update in time, so it was dropped" }
        if error.isUpdateOutcomeUnknown { return "the update was sent, but whether the server counted it is unknown" }
        if error.serverErrorCode == .updateRejected { return "the server rejected the update" }
        if error.operation == "send update" && error.httpStatus != nil { return "the server did not take the update" }
        return "nothing was sent"
    }
}

/// Passes the worker's callbacks to the runner, which is made after the worker: the worker is built first so
/// that its settings are checked before the site's data is loaded.
final class WorkerCallbackRelay: Sendable {
    private let runner = Mutex<AgentRunner?>(nil)

    func connect(_ runner: AgentRunner) {
        self.runner.withLock { $0 = runner }
    }

    var callbacks: DCFWorkerCallbacks {
        DCFWorkerCallbacks(
            globalModelVersionChanged: { [self] model, version in
                await runner.withLock({ $0 })?.trainRound(model: model, version: version)
            },
            getWorkerVersionOfGlobalModel: { [self] in runner.withLock { $0 }?.heldVersion })
    }
}
