// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// On a terminal `dcf-loadgen run` rewrites one progress line in place. When the run ends, the line must be
/// erased, so that what follows (a table row of scripts/bench.sh, an error message, the results) starts on a
/// clean line instead of running on from the progress text.
struct LoadgenProgressTests {
    @Test func progressLineIsErasedBeforeTheServerExitMessage() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let keys = directory.file("keys")
        // A stand-in for the server: the coordinator only samples its /proc entry, and stops when it is gone.
        let server = try LaunchedProcess(
            executable: "/bin/sleep", arguments: ["60"], logFile: directory.file("server.log"))
        defer { server.terminate(signal: SIGKILL) }

        // script(1), from Debian's essential bsdutils, runs the command on a pseudo-terminal and copies what
        // the terminal shows to its own standard output. Port 1 on loopback refuses connections, so the
        // worker retries until it is stopped.
        let command = [
            try BuiltProducts.path("dcf-loadgen"), "run", "--url", "https://127.0.0.1:1", "--workers", "1",
            "--rounds", "1", "--server-pid", String(server.pid), "--key-dir", keys,
        ].map { "'\($0)'" }.joined(separator: " ")
        let run = try LaunchedProcess(
            executable: "/usr/bin/script",
            arguments: ["--quiet", "--flush", "--return", "--command", command, "/dev/null"],
            logFile: directory.file("terminal.log"))
        defer { run.terminate(signal: SIGKILL) }

        let deadline = Date().addingTimeInterval(30)
        while !run.output.contains("registered with model"), run.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(run.output.contains("registered with model"), "no progress line:\n\(run.output.debugDescription)")
        // SIGKILL: sleep may have inherited SIGTERM blocked from the test runner.
        server.terminate(signal: SIGKILL)
        let exitDeadline = Date().addingTimeInterval(30)
        while run.isRunning, Date() < exitDeadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(!run.isRunning, "dcf-loadgen kept running after the server process exited")

        let output = run.output
        let message = "dcf-loadgen: the server process exited"
        guard let found = output.range(of: message) else {
            Issue.record("no message about the server's exit:\n\(output.debugDescription)")
            return
        }
        let before = output[..<found.lowerBound]
        #expect(
            before.hasSuffix("\r\u{1B}[K"),
            "the progress line was not erased first:\n\(String(before.suffix(120)).debugDescription)")
    }
}
