// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
public import DCFSupport
public import Foundation

/// Runs a site's own training program (PyTorch, TensorFlow, NumPy, ...) as a shell command once per round.
///
/// Each round the trainer writes the global model to a safetensors file and runs the command with
/// `/bin/sh -c` and these environment variables:
/// - `DCF_GLOBAL_MODEL`: path of the global model, safetensors;
/// - `DCF_UPDATE_PATH`: where the command must save the trained model, safetensors with the same tensors;
/// - `DCF_METRICS_PATH`: where it may write a JSON object of metrics (`num_examples`, `train_loss`, ...);
/// - `DCF_ROUND`, `DCF_MODEL_VERSION`, `DCF_WORKER_ID`: the round counter, the global model's version and
///   the agent's worker id.
///
/// The command's output lines go to the agent's log. After it exits with status 0, the update's tensors are
/// checked against the global model and sent with `UpdateMetadata` (base version = the round's version,
/// example count and metrics from the update's `__metadata__` or the metrics file) in its `__metadata__`.
public final class ExternalCommandTrainer: AgentTrainer {
    public let configuration: ExternalTrainerConfiguration
    private let logger: Logger

    /// Creates a trainer; `configuration` is checked at the start of every round.
    public init(configuration: ExternalTrainerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs the command for one round and returns its checked update with metadata.
    ///
    /// - Throws: `AgentTrainerError` when the command cannot start, exits with a non-zero status, is killed,
    ///   times out, or writes a missing, malformed or mismatched update or no valid example count. The
    ///   message includes the last lines of the command's standard error. `CancellationError` when the task
    ///   is cancelled; the command's process group is killed then.
    public func train(
        globalModel: Data, version: ModelVersion, round: Int, progress: @escaping @Sendable (Double) -> Void
    ) async throws -> Data {
        try configuration.validate()
        let global: SafeTensors
        do {
            global = try SafeTensors(bytes: globalModel)
        } catch {
            throw AgentTrainerError("the global model of version \(version) is not a valid safetensors file: \(error)")
        }
        let files = try ExternalRoundFiles.prepare(workDirectory: configuration.workDirectory, round: round)
        do {
            try globalModel.write(to: files.globalModel)
        } catch {
            throw AgentTrainerError("could not write the global model to \(files.globalModel.path): \(error)")
        }
        let roundLogger = logger.child("command", metadata: [("round", "\(round)"), ("version", "\(version)")])
        progress(0)
        let start = ContinuousClock.now
        let outcome = try await runCommand(environment: environment(files, version: version, round: round),
                                           logger: roundLogger)
        try Task.checkCancellation()
        try Self.checkTermination(outcome, timeout: configuration.timeout)
        let reader = ExternalUpdateReader(
            files: files, globalModel: global, globalModelSize: globalModel.count, version: version)
        let result: (payload: Data, metadata: UpdateMetadata)
        do {
            result = try reader.payload()
        } catch {
            throw AgentTrainerError(error.description + Self.standardErrorSummary(outcome.standardErrorTail))
        }
        progress(1)
        roundLogger.info("training command finished", [
            ("examples", "\(result.metadata.numExamples)"),
            ("seconds", String(format: "%.1f", Double((ContinuousClock.now - start).nanosecondsClamped) / 1e9)),
        ])
        return result.payload
    }

    private func environment(_ files: ExternalRoundFiles, version: ModelVersion, round: Int) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.merging(configuration.extraEnvironment) { $1 }
        environment["DCF_GLOBAL_MODEL"] = files.globalModel.path
        environment["DCF_UPDATE_PATH"] = files.update.path
        environment["DCF_METRICS_PATH"] = files.metrics.path
        environment["DCF_ROUND"] = String(round)
        environment["DCF_MODEL_VERSION"] = version.description
        environment["DCF_WORKER_ID"] = configuration.workerID
        return environment
    }

    /// Runs the command on its own thread, because waiting for it blocks, and kills it on cancellation.
    private func runCommand(environment: [String: String], logger: Logger) async throws -> CommandOutcome {
        try Task.checkCancellation()
        let process = try CommandProcess(command: configuration.command, environment: environment, logger: logger)
        let timeout = configuration.timeout
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    continuation.resume(returning: process.waitForEnd(timeout: timeout))
                }
            }
        } onCancel: {
            process.killGroup()
        }
    }

    private static func checkTermination(_ outcome: CommandOutcome, timeout: Duration) throws(AgentTrainerError) {
        let reason: String
        switch outcome.termination {
        case .exited(status: 0):
            return
        case .exited(let status):
            reason = "the training command exited with status \(status)" + CommandSignal.shellStatusNote(status)
        case .signaled(let signal):
            reason = "the training command was killed by signal \(CommandSignal.describe(signal))"
                + CommandSignal.senderHint(signal)
        case .timedOut:
            reason = "the training command timed out after \(DurationFormat.format(timeout)) and was terminated; "
                + "raise trainer.command_timeout (--command-timeout) or train on fewer examples per round"
        }
        throw AgentTrainerError(reason + standardErrorSummary(outcome.standardErrorTail))
    }

    private static func standardErrorSummary(_ tail: [String]) -> String {
        let lines = tail.filter { !$0.allSatisfy(\.isWhitespace) }
        guard !lines.isEmpty else { return "; the command wrote nothing to stderr" }
        return "; last lines of its stderr: " + lines.joined(separator: " | ")
    }
}
