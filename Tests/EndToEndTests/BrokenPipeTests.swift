// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// Each program's output goes to a pipe whose reader is already gone, as with `dcf-serverd --help | true`
/// after `true` exits: the program must end with its own exit status, not be killed by SIGPIPE.
@Suite struct BrokenPipeTests {
    struct Run: Sendable, CustomStringConvertible {
        let program: String
        let arguments: [String]
        let status: Int32
        var description: String { ([program] + arguments).joined(separator: " ") }
    }

    static let runs = [
        Run(program: "dcf-serverd", arguments: ["run", "--help"], status: 0),
        Run(program: "dcf-serverd", arguments: ["run", "--example-config"], status: 0),
        Run(program: "dcf-serverd", arguments: ["run", "--no-such-option"], status: 64),
        Run(program: "dcf-agent", arguments: ["run", "--help"], status: 0),
        Run(program: "dcf-agent", arguments: ["--version"], status: 0),
        Run(program: "dcfctl", arguments: ["--help"], status: 0),
        Run(program: "dcfctl", arguments: ["status", "--server", "https://127.0.0.1:1"], status: 69),
        Run(program: "dcf-loadgen", arguments: ["--help"], status: 0),
        Run(program: "dcf-microbench", arguments: ["--help"], status: 0),
        Run(program: "dcf-transport-bench", arguments: ["--help"], status: 0),
        Run(program: "dcf-train-bench", arguments: ["--help"], status: 0),
    ]

    @Test(arguments: runs)
    func closedPipeKeepsExitStatus(_ run: Run) throws {
        let output = Pipe()
        try output.fileHandleForReading.close()
        let process = Process()
        // The test runner ignores SIGPIPE and a child inherits that, so env restores the default action first.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["--default-signal=PIPE", try BuiltProducts.path(run.program)] + run.arguments
        process.standardOutput = output
        process.standardError = output
        // Admin credentials so dcfctl gets as far as connecting.
        process.environment = ["DCF_SERVER_ADMIN_USERNAME": "admin", "DCF_SERVER_ADMIN_PASSWORD": "secret"]
        try process.run()
        try output.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit, "killed by signal \(process.terminationStatus)")
        #expect(process.terminationStatus == run.status)
    }
}
