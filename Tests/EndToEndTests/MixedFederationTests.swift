// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing
import TestSupport

/// Runs `dcf-serverd` with one `dcf-agent` that trains with examples/python/numpy_trainer.py and one with
/// the built-in trainer, over TLS on loopback, and loads the final model with safetensors.numpy.
@Suite struct MixedFederationTests {
    static let installHint = "python3 with numpy and safetensors is required; run scripts/install-deps.sh --tests"

    @Test func numpyAndBuiltinAgentsTwoRounds() throws {
        try Self.python(["-c", "import numpy, safetensors.numpy"])
        let federation = try FederationFixture(sites: 2, updateLimit: 2, prefix: "dcf-mixed")
        defer { federation.tearDown() }
        let directory = federation.directory
        let common = ["--max-rounds", "2"]
        let script = BuiltProducts.packageRoot.appendingPathComponent("examples/python/numpy_trainer.py").path
        let numpyAgent = try federation.startAgent(
            federation.agentArguments(site: 0) + common + [
                "--trainer", "command", "--command-timeout", "5m",
                "--work-dir", directory.file("work-0"),
                "--command", "python3 '\(script)' --shard-index 0 --shard-count 2 --max-examples 1500",
            ],
            name: "agent-numpy")
        defer { numpyAgent.terminate(signal: SIGKILL) }
        let builtinAgent = try federation.startAgent(
            federation.agentArguments(site: 1) + common + [
                "--shard", "1/2", "--max-examples", "1500",
                "--learning-rate", "0.1",
            ],
            name: "agent-builtin")
        defer { builtinAgent.terminate(signal: SIGKILL) }
        for process in [numpyAgent, builtinAgent] {
            let exited = FederationFixture.waitForExit(process, seconds: 300)
            #expect(exited == 0, "agent exited with \(String(describing: exited)):\n\(process.output)")
        }
        #expect(numpyAgent.output.contains("stdout: epoch 1: mean training loss"), "\(numpyAgent.output)")

        let history = try federation.historyLines()
        #expect(history.count == 2, "history:\n\(history)\nserver log:\n\(federation.server.output)")
        let finalModel = directory.file("state/models/v3.safetensors")
        let shapes = try Self.python([
            "-c",
            "import sys; from safetensors.numpy import load_file\n"
                + "for name, value in sorted(load_file(sys.argv[1]).items()): print(name, value.dtype, *value.shape)",
            finalModel,
        ])
        #expect(
            shapes.split(separator: "\n") == [
                "0.bias float32 128", "0.weight float32 128 784", "2.bias float32 10", "2.weight float32 10 128",
            ], "\(shapes)")

        federation.server.terminate()
        #expect(federation.server.waitForExit() == 0, "server log:\n\(federation.server.output)")
    }

    @discardableResult
    private static func python(_ arguments: [String]) throws -> String {
        do {
            return try FederationFixture.run("/usr/bin/env", ["python3"] + arguments)
        } catch {
            Issue.record("\(installHint)\n\(error)")
            throw error
        }
    }
}
