// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import DCFTraining
import Foundation

let tool = CommandLineTool(
    name: "dcf-agent", version: "0.1.0",
    summary: "Federated-learning agent: trains each new global model of a dcf-serverd on this site's data.",
    subcommands: [
        Subcommand(
            name: "run", summary: "Join the server and train every round.",
            schema: AgentSchema.schema, defaultConfigPath: "/etc/dcf/agent.conf"),
        ToolCommands.keygen, ToolCommands.verifyKey, ToolCommands.initModel, ToolCommands.evaluate,
    ],
    defaultSubcommand: "run")

// Before any output, --help included: a closed pipe must cost the lines, not the process.
SignalSupervisor.ignoreBrokenPipe()
let command = tool.parseOrExit()
do {
    switch command.subcommand.name {
    case "keygen": try ToolCommands.runKeygen(command)
    case "verify-key": try ToolCommands.runVerifyKey(command)
    case "init-model": try ToolCommands.runInitModel(command)
    case "evaluate": try ToolCommands.runEvaluate(command)
    default: exit(await AgentMain.run(command).rawValue)
    }
} catch {
    exitPrinting(error, programName: tool.name)
}
