// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// dcf-agent checks its private key files (`agent.key`, `agent.client_key`, and the file `verify-key` checks) by
/// the rule dcf-serverd uses for its own secrets. It warns when other users may read or write a file, and not for
/// group bits alone, as in Debian's mode 0640 with the `ssl-cert` group.
@Suite struct AgentKeyFileModeTests {
    /// A file mode and whether the agent must warn about it.
    static let modes: [(mode: Int, warns: Bool)] = [(0o640, false), (0o604, true)]

    private func setMode(_ mode: Int, _ path: String) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    private func warnings(in output: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { $0.contains("warning") && $0.contains("chmod") }
    }

    /// `dcf-agent run` reads both key files before it loads the site's data. The data directory is empty, so the
    /// agent then stops with 78 without contacting a server.
    @Test(arguments: modes)
    func runWarnsOnlyWhenOthersHaveAccess(mode: Int, warns: Bool) throws {
        let directory = try TemporaryDirectory(prefix: "dcf-agent-modes")
        defer { directory.remove() }
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let agent = try BuiltProducts.path("dcf-agent")
        let key = directory.file("site")
        let clientKey = directory.file("client.key")
        try FederationFixture.run(agent, ["keygen", "--output", key])
        try FileManager.default.copyItem(atPath: certificates.client.privateKeyFile, toPath: clientKey)
        try setMode(mode, key)
        try setMode(mode, clientKey)
        try FileManager.default.createDirectory(atPath: directory.file("no-data"), withIntermediateDirectories: true)

        let process = try LaunchedProcess(
            executable: agent,
            arguments: [
                "run", "--server", "https://127.0.0.1:1", "--ca-file", certificates.ca.certificateFile, "--key", key,
                "--client-certificate", certificates.client.certificateFile, "--client-key", clientKey,
                "--data-dir", directory.file("no-data"),
            ],
            logFile: directory.file("agent.log"))
        defer { process.terminate(signal: SIGKILL) }
        let status = FederationFixture.waitForExit(process, seconds: 30)
        #expect(status == 78, "\(process.output)")
        let lines = warnings(in: process.output)
        guard warns else {
            #expect(lines.isEmpty, "\(process.output)")
            return
        }
        #expect(lines.count == 2, "\(lines)")
        let keyLine = lines.first { $0.contains("\(key) ") }
        #expect(keyLine?.contains("agent.key") == true, "\(lines)")
        #expect(keyLine?.contains("mode 0604") == true, "\(lines)")
        #expect(keyLine?.contains("chmod o-rwx \(key)") == true, "\(lines)")
        let clientKeyLine = lines.first { $0.contains(clientKey) }
        #expect(clientKeyLine?.contains("agent.client_key") == true, "\(lines)")
        #expect(clientKeyLine?.contains("mode 0604") == true, "\(lines)")
        #expect(clientKeyLine?.contains("chmod o-rwx \(clientKey)") == true, "\(lines)")
    }

    @Test(arguments: modes)
    func verifyKeyWarnsOnlyWhenOthersHaveAccess(mode: Int, warns: Bool) throws {
        let directory = try TemporaryDirectory(prefix: "dcf-agent-modes")
        defer { directory.remove() }
        let agent = try BuiltProducts.path("dcf-agent")
        let key = directory.file("site")
        try FederationFixture.run(agent, ["keygen", "--output", key])
        try setMode(mode, key)

        let process = try LaunchedProcess(
            executable: agent, arguments: ["verify-key", key], logFile: directory.file("verify.log"))
        defer { process.terminate(signal: SIGKILL) }
        #expect(FederationFixture.waitForExit(process, seconds: 30) == 0, "\(process.output)")
        let lines = warnings(in: process.output)
        guard warns else {
            #expect(lines.isEmpty, "\(process.output)")
            return
        }
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.contains("mode 0604") == true, "\(lines)")
        #expect(lines.first?.contains("chmod o-rwx \(key)") == true, "\(lines)")
    }
}
