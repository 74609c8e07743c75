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

    /// A run stopped by SIGINT still prints and writes what it measured, stops its workers, and exits with 130.
    @Test func interruptedRunReports() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let keys = directory.file("keys")
        let json = directory.file("result.json")
        // Port 1 on loopback refuses connections, so the workers retry until they are stopped. The test process
        // plays the server whose /proc entry the coordinator samples.
        let run = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-loadgen"),
            arguments: [
                "run", "--url", "https://127.0.0.1:1", "--workers", "2", "--rounds", "1", "--server-pid",
                String(getpid()), "--key-dir", keys, "--json", json,
            ],
            logFile: directory.file("run.log"))
        defer { run.terminate(signal: SIGKILL) }
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: keys + "/worker-1"), run.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(FileManager.default.fileExists(atPath: keys + "/worker-1"), "no key file; output:\n\(run.output)")

        kill(run.pid, SIGINT)
        #expect(run.waitForExit() == 130, "output:\n\(run.output)")
        #expect(run.output.contains("stopped by SIGINT"), "output:\n\(run.output)")
        #expect(run.output.contains("complete rounds 0/1"), "output:\n\(run.output)")
        let result = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        #expect(result?["interrupted_by_signal"] as? Int == Int(SIGINT))
        #expect(result?["rounds_complete"] as? Int == 0)
        #expect(Self.processes(mentioning: keys).isEmpty, "worker processes left running")
    }

    /// Returns the PIDs of running processes whose command line contains `text`.
    private static func processes(mentioning text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry),
                let commandLine = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { return nil }
            let arguments = String(decoding: commandLine.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return arguments.contains(text) ? pid : nil
        }
    }
}
