// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import TestSupport

/// Daemons that tests launch must end with the test process, even when it crashes, so that they do not keep
/// ports and CPU. The kernel's parent-death signal does that, but it follows the thread that started the
/// child, so the launch must happen on a thread that lives as long as the process.
@Suite struct LaunchedProcessTests {
    /// How a process looks in /proc: absent, a zombie, or running (any other state).
    private enum ProcessState: Equatable {
        case gone
        case zombie
        case running(name: String, pendingKill: Bool)
    }

    /// Returns the state of process `pid`, with whether SIGKILL waits to be delivered to it.
    private static func state(of pid: Int32) -> ProcessState {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return .gone }
        var fields: [String: String] = [:]
        for line in status.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let stateLetter = fields["State"]?.first
        if stateLetter == "Z" || stateLetter == "X" { return .zombie }
        // SigPnd and ShdPnd are hexadecimal masks in which bit 8 (from 0) stands for signal 9, SIGKILL.
        let pendingKill = ["SigPnd", "ShdPnd"].contains { name in
            (fields[name].flatMap { UInt64($0, radix: 16) } ?? 0) & (1 << 8) != 0
        }
        return .running(name: fields["Name"] ?? "", pendingKill: pendingKill)
    }

    /// Returns whether process `pid` has ended or has SIGKILL pending, so it ends without running further.
    private static func isEnding(_ pid: Int32) -> Bool {
        switch state(of: pid) {
        case .gone, .zombie: true
        case .running(_, let pendingKill): pendingKill
        }
    }

    /// Polls `condition` every 10 ms, at most 3,000 times (about 30 s), and returns its last value.
    private static func waitFor(_ condition: () -> Bool) -> Bool {
        for _ in 0..<3000 {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    private static func readPID(_ path: String) -> Int32? {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// A shell helper plays a test process that crashes: it starts `sleep` with the launch command of
    /// `LaunchedProcess` and is then killed with SIGKILL, which skips every cleanup. Its `sleep` must end too.
    @Test func childEndsWhenParentIsKilled() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // The helper writes its PID, waits for the command (one argument per line, which needs the helper's PID),
        // starts it in the background and writes its PID. Each wait is bounded.
        let script = """
            directory=$1
            echo $$ > "$directory/helper.pid"
            i=0
            while [ ! -e "$directory/command" ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i + 1)); done
            set --
            while IFS= read -r argument; do set -- "$@" "$argument"; done < "$directory/command"
            "$@" &
            echo $! > "$directory/child.pid.part"
            mv "$directory/child.pid.part" "$directory/child.pid"
            wait
            """
        let helper = try LaunchedProcess(
            executable: "/bin/sh", arguments: ["-c", script, "helper", directory.path],
            logFile: directory.file("helper.log"))
        defer { helper.terminate(signal: SIGKILL) }
        #expect(Self.waitFor { Self.readPID(directory.file("helper.pid")) != nil })
        let helperPID = try #require(Self.readPID(directory.file("helper.pid")))
        #expect(helperPID == helper.pid)

        let command = LaunchedProcess.commandKilledWithParent(
            executable: "/bin/sleep", arguments: ["600"], parent: helperPID)
        let lines = ([command.executable] + command.arguments).joined(separator: "\n") + "\n"
        try lines.write(toFile: directory.file("command.part"), atomically: false, encoding: .utf8)
        try FileManager.default.moveItem(atPath: directory.file("command.part"), toPath: directory.file("command"))
        #expect(Self.waitFor { Self.readPID(directory.file("child.pid")) != nil }, "\(helper.output)")
        let childPID = try #require(Self.readPID(directory.file("child.pid")))
        // Once the child runs `sleep`, the launch command has done its setup.
        #expect(Self.waitFor { Self.state(of: childPID) == .running(name: "sleep", pendingKill: false) })

        // `terminate` would wait for the helper, and Foundation on Linux did not report the helper's exit while
        // the child, which inherited a socket from the helper, still ran.
        kill(helper.pid, SIGKILL)
        let ended = Self.waitFor { Self.isEnding(childPID) }
        if !ended { kill(childPID, SIGKILL) }
        #expect(ended, "the child of the killed helper still runs: \(Self.state(of: childPID))")
    }

    /// Swift concurrency and Dispatch end idle threads. A child must outlive the thread that created its
    /// `LaunchedProcess`, because the test still uses it.
    @Test func childOutlivesLaunchingThread() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        final class Launch: @unchecked Sendable {
            // @unchecked Sendable: written by the launching thread before it ends, read after that.
            var process: Result<LaunchedProcess, Error>?
            /// The thread's directory under /proc, such as `1234/task/1240`.
            var threadPath = ""
        }
        let launch = Launch()
        let logFile = directory.file("sleep.log")
        let thread = Thread {
            launch.threadPath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
            launch.process = Result {
                try LaunchedProcess(executable: "/bin/sleep", arguments: ["600"], logFile: logFile)
            }
            // The child must be past its setup before this thread ends, or the test could pass by luck.
            if case .success(let process)? = launch.process {
                _ = Self.waitFor { Self.state(of: process.pid) == .running(name: "sleep", pendingKill: false) }
            }
        }
        thread.start()
        // The thread's /proc entry goes away only after the kernel has sent any parent-death signal.
        #expect(Self.waitFor { launch.process != nil })
        #expect(!launch.threadPath.isEmpty)
        #expect(Self.waitFor { !FileManager.default.fileExists(atPath: "/proc/\(launch.threadPath)") })
        let process = try #require(try launch.process?.get())
        defer { process.terminate(signal: SIGKILL) }
        #expect(Self.state(of: process.pid) == .running(name: "sleep", pendingKill: false))
        #expect(process.isRunning)
    }

    /// When the parent ends before the child has set its parent-death signal, the child must not start the
    /// program, because no signal would end it. A parent PID that is not the child's parent simulates that.
    @Test func childOfEndedParentDoesNotStart() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let marker = directory.file("started")
        // PID 1 is never this test process, so the launch command finds a parent other than the expected one.
        let command = LaunchedProcess.commandKilledWithParent(
            executable: "/bin/sh", arguments: ["-c", "touch \"$0\"", marker], parent: 1)
        let process = try LaunchedProcess(
            executable: command.executable, arguments: command.arguments, logFile: directory.file("child.log"))
        let status = process.waitForExit()
        #expect(status != 0)
        #expect(!FileManager.default.fileExists(atPath: marker))
    }
}
