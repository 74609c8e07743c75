// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing
import TestSupport

/// Runs the real `dcf-serverd` and two `dcf-agent`s with the built-in trainer over TLS on loopback.
@Suite struct FederationEndToEndTests {
    @Test func twoAgentsTwoRoundsBeatChance() throws {
        let serverd = try BuiltProducts.path("dcf-serverd")
        let agent = try BuiltProducts.path("dcf-agent")
        let directory = try TemporaryDirectory(prefix: "dcf-e2e")
        defer { try? FileManager.default.removeItem(at: directory.url) }
        let certificates = try CertificateFactory()
        defer { certificates.remove() }

        var keyList = ""
        for site in 0..<2 {
            try run(agent, ["keygen", "--output", directory.file("site-\(site)")])
            keyList += try String(contentsOfFile: directory.file("site-\(site).pub"), encoding: .utf8) + "\n"
        }
        try keyList.write(toFile: directory.file("workers.txt"), atomically: true, encoding: .utf8)
        try run(agent, ["init-model", "--seed", "3", "--output", directory.file("initial.safetensors")])

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

        let agents = try (0..<2).map { site in
            try LaunchedProcess(
                executable: agent,
                arguments: [
                    "run", "--server", "https://127.0.0.1:\(port)", "--ca-file", certificates.ca.certificateFile,
                    "--key", directory.file("site-\(site)"), "--shard", "\(site)/2", "--max-examples", "1500",
                    "--max-rounds", "2", "--progress", "plain", "--learning-rate", "0.1",
                ],
                logFile: directory.file("agent-\(site).log"))
        }
        defer { for process in agents { process.terminate(signal: SIGKILL) } }
        for process in agents {
            let exited = waitForExit(process, seconds: 240)
            #expect(exited == 0, "agent exited with \(String(describing: exited)):\n\(process.output)")
        }

        let history = try String(contentsOfFile: directory.file("state/history.jsonl"), encoding: .utf8)
        #expect(history.split(separator: "\n").count == 2, "history:\n\(history)\nserver log:\n\(server.output)")
        let finalModel = directory.file("state/models/v3.safetensors")
        let file = try SafeTensors(bytes: try Data(contentsOf: URL(fileURLWithPath: finalModel)))
        let shapes = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.shape) })
        #expect(shapes == ["0.weight": [128, 784], "0.bias": [128], "2.weight": [10, 128], "2.bias": [10]])
        #expect(file.tensors.allSatisfy { $0.dtype == .float32 })

        let evaluation = try run(agent, ["evaluate", "--model", finalModel])
        let accuracy = try #require(Self.accuracy(in: evaluation), "no accuracy in: \(evaluation)")
        // Chance is 0.1 on the ten balanced classes; two short rounds on 3,000 images reach well above 0.5.
        #expect(accuracy > 0.5, "final accuracy \(accuracy)")

        server.terminate()
        #expect(server.waitForExit() == 0, "server log:\n\(server.output)")
    }

    @discardableResult
    private func run(_ executable: String, _ arguments: [String]) throws -> String {
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

    private func waitForExit(_ process: LaunchedProcess, seconds: Int) -> Int32? {
        for _ in 0..<(seconds * 10) where process.isRunning {
            usleep(100_000)
        }
        return process.isRunning ? nil : process.waitForExit()
    }

    static func accuracy(in output: String) -> Double? {
        guard let range = output.range(of: "accuracy ") else { return nil }
        return Double(output[range.upperBound...].prefix { $0 == "." || $0.isNumber })
    }
}

struct LaunchFailure: Error, CustomStringConvertible {
    let description: String
}
