// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// `scripts/verify-units.sh`, `scripts/bench-nginx.sh` and `scripts/demo.sh` as a user meets them: help without
/// side effects, and a demo whose port is taken says so before claiming that anything started.
@Suite struct ScriptUsageTests {
    private func script(_ name: String) -> String {
        BuiltProducts.packageRoot.appendingPathComponent("scripts/\(name)").path
    }

    private func runShell(
        _ arguments: [String], in directory: TemporaryDirectory
    ) throws -> (status: Int32, output: String) {
        let process = try LaunchedProcess(
            executable: "/bin/sh", arguments: arguments, logFile: directory.file("script-\(UUID().uuidString).log"))
        let status = process.waitForExit()
        return (status, process.output)
    }

    @Test func verifyUnitsHelpPrintsUsageOnly() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let help = try runShell([script("verify-units.sh"), "--help"], in: directory)
        #expect(help.status == 0, "\(help.output)")
        #expect(help.output.hasPrefix("Usage: scripts/verify-units.sh"), "\(help.output)")
        #expect(!help.output.contains("service ok"), "\(help.output)")
        #expect(!help.output.contains("not found"), "\(help.output)")

        let unknown = try runShell([script("verify-units.sh"), "--bogus"], in: directory)
        #expect(unknown.status == 64, "\(unknown.output)")
        #expect(unknown.output.contains("unknown option '--bogus'"), "\(unknown.output)")
    }

    /// `--help` prints the usage without fetching or starting nginx, and an invalid option exits 64 naming it.
    @Test func benchNginxUsage() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runDirectory = directory.file("run")
        let help = try LaunchedProcess(
            executable: "/bin/bash", arguments: [script("bench-nginx.sh"), "--help", "--dir", runDirectory],
            logFile: directory.file("help.log"))
        #expect(help.waitForExit() == 0, "\(help.output)")
        #expect(help.output.hasPrefix("Usage: scripts/bench-nginx.sh"), "\(help.output)")
        #expect(!FileManager.default.fileExists(atPath: runDirectory))

        let invalid = try LaunchedProcess(
            executable: "/bin/bash", arguments: [script("bench-nginx.sh"), "--mib", "0", "--dir", runDirectory],
            logFile: directory.file("invalid.log"))
        #expect(invalid.waitForExit() == 64, "\(invalid.output)")
        #expect(invalid.output.contains("--mib must be a positive integer, not '0'"), "\(invalid.output)")
        #expect(!FileManager.default.fileExists(atPath: runDirectory))
    }

    /// The demo runs from a directory laid out like a checkout: `scripts` and `.build/release`, here linked to
    /// the debug binaries. The server cannot bind the port held below, so no agent may be reported as started.
    @Test func demoReportsTakenPortFirst() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let checkout = directory.file("checkout")
        try FileManager.default.createDirectory(atPath: checkout + "/.build/release", withIntermediateDirectories: true)
        let scripts = BuiltProducts.packageRoot.appendingPathComponent("scripts").path
        try FileManager.default.createSymbolicLink(atPath: checkout + "/scripts", withDestinationPath: scripts)
        for program in ["dcf-serverd", "dcf-agent"] {
            try FileManager.default.createSymbolicLink(
                atPath: checkout + "/.build/release/\(program)", withDestinationPath: try BuiltProducts.path(program))
        }
        let (holder, port) = try LoopbackSocket.listen(backlog: 1)
        defer { close(holder) }

        let demo = try runShell(
            ["-c", #"cd "$1" && shift && exec scripts/demo.sh "$@""#, "sh", checkout,
             "--sites", "1", "--rounds", "1", "--port", String(port), "--dir", directory.file("run")],
            in: directory)
        #expect(demo.status == 1, "\(demo.output)")
        #expect(demo.output.contains("port \(port) is taken"), "\(demo.output)")
        #expect(demo.output.contains("dcf-serverd exited early"), "\(demo.output)")
        #expect(!demo.output.contains("started"), "\(demo.output)")
        #expect(!demo.output.contains("round  accuracy"), "\(demo.output)")
        #expect(demo.output.contains("making 1 Ed25519 key,"), "\(demo.output)")
        #expect(!demo.output.contains("1 sites"), "\(demo.output)")
    }
}
