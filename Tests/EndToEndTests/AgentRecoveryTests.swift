// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import TestSupport

/// Starts `dcf-serverd` and one `dcf-agent` whose training command fails in its first attempt, in each of
/// the ways a site's command can fail, and succeeds in the second: the agent must send nothing for the
/// failed attempt, keep running, and complete the round.
@Suite struct AgentRecoveryTests {
    struct Failure: CustomTestStringConvertible, Sendable {
        let name: String
        /// Shell lines run on the first attempt instead of training.
        let firstAttempt: String
        /// Text the agent's log must contain about the failure.
        let logged: String
        var testDescription: String { name }
    }

    static let failures = [
        Failure(name: "non-zero exit", firstAttempt: "echo boom >&2; exit 3", logged: "boom"),
        Failure(name: "timeout", firstAttempt: "sleep 30", logged: "timed out"),
        Failure(name: "missing update", firstAttempt: "exit 0", logged: "round failed"),
        Failure(name: "malformed update", firstAttempt: "echo garbage > \"$DCF_UPDATE_PATH\"; exit 0", logged: "round failed"),
        Failure(
            name: "wrong shape",
            firstAttempt: """
                python3 -c 'import numpy, os, safetensors.numpy as s; s.save_file({"0.weight": numpy.zeros((3, 3), numpy.float32)}, os.environ["DCF_UPDATE_PATH"], metadata={"num_examples": "5"})'; exit 0
                """,
            logged: "round failed"),
    ]

    @Test(arguments: failures)
    func agentSurvivesFailedCommand(failure: Failure) throws {
        let federation = try FederationFixture(sites: 1, updateLimit: 1, layers: "4,3,2", prefix: "dcf-recovery")
        defer { federation.tearDown() }
        let directory = federation.directory
        let script = """
            if [ ! -f "\(directory.file("attempted"))" ]; then
                touch "\(directory.file("attempted"))"
                \(failure.firstAttempt)
            fi
            cp "$DCF_GLOBAL_MODEL" "$DCF_UPDATE_PATH"
            echo '{"num_examples": 10}' > "$DCF_METRICS_PATH"
            """
        try script.write(toFile: directory.file("train.sh"), atomically: true, encoding: .utf8)

        let agentProcess = try federation.startAgent(
            federation.agentArguments(site: 0) + [
                "--trainer", "command", "--command", "sh '\(directory.file("train.sh"))'", "--command-timeout", "2s",
                "--work-dir", directory.file("work"), "--agent.retry_delay=200ms", "--max-rounds", "1",
            ],
            name: "agent")
        defer { agentProcess.terminate(signal: SIGKILL) }

        for _ in 0..<600 where agentProcess.isRunning { usleep(100_000) }
        #expect(!agentProcess.isRunning, "agent still running after 60 s:\n\(agentProcess.output)")
        #expect(agentProcess.waitForExit() == 0, "agent log:\n\(agentProcess.output)")
        let log = agentProcess.output
        #expect(log.contains("round failed"), "agent log:\n\(log)")
        #expect(log.contains(failure.logged), "agent log:\n\(log)")
        // The failed round's model is downloaded again, and the log names the version the agent had.
        let downloads = log.split(separator: "\n").filter { $0.contains("received global model") }
        #expect(downloads.count == 2, "agent log:\n\(log)")
        #expect(downloads.last?.contains("again") == true, "agent log:\n\(log)")
        #expect(downloads.last?.contains("previous=1 ") == true, "agent log:\n\(log)")
        let history = try federation.historyLines()
        #expect(history.count == 1, "history:\n\(history)")
        #expect(!federation.server.output.contains("update rejected"), "server log:\n\(federation.server.output)")
    }
}
