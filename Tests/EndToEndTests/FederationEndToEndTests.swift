// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing
import TestSupport

/// Runs the real `dcf-serverd` and two `dcf-agent`s with the built-in trainer over TLS on loopback. The second
/// agent leaves its TLS records to OpenSSL, so the server's own record layer meets OpenSSL's as well.
@Suite struct FederationEndToEndTests {
    @Test func twoAgentsTwoRoundsBeatChance() throws {
        let federation = try FederationFixture(sites: 2, updateLimit: 2, prefix: "dcf-e2e")
        defer { federation.tearDown() }

        let agents = try (0..<2).map { site in
            try federation.startAgent(
                federation.agentArguments(site: site) + [
                    "--shard", "\(site)/2", "--max-examples", "1500", "--max-rounds", "2", "--learning-rate", "0.1",
                    "--agent.tls_record_layer=\(site == 0 ? "dcf" : "openssl")",
                ],
                name: "agent-\(site)")
        }
        defer { for process in agents { process.terminate(signal: SIGKILL) } }
        for process in agents {
            let exited = FederationFixture.waitForExit(process, seconds: 240)
            #expect(exited == 0, "agent exited with \(String(describing: exited)):\n\(process.output)")
        }
        #expect(agents[0].output.contains("tls_record_layer=dcf"), "\(agents[0].output)")
        #expect(agents[1].output.contains("tls_record_layer=openssl"), "\(agents[1].output)")

        let history = try federation.historyLines()
        #expect(history.count == 2, "history:\n\(history)\nserver log:\n\(federation.server.output)")
        let finalModel = federation.directory.file("state/models/v3.safetensors")
        let file = try SafeTensors(bytes: try Data(contentsOf: URL(fileURLWithPath: finalModel)))
        let shapes = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.shape) })
        #expect(shapes == ["0.weight": [128, 784], "0.bias": [128], "2.weight": [10, 128], "2.bias": [10]])
        #expect(file.tensors.allSatisfy { $0.dtype == .float32 })

        let evaluation = try FederationFixture.run(federation.agent, ["evaluate", "--model", finalModel])
        let accuracy = try #require(Self.accuracy(in: evaluation), "no accuracy in: \(evaluation)")
        // Chance is 0.1 on the ten balanced classes; two short rounds on 3,000 images reach well above 0.5.
        #expect(accuracy > 0.5, "final accuracy \(accuracy)")

        federation.server.terminate()
        #expect(federation.server.waitForExit() == 0, "server log:\n\(federation.server.output)")
    }

    static func accuracy(in output: String) -> Double? {
        guard let range = output.range(of: "accuracy ") else { return nil }
        return Double(output[range.upperBound...].prefix { $0 == "." || $0.isNumber })
    }
}
