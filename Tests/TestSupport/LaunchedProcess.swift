// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// A child process for end-to-end tests, with its standard output and error captured in one log file.
///
/// Call `terminate()` in teardown (`defer`); it signals the process by its PID and waits for it. When the test
/// process ends without teardown, as in a crash, the kernel kills the child with SIGKILL (see
/// `commandKilledWithParent`), so a daemon does not keep its ports. Without util-linux `setpriv` the child
/// outlives a crashed test process.
public final class LaunchedProcess: @unchecked Sendable {
    // @unchecked Sendable: Process is thread-safe for the calls used here, and the other fields are constants.
    private let process: Process
    /// File receiving the child's standard output and standard error.
    public let logFile: String
    /// The child's process id.
    public var pid: Int32 { process.processIdentifier }

    /// Starts `executable` with `arguments`; `environment` entries are added to this process's environment.
    ///
    /// - Parameter logFile: path of the file that receives both output streams; created or truncated.
    public init(
        executable: String, arguments: [String] = [], environment: [String: String] = [:], logFile: String
    ) throws {
        self.logFile = logFile
        guard FileManager.default.createFile(atPath: logFile, contents: nil) else {
            throw LaunchedProcessError(message: "cannot create log file '\(logFile)'")
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        defer { try? log.close() }
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw LaunchedProcessError(message: "'\(executable)' is not an executable file")
        }
        let command = Self.commandKilledWithParent(executable: executable, arguments: arguments, parent: getpid())
        process = Process()
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        let process = self.process
        try LaunchThread.shared.run { try process.run() }
    }

    /// Returns the command that runs `executable` with `arguments` in the same process (same PID) and gets
    /// SIGKILL when the thread of process `parent` that started it ends, or returns the command unchanged when
    /// util-linux `setpriv` is missing.
    ///
    /// `setpriv --pdeathsig KILL` sets the parent-death signal and runs `sh`, which runs the program only if its
    /// parent is still `parent`. A parent that ended before the signal was set would not send it.
    public static func commandKilledWithParent(
        executable: String, arguments: [String], parent: Int32
    ) -> (executable: String, arguments: [String]) {
        guard let setpriv = setprivPath else { return (executable, arguments) }
        let check = #"[ "$PPID" = "$1" ] || exit 125; shift; exec "$@""#
        let wrapper = ["--pdeathsig", "KILL", "--", "/bin/sh", "-c", check, "sh", String(parent)]
        return (setpriv, wrapper + [executable] + arguments)
    }

    /// The path of util-linux `setpriv` on `PATH`, or nil when there is none.
    public static let setprivPath: String? = {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return directories.map { "\($0)/setpriv" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// The log file's contents so far.
    public var output: String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

    /// Whether the process is still running.
    public var isRunning: Bool { process.isRunning }

    /// Waits until a line of the log contains `text` and returns that line.
    ///
    /// - Throws: `LaunchedProcessError` when `timeout` seconds pass first or the process exits first.
    @discardableResult
    public func waitForLine(containing text: String, timeout: Double = 30) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = output.split(separator: "\n").first(where: { $0.contains(text) }) {
                return String(line)
            }
            if !process.isRunning {
                throw LaunchedProcessError(message: "process exited (status \(process.terminationStatus)) "
                    + "before printing '\(text)'; output:\n\(output)")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw LaunchedProcessError(message: "timed out after \(timeout) s waiting for '\(text)'; output:\n\(output)")
    }

    /// Sends `signal` (SIGTERM by default) to the process by PID and waits for it to exit.
    public func terminate(signal: Int32 = SIGTERM) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    /// Waits for the process to exit and returns its exit status.
    public func waitForExit() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        terminate(signal: SIGKILL)
    }
}

/// A launched process that did not reach the expected state.
public struct LaunchedProcessError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
