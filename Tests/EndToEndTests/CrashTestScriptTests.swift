// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// The option checks of `scripts/crash-test.sh`, which run before it deletes its directory or starts a process.
@Suite struct CrashTestScriptTests {
    /// The final checks start from the version that the last cycle found, so zero cycles must be rejected
    /// before the script starts servers and agents. `--bin` names a missing directory, so a script that
    /// accepted the option would stop at its binary check with 69 instead.
    @Test func zeroCyclesIsInvalid() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let script = BuiltProducts.packageRoot.appendingPathComponent("scripts/crash-test.sh").path
        let process = try LaunchedProcess(
            executable: "/bin/bash",
            arguments: [script, "--cycles", "0", "--dir", directory.file("run"), "--bin", directory.file("no-bin")],
            logFile: directory.file("crash-test.log"))
        let status = process.waitForExit()
        #expect(status == 64, "\(process.output)")
        #expect(process.output.contains("--cycles must be at least 1"), "\(process.output)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("run")))
    }
}
