// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation

let tool = DcfctlCommands.tool
// Before any output, --help included: a closed pipe must cost the lines, not the process.
SignalSupervisor.ignoreBrokenPipe()
let command = tool.parseOrExit()
do {
    let client = try AdminClient(command: command, environment: ProcessInfo.processInfo.environment)
    let output = try DcfctlCommands.run(command, client: client)
    StandardStream.output.write(output)
} catch {
    // Messages quote the server's error text and other values it sent, so its control characters are escaped.
    let exitCode = (error as? any ExitCodeProviding)?.exitCode ?? .failure
    let message = String(describing: error).escapingControlCharacters
    exitPrinting(DcfctlError(message, exitCode: exitCode), programName: tool.name)
}
