// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation

let tool = DcfctlCommands.tool
let command = tool.parseOrExit()
do {
    let client = try AdminClient(command: command, environment: ProcessInfo.processInfo.environment)
    let output = try DcfctlCommands.run(command, client: client)
    FileHandle.standardOutput.write(Data(output.utf8))
} catch {
    exitPrinting(error, programName: tool.name)
}
