// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import Foundation
import TestSupport
import Testing

/// `dcf-loadgen run` against a real `dcf-serverd` over TLS: every round completes and nothing is reported as an
/// error, including the worker processes' allocator settings, which they report when glibc rejects them.
struct LoadgenRoundTests {
    @Test func roundsCompleteWithoutErrors() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let loadgen = try BuiltProducts.path("dcf-loadgen")
        let model = fixture.directory.file("model.safetensors")
        let initModel = try LaunchedProcess(
            executable: loadgen, arguments: ["init-model", "--bytes", "1MiB", "--out", model],
            logFile: fixture.directory.file("init-model.log"))
        #expect(initModel.waitForExit() == 0, "init-model: \(initModel.output)")

        // The load generator keeps existing key files, so the key list can name its workers in advance.
        let keys = fixture.directory.file("keys")
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        var keyList = try String(contentsOfFile: fixture.keyListFile, encoding: .utf8)
        for index in 0..<4 {
            let keyFile = keys + "/worker-\(index)"
            _ = try Ed25519KeyFile.generate(at: keyFile)
            keyList += try ServerdFixture.publicKeyHex(keyFile) + "\n"
        }
        try ServerdFixture.write(keyList, to: fixture.keyListFile)

        let server = try fixture.launch(["--initial-model", model, "--update-lim", "4"])
        defer { server.process.terminate(signal: SIGKILL) }
        let json = fixture.directory.file("result.json")
        // Two processes of two workers, so that more than one process sets up its allocator and heap.
        let run = try LaunchedProcess(
            executable: loadgen,
            arguments: [
                "run", "--url", server.url, "--ca", server.caFile, "--workers", "4", "--rounds", "3",
                "--workers-per-process", "2", "--server-pid", String(server.process.pid), "--key-dir", keys,
                "--json", json, "--timeout", "120",
            ],
            logFile: fixture.directory.file("run.log"))
        defer { run.terminate(signal: SIGKILL) }
        #expect(run.waitForExit() == 0, "output:\n\(run.output)")

        let data = try Data(contentsOf: URL(fileURLWithPath: json))
        let result = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        #expect(result?["rounds_complete"] as? Int == 3, "output:\n\(run.output)")
        #expect(result?["errors"] as? Int == 0, "output:\n\(run.output)")
    }
}
