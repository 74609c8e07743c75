// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import TestSupport

/// A `dcf-agent` with a training command whose server stops while the command trains and starts again later.
@Suite struct AgentServerRestartTests {
    /// The server is down from before the update is ready until the agent has failed to send it 7 times, which
    /// with the agent's backoff (0.5 s doubling, half of it random) takes more than 15 s. The agent keeps the
    /// update and sends it to the restarted server, which still waits on the update's base version, so the
    /// command runs once and the round closes with it.
    @Test func updateSurvivesLongServerRestart() throws {
        let federation = try FederationFixture(sites: 1, updateLimit: 1, layers: "4,3,2", prefix: "dcf-restart")
        defer { federation.tearDown() }
        let directory = federation.directory
        // Each run appends a line to `runs`, then waits (at most 60 s) for the test to create `release`.
        let script = """
            echo run >> "\(directory.file("runs"))"
            i=0
            while [ ! -f "\(directory.file("release"))" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
            cp "$DCF_GLOBAL_MODEL" "$DCF_UPDATE_PATH"
            echo '{"num_examples": 10}' > "$DCF_METRICS_PATH"
            """
        try script.write(toFile: directory.file("train.sh"), atomically: true, encoding: .utf8)
        let agent = try federation.startAgent(
            federation.agentArguments(site: 0) + [
                "--trainer", "command", "--command", "sh '\(directory.file("train.sh"))'",
                "--work-dir", directory.file("work"), "--max-rounds", "1",
            ],
            name: "agent")
        defer { agent.terminate(signal: SIGKILL) }

        _ = try agent.waitForLine(containing: "round started", timeout: 60)
        federation.server.terminate(signal: SIGTERM)
        try "".write(toFile: directory.file("release"), atomically: true, encoding: .utf8)
        var seventhFailure = false
        for _ in 0..<1200 where agent.isRunning && !seventhFailure && !agent.output.contains("round failed") {
            usleep(100_000)
            seventhFailure = agent.output.split(separator: "\n").contains {
                $0.contains("update not delivered") && $0.contains("attempt=7 ")
            }
        }
        #expect(seventhFailure, "the agent gave up on the update:\n\(agent.output)")

        let restarted = try federation.restartServer(name: "serverd-2")
        defer { restarted.terminate(signal: SIGKILL) }
        #expect(FederationFixture.waitForExit(agent, seconds: 120) == 0, "agent log:\n\(agent.output)")
        let runs = try String(contentsOfFile: directory.file("runs"), encoding: .utf8)
        #expect(runs.split(separator: "\n").count == 1, "the command ran again:\n\(agent.output)")
        #expect(!agent.output.contains("round failed"), "agent log:\n\(agent.output)")
        #expect(agent.output.contains("round done"), "agent log:\n\(agent.output)")
        #expect(try federation.historyLines().count == 1, "server log:\n\(restarted.output)")
    }
}
