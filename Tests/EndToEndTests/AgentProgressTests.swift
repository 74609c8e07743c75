// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import TestSupport

/// `dcf-agent run --progress auto` (the default) with standard error in a file, as under systemd: every line it
/// writes is a log line (`time level component: message`), and the info-level log marks each round's start
/// and end.
@Suite struct AgentProgressTests {
    @Test func autoProgressWritesOnlyLogLinesToAFile() throws {
        let federation = try FederationFixture(sites: 1, updateLimit: 1, layers: "784,16,10", prefix: "dcf-progress")
        defer { federation.tearDown() }

        let arguments = [
            "run", "--server", "https://127.0.0.1:\(federation.port)", "--ca-file",
            federation.certificates.ca.certificateFile, "--key", federation.directory.file("site-0"),
            "--layers", "784,16,10", "--max-examples", "300", "--epochs", "1", "--max-rounds", "1",
        ]
        let agent = try federation.startAgent(arguments, name: "agent-auto")
        defer { agent.terminate(signal: SIGKILL) }
        let exited = FederationFixture.waitForExit(agent, seconds: 240)
        #expect(exited == 0, "agent exited with \(String(describing: exited)):\n\(agent.output)")

        let lines = agent.output.split(separator: "\n")
        let notLogLines = lines.filter { !Self.isLogLine($0) }
        #expect(notLogLines.isEmpty, "lines outside the log format:\n\(notLogLines.joined(separator: "\n"))")
        #expect(lines.contains { $0.contains(" info agent: round started round=1 base_version=1") }, "\(agent.output)")
        #expect(lines.contains { $0.contains(" info agent: round done round=1 base_version=1") }, "\(agent.output)")
    }

    /// Returns whether `line` starts with a UTC time such as `2026-01-02T03:04:05.678Z`, a level and `component:`.
    static func isLogLine(_ line: Substring) -> Bool {
        let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        let time = parts[0]
        return time.count == 24 && time.hasSuffix("Z") && time.dropFirst(10).hasPrefix("T")
            && ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(String(parts[1]))
            && parts[2].hasSuffix(":")
    }
}
