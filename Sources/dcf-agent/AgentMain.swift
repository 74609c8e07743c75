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
        // Taken first, so no training command inherits NOTIFY_SOCKET and speaks for the agent.
        let notifier = SystemdNotifier.takeFromEnvironment(logger: logger.child("systemd"))
        let settings: AgentSettings
        let relay = WorkerCallbackRelay()
        let worker: DCFWorker
        let trainer: any AgentTrainer
        var workDirectoryLock: WorkDirectoryLock?
        do {
            settings = try AgentSettings(try command.loadConfiguration())
            sink.level = settings.logLevel
            worker = try makeWorker(settings, callbacks: relay.callbacks, logger: logger.child("worker"))
            // Checked after the worker has read the key files, so a file of the wrong kind gets its error only.
            settings.warnAboutExposedKeyFiles(logger: logger)
            if settings.trainerKind == "command" {
                workDirectoryLock = try WorkDirectoryLock(directory: settings.workDirectory)
            }
            trainer = try makeTrainer(settings, workerID: worker.publicKeyHex, logger: logger)
        } catch {
            // Everything read here is named by a setting (data directory, key and certificate files, shard), so a
            // failure is the configuration's unless the error names another cause.
            exitPrinting(error, programName: "dcf-agent", fallback: .config)
        }

        let runner = AgentRunner(settings: settings, trainer: trainer, worker: worker, notifier: notifier, logger: logger)
        relay.connect(runner)
        let supervisor = SignalSupervisor(drainDeadline: .seconds(10), logger: logger.child("signals"))
        supervisor.start(.init(drain: {
            notifier.stopping(status: "stopping")
            runner.stop()
        }, cancel: {}, reload: {
            logger.info("SIGHUP ignored: restart the agent to apply new settings")
        }))
        notifier.ready(status: "joining \(settings.worker.serverURL.absoluteString)")
        let watchdog = SystemdWatchdog(notifier: notifier)
        defer {
            watchdog?.cancel()
            notifier.stopping()
            withExtendedLifetime(workDirectoryLock) {}
        }
        do {
            try await runner.run()
            return .success
        } catch let error as DCFWorkerError where error.isProtocolMismatch {
            logger.error("protocol mismatch; upgrade the agent or the server", [("error", error.description)])
            return .unavailable
        } catch let error as DCFWorkerError where error.isInvalidConfiguration {
            logger.error(
                "agent stopped: a setting cannot work; fix it and start the agent again", [("error", error.description)])
            return .config
        } catch let error as AgentTrainerError where error.isConfigurationMismatch {
            logger.error("agent stopped: its settings cannot train the server's model", [("error", error.description)])
            return .config
        } catch {
            logger.error("agent failed", [("error", String(describing: error))])
            return .failure
        }
    }

    /// Reads the key, the CA and client certificate files and checks the server address, before the data is
    /// loaded, so a mistake in them stops the agent at once as a configuration error.
    static func makeWorker(
        _ settings: AgentSettings, callbacks: DCFWorkerCallbacks, logger: Logger
    ) throws(AgentSettingsError) -> DCFWorker {
        do {
            return try DCFWorker(configuration: settings.worker, callbacks: callbacks, logger: logger)
        } catch {
            throw WorkerSettingsProblem.error(for: error, configuration: settings.worker)
        }
    }

    static func makeTrainer(_ settings: AgentSettings, workerID: String, logger: Logger) throws -> any AgentTrainer {
        if settings.trainerKind == "command", let command = settings.command {
            logger.info(
                "training with an external command", [("work_directory", settings.workDirectory.path), ("command", command)])
            let configuration = ExternalTrainerConfiguration(
                command: command, timeout: settings.commandTimeout, workDirectory: settings.workDirectory,
                workerID: workerID, extraEnvironment: [:])
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
