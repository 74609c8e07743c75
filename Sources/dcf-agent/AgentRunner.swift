// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import DCFTraining
import DCFWorker
import Foundation
import Synchronization

/// The agent's round loop: each new global model is trained by the configured trainer and the
/// update sent. A failed round is logged, sends nothing, and the next round waits `retryDelay`,
/// doubled after each further failure.
final class AgentRunner: Sendable {
    private struct State {
        var heldVersion: ModelVersion?
        var rounds = 0
        var consecutiveFailures = 0
    }

    let settings: AgentSettings
    let trainer: any AgentTrainer
    let logger: Logger
    let display: ProgressDisplay
    private let state = Mutex(State())
    private let workerBox = Mutex<DCFWorker?>(nil)

    init(settings: AgentSettings, trainer: any AgentTrainer, logger: Logger) {
        self.settings = settings
        self.trainer = trainer
        self.logger = logger
        display = ProgressDisplay(style: settings.progress)
    }

    /// Runs until `maxRounds` updates were sent, a signal stops it, or the server cannot be used.
    func run() async throws {
        let callbacks = DCFWorkerCallbacks(
            globalModelVersionChanged: { [self] model, version in await trainRound(model: model, version: version) },
            getWorkerVersionOfGlobalModel: { [self] in state.withLock { $0.heldVersion } })
        let worker = try DCFWorker(configuration: settings.worker, callbacks: callbacks, logger: logger.child("worker"))
        workerBox.withLock { $0 = worker }
        logger.info(
            "agent starting",
            [("server", settings.worker.serverURL.absoluteString), ("worker", String(worker.publicKeyHex.prefix(8))),
             ("public_key", worker.publicKeyHex), ("trainer", settings.trainerKind),
             ("tls_record_layer", settings.worker.tlsRecordLayer.rawValue)])
        do {
            try await worker.run()
        } catch is CancellationError {
            let rounds = state.withLock { $0.rounds }
            logger.info("agent stopped", [("rounds", String(rounds))])
        }
    }

    /// Stops the worker loop; `run()` returns.
    func stop() {
        workerBox.withLock { $0 }?.stop()
    }

    private func trainRound(model: Data, version: ModelVersion) async {
        let round = state.withLock { $0.rounds } + 1
        let started = ContinuousClock.now
        do {
            let payload = try await trainer.train(globalModel: model, version: version, round: round) { [display] in
                display.training(round: round, version: version.description, fraction: $0)
            }
            guard let worker = workerBox.withLock({ $0 }) else { return }
            display.uploading(round: round, bytes: payload.count)
            let reply = try await worker.sendModelUpdate(payload)
            let seconds = Double((ContinuousClock.now - started).components.seconds)
            display.finish(round: round, status: "sent update from model v\(version) (\(payload.count) bytes)")
            logger.info(
                "round done", [("round", String(round)), ("base_version", version.description),
                               ("bytes", String(payload.count)), ("seconds", String(format: "%.0f", seconds)),
                               ("server", reply.message)])
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
        } catch {
            await failRound(round: round, version: version, error: error)
        }
    }

    private func failRound(round: Int, version: ModelVersion, error: any Error) async {
        let failures = state.withLock { state in
            // The failed version counts as held so the worker waits for the next one instead of retrying at once.
            state.heldVersion = version
            state.consecutiveFailures += 1
            return state.consecutiveFailures
        }
        let delay = settings.retryDelay * (1 << min(failures - 1, 5))
        display.finish(round: round, status: "failed; nothing sent")
        logger.error(
            "round failed; nothing was sent",
            [("round", String(round)), ("base_version", version.description), ("error", String(describing: error)),
             ("retry_in", "\(delay)")])
        try? await Task.sleep(for: delay)
        // Training again on the same version is worthwhile when the failure was passing (a busy disk, a
        // timeout). Forgetting the held version makes the worker hand the current model over again.
        state.withLock { $0.heldVersion = nil }
    }
}
