// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation

let tool = CommandLineTool(
    name: "dcf-serverd", version: "0.1.0",
    summary: "Federated-learning server: serves the global model to dcf-agents and aggregates their updates with FedAvg.",
    subcommands: [
        Subcommand(
            name: "run", summary: "Run the server.", schema: ServerdSchema.schema,
            defaultConfigPath: "/etc/dcf/serverd.conf")
    ],
    defaultSubcommand: "run")

// Before any output, --help included: a closed pipe must cost the lines, not the process.
SignalSupervisor.ignoreBrokenPipe()
let command = tool.parseOrExit()
MemoryTuning.apply()
OpenFileLimit.raiseToMaximum()
let sink = LogSink.standardError(level: .info)
let settings: ServerdSettings
let daemon: Serverd
do {
    let configuration = try command.loadConfiguration()
    settings = try ServerdSettings(configuration, environment: ProcessInfo.processInfo.environment)
    sink.level = settings.logLevel
    daemon = try Serverd(command: command, configuration: configuration, settings: settings, sink: sink)
} catch {
    exitPrinting(StartupError(error), programName: tool.name)
}
exit(await daemon.run(settings: settings).rawValue)
