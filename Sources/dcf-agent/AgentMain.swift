// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFSupport
import DCFTraining
import DCFWorker
import Foundation

/// `dcf-agent run`: loads settings and data, builds the trainer, and runs the round loop under the
/// signal supervisor.
enum AgentMain {
    static func run(_ command: ParsedCommand) async -> ExitCode {
        let sink = LogSink.standardError(level: .info)
        let logger = Logger(component: "agent", sink: sink)
        let settings: AgentSettings
        let trainer: any AgentTrainer
        do {
            settings = try AgentSettings(try command.loadConfiguration())
            sink.level = settings.logLevel
            trainer = try makeTrainer(settings, logger: logger)
        } catch {
            // Everything read here is named by a setting (data directory, key and certificate files, shard), so a
            // failure is the configuration's unless the error names another cause.
            exitPrinting(error, programName: "dcf-agent", fallback: .config)
        }

        let runner = AgentRunner(settings: settings, trainer: trainer, logger: logger)
        let supervisor = SignalSupervisor(drainDeadline: .seconds(10), logger: logger.child("signals"))
        supervisor.start(.init(drain: { runner.stop() }, cancel: {}, reload: {
            logger.info("SIGHUP ignored: restart the agent to apply new settings")
        }))
        do {
            try await runner.run()
            return .success
        } catch let error as DCFWorkerError where error.isProtocolMismatch {
            logger.error("protocol mismatch; upgrade the agent or the server", [("error", error.description)])
            return .unavailable
        } catch {
            logger.error("agent failed", [("error", String(describing: error))])
            return .failure
        }
    }

    static func makeTrainer(_ settings: AgentSettings, logger: Logger) throws -> any AgentTrainer {
        if settings.trainerKind == "command", let command = settings.command {
            try FileManager.default.createDirectory(at: settings.workDirectory, withIntermediateDirectories: true)
            logger.info(
                "training with an external command", [("work_directory", settings.workDirectory.path), ("command", command)])
            let key = try Ed25519KeyFile.readPrivateKey(at: settings.worker.privateKeyFile) { _ in }
            let configuration = ExternalTrainerConfiguration(
                command: command, timeout: settings.commandTimeout, workDirectory: settings.workDirectory,
                workerID: key.publicKey.hexString, extraEnvironment: [:])
            try configuration.validate()
            return ExternalCommandTrainer(configuration: configuration, logger: logger.child("command"))
        }
        if ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] == nil {
            // One BLAS thread per agent was the fastest and steadiest on a loaded machine (docs/benchmarks-training.md),
            // and several agents often share a host in tests and demos.
            OpenBLAS.setThreadCount(1)
        }
        logger.info(
            "loading Fashion-MNIST", [("directory", settings.dataDirectory),
                                      ("shard", "\(settings.selection.shardIndex)/\(settings.selection.shardCount)")])
        let data = try settings.selection.loadFashionMNIST(directory: settings.dataDirectory)
        logger.info(
            "site data loaded",
            [("training", String(data.training.count)), ("held_out", String(data.heldOut.count))])
        return BuiltinTrainer(layerSizes: settings.layerSizes, options: settings.options, data: data)
    }
}
