// SPDX-License-Identifier: Apache-2.0
import DCFServer
import DCFSupport
import DCFTransport
import FedAvg
import Foundation

/// One run of the daemon: builds the strategy, the backend and the HTTP service, reports readiness to
/// systemd, reloads on SIGHUP and drains on SIGTERM or SIGINT.
final class Serverd: Sendable {
    let command: ParsedCommand
    let sink: LogSink
    let logger: Logger
    let strategy: FedAvgStrategy
    let service: DCFHTTPService
    let stateLock: StateDirectoryLock
    /// The settings the server started with, to tell which changed ones a reload cannot apply.
    let startConfiguration: Configuration

    /// The options SIGHUP applies; `workers.unsafe_mode` is refused with its own error.
    static let reloadableOptions: Set<String> = [
        "log.level", "workers.key_list", "workers.unsafe_mode", "tls.certificate", "tls.private_key", "tls.client_ca",
        "tls.require_client_certificate", "tls.record_layer",
    ]

    init(command: ParsedCommand, configuration: Configuration, settings: ServerdSettings, sink: LogSink) throws {
        self.command = command
        startConfiguration = configuration
        self.sink = sink
        logger = Logger(component: "serverd", sink: sink)
        // The lock creates the state directory and the strategy stores the initial model in it, so the checks
        // that can still fail run first. One check comes later: DCFServer opens the registry database after the
        // strategy, so a damaged database fails the start with the initial model already stored, which the next
        // start reuses. A second server on the same state directory and port fails on the port.
        Self.warnAboutExposedSecretFiles(settings, logger: logger)
        var fedAvg = settings.fedAvg
        if case .safe(let keyList?) = settings.server.admission { fedAvg.keyListKeys = Set(try keyList.load()) }
        let transport = try settings.transportConfiguration
        try FedAvgStrategy.checkInitialModel(settings.fedAvg)
        do {
            try HTTPServer.checkAddressIsFree(host: settings.host, port: settings.port)
        } catch {
            throw StartupError(error, exitCode: .unavailable)
        }
        stateLock = try StateDirectoryLock(directory: settings.server.stateDirectory)
        strategy = try FedAvgStrategy(configuration: fedAvg, logger: logger.child("fedavg"))
        try Self.checkRegistryPresent(
            stateDirectory: settings.server.stateDirectory, strategy: strategy, logger: logger)
        let server = try DCFServer(
            configuration: settings.server, callbacks: strategy, logger: logger.child("server"))
        let rounds = RoundMetrics(stateDirectory: settings.fedAvg.stateDirectory, logger: logger.child("metrics"))
        strategy.onGlobalModelChange { [weak server] in
            rounds.refresh()
            server?.globalModelDidChange()
            MemoryTuning.trim()
        }
        server.addMetricsSource { writer in rounds.write(to: &writer) }
        server.setAdminWarningSource { [strategy, registry = server.registry] in
            Self.roundsCannotClose(strategy: strategy, registry: registry).map { [$0] } ?? []
        }
        let started = Date().timeIntervalSince1970
        server.addMetricsSource { writer in
            // Reading /proc can fail only in unusual sandboxes; the scrape then lacks the process_* families.
            guard let stats = try? ProcessStats.current() else { return }
            writer.appendProcessMetrics(stats, startTimeSeconds: started)
        }
        if case .tls(let context) = transport.security, context.certificateHasExpired {
            logger.warning(
                "the server certificate has expired; agents will reject it. Replace tls.certificate and send SIGHUP",
                [("file", context.configuration.certificateChainFile ?? "")])
        }
        service = DCFHTTPService(server: server, transportConfiguration: transport, logger: logger)
        strategy.setTransferCounter { [service] in
            let statistics = service.statistics
            return (statistics.bytesIn, statistics.bytesOut)
        }
    }

    /// Serves until a signal ends the run; returns the process exit code.
    func run(settings: ServerdSettings) async -> ExitCode {
        let notifier = SystemdNotifier.takeFromEnvironment(logger: logger)
        // The drain closes requests still open after the grace period of 10 s. The drain deadline of 20 s leaves
        // time after that for the strategy's background work, and the process exits at it in any case.
        let supervisor = SignalSupervisor(drainDeadline: .seconds(20), logger: logger.child("signals"))
        supervisor.start(
            .init(
                drain: { [self] in
                    notifier.stopping(status: "draining")
                    await service.stop(gracePeriod: .seconds(10))
                },
                cancel: { [self] in logger.error("drain did not finish in time; exiting") },
                reload: { [self] in reload(notifier: notifier) }))
        let port: Int
        do {
            port = try service.start()
        } catch {
            logger.error("cannot start listening", [("error", String(describing: error))])
            return .unavailable
        }
        let address = HostText.withPort(settings.host, port)
        logger.info(
            "listening",
            [("address", address), ("tls", settings.tls == nil ? "off" : "on"),
             ("tls_record_layer", settings.tls?.recordLayer.rawValue ?? "none"),
             ("version", strategy.currentVersion.description), ("event_loops", String(settings.eventLoops)),
             ("open_file_limit", String(OpenFileLimit.raiseToMaximum()))])
        if settings.tls == nil {
            logger.warning("TLS is off (server.plain_http); serve only behind a TLS-terminating proxy")
        }
        warnIfRoundsCannotClose()
        notifier.ready(status: "serving model version \(strategy.currentVersion) on port \(port)")
        // Each ping first checks that every event loop ran the probe queued two pings earlier, so systemd restarts
        // a server whose loops are stuck even though this timer thread still runs. With pings at half of
        // WatchdogSec, a loop busy for less than WatchdogSec costs no ping, and a stuck loop is restarted
        // between 1.5 and 2 times WatchdogSec after it stopped.
        let watchdog = SystemdWatchdog(notifier: notifier) { [service, logger] in
            let stuck = service.unresponsiveLoops()
            guard stuck.isEmpty else {
                logger.error(
                    "event loops ran no task for two watchdog checks; withholding the systemd watchdog ping",
                    [("loops", stuck.map(String.init).joined(separator: " "))])
                return false
            }
            return true
        }
        let termination = await supervisor.waitForTermination()
        watchdog?.cancel()
        logger.info("stopped", [("reason", termination.description)])
        return termination.outcome == .drained ? .success : .failure
    }

    /// Reloads the worker key list, the TLS certificate and key, and the log level from the config file.
    private func reload(notifier: SystemdNotifier) {
        notifier.reloading()
        defer { notifier.ready() }
        let settings: ServerdSettings
        let configuration: Configuration
        do {
            configuration = try command.loadConfiguration()
            settings = try ServerdSettings(configuration, environment: ProcessInfo.processInfo.environment)
        } catch {
            // A config error puts each problem on a line of its own. Each becomes a log line, because the journal
            // would show a line break inside one log line as a bare line without time or level.
            for problem in String(describing: error).split(whereSeparator: \.isNewline) where !problem.isEmpty {
                logger.error("reload failed; keeping the running settings", [("error", String(problem))])
            }
            return
        }
        applyLogLevel(settings.logLevel)
        let needRestart = configuration.changedOptions(since: startConfiguration)
            .filter { !Self.reloadableOptions.contains($0) }
        if !needRestart.isEmpty {
            logger.warning(
                "changed settings take effect only after a restart; running with the values from the start",
                [("settings", needRestart.joined(separator: " "))])
        }
        do {
            let reload = try service.server.reloadKeyList(mode: settings.server.admission)
            logger.info(
                "reloaded worker key list", [
                    ("added", String(reload.added.count)), ("removed", String(reload.removed.count)),
                    ("unregistered", String(reload.changes.count)),
                ])
            warnIfRoundsCannotClose()
        } catch {
            logger.error("key list reload failed; keeping the old list", [("error", String(describing: error))])
        }
        if let tls = settings.tls { reloadTLS(tls, settings: settings) }
    }
}
