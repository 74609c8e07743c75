// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// `dcf-loadgen run` ignores SIGINT and SIGTERM to handle them itself, and its worker processes inherit
/// ignored signals across exec. They must restore the default, or the coordinator's SIGTERM cannot stop them.
struct LoadgenSignalTests {
    @Test func workerProcessStopsOnTermWhenStartedIgnoringIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // Port 1 on loopback refuses connections, so the worker retries until it is stopped.
        let worker = try LaunchedProcess(
            executable: "/usr/bin/env",
            arguments: [
                "--ignore-signal=TERM", try BuiltProducts.path("dcf-loadgen"), "workers", "--url",
                "https://127.0.0.1:1", "--key-dir", directory.path, "--first", "0", "--count", "1",
            ],
            logFile: directory.file("worker.log"))
        defer { worker.terminate(signal: SIGKILL) }

        // The key file is written after the signal dispositions are set.
        let keyFile = directory.file("worker-0")
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: keyFile), worker.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(FileManager.default.fileExists(atPath: keyFile), "no key file; output:\n\(worker.output)")

        kill(worker.pid, SIGTERM)
        let stopDeadline = Date().addingTimeInterval(10)
        while worker.isRunning, Date() < stopDeadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(!worker.isRunning, "the worker process ignored SIGTERM")
    }
}
