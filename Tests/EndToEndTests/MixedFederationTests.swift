// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing
import TestSupport

/// Runs `dcf-serverd` with one `dcf-agent` that trains with examples/python/numpy_trainer.py and one with
/// the built-in trainer, over TLS on loopback, and loads the final model with safetensors.numpy.
@Suite struct MixedFederationTests {
    static let installHint = "python3 with numpy and safetensors is required; run scripts/install-deps.sh"

    @Test func numpyAndBuiltinAgentsTwoRounds() throws {
        let serverd = try BuiltProducts.path("dcf-serverd")
        let agent = try BuiltProducts.path("dcf-agent")
        let directory = try TemporaryDirectory(prefix: "dcf-mixed")
        defer { directory.remove() }
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        try Self.python(["-c", "import numpy, safetensors.numpy"])

        var keyList = ""
        for site in 0..<2 {
            try Self.run(agent, ["keygen", "--output", directory.file("site-\(site)")])
            keyList += try String(contentsOfFile: directory.file("site-\(site).pub"), encoding: .utf8) + "\n"
        }
        try keyList.write(toFile: directory.file("workers.txt"), atomically: true, encoding: .utf8)
        try Self.run(agent, ["init-model", "--seed", "3", "--output", directory.file("initial.safetensors")])

        let port = try FreePort.loopback()
        let server = try LaunchedProcess(
            executable: serverd,
            arguments: [
                "--listen", "127.0.0.1:\(port)", "--tls-certificate", certificates.server.certificateFile,
                "--tls-key", certificates.server.privateKeyFile, "--state-dir", directory.file("state"),
                "--worker-keys", directory.file("workers.txt"), "--initial-model", directory.file("initial.safetensors"),
                "--update-lim", "2",
            ],
            logFile: directory.file("serverd.log"))
        defer { server.terminate(signal: SIGKILL) }
        _ = try server.waitForLine(containing: "listening", timeout: 30)

        let common = [
            "run", "--server", "https://127.0.0.1:\(port)", "--ca-file", certificates.ca.certificateFile,
            "--max-rounds", "2", "--progress", "plain",
        ]
        let script = BuiltProducts.packageRoot.appendingPathComponent("examples/python/numpy_trainer.py").path
        let numpyAgent = try LaunchedProcess(
            executable: agent,
            arguments: common + [
                "--key", directory.file("site-0"), "--trainer", "command", "--command-timeout", "5m",
                "--work-dir", directory.file("work-0"),
                "--command", "python3 '\(script)' --shard-index 0 --shard-count 2 --max-examples 1500",
            ],
            logFile: directory.file("agent-numpy.log"))
        defer { numpyAgent.terminate(signal: SIGKILL) }
        let builtinAgent = try LaunchedProcess(
            executable: agent,
            arguments: common + [
                "--key", directory.file("site-1"), "--shard", "1/2", "--max-examples", "1500",
                "--learning-rate", "0.1",
            ],
            logFile: directory.file("agent-builtin.log"))
        defer { builtinAgent.terminate(signal: SIGKILL) }
        for process in [numpyAgent, builtinAgent] {
            let exited = Self.waitForExit(process, seconds: 300)
            #expect(exited == 0, "agent exited with \(String(describing: exited)):\n\(process.output)")
        }
        #expect(numpyAgent.output.contains("stdout: epoch 1: mean training loss"), "\(numpyAgent.output)")

        let history = try String(contentsOfFile: directory.file("state/history.jsonl"), encoding: .utf8)
        #expect(history.split(separator: "\n").count == 2, "history:\n\(history)\nserver log:\n\(server.output)")
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

        server.terminate()
        #expect(server.waitForExit() == 0, "server log:\n\(server.output)")
    }

    @discardableResult
    private static func python(_ arguments: [String]) throws -> String {
        do {
            return try run("/usr/bin/env", ["python3"] + arguments)
        } catch {
            Issue.record("\(installHint)\n\(error)")
            throw error
        }
    }

    @discardableResult
    private static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw LaunchFailure(description: "\(executable) \(arguments.joined(separator: " ")) failed:\n\(output)")
        }
        return output
    }

    private static func waitForExit(_ process: LaunchedProcess, seconds: Int) -> Int32? {
        for _ in 0..<(seconds * 10) where process.isRunning {
            usleep(100_000)
        }
        return process.isRunning ? nil : process.waitForExit()
    }
}
