// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// `dcf-agent verify-key` exits 0 for a matching pair, 66 when a file is missing and 65 when one is malformed.
@Suite struct AgentKeyToolTests {
    private func run(_ arguments: [String], in directory: TemporaryDirectory) throws -> (status: Int32, output: String) {
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-agent"), arguments: arguments,
            logFile: directory.file("agent-\(UUID().uuidString).log"))
        let status = process.waitForExit()
        return (status, process.output)
    }

    @Test func verifyKeyExitStatuses() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = directory.file("site.key")
        #expect(try run(["keygen", "--output", key], in: directory).status == 0)
        #expect(try run(["verify-key", key], in: directory).status == 0)

        let missing = try run(["verify-key", directory.file("absent.key")], in: directory)
        #expect(missing.status == 66, "\(missing.output)")

        try "zz\n".write(toFile: key + ".pub", atomically: true, encoding: .utf8)
        let malformed = try run(["verify-key", key], in: directory)
        #expect(malformed.status == 65, "\(malformed.output)")

        try FileManager.default.removeItem(atPath: key + ".pub")
        let noPublicKey = try run(["verify-key", key], in: directory)
        #expect(noPublicKey.status == 66, "\(noPublicKey.output)")
    }
}
