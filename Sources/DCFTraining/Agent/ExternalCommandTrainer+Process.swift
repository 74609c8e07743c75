// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation

/// How one run of the training command ended.
struct CommandOutcome: Sendable {
    enum Termination: Sendable, Equatable {
        case exited(status: Int32)
        case signaled(Int32)
        case timedOut
    }

    var termination: Termination
    /// The last lines of the command's standard error, oldest first.
    var standardErrorTail: [String]
}

/// One run of the training command with `/bin/sh -c`, in its own process group so that a timeout or
/// cancellation ends every process it started.
final class CommandProcess: Sendable {
    /// Lines of standard error kept for error messages.
    static let standardErrorTailLength = 20
    /// Time between SIGTERM and SIGKILL after a timeout, for the command to clean up.
    static let terminationGrace: DispatchTimeInterval = .seconds(5)
    /// Time the output readers get after the command exits, for processes it left running.
    static let outputGrace: DispatchTimeInterval = .seconds(5)

    private let process: Process
    private let exited = DispatchSemaphore(value: 0)
    private let logger: Logger
    /// The command's process group, or nil if the child is not a group leader (then only it is signaled).
    private let processGroupID: Int32?
    private let outputReader: CommandOutputReader
    private let errorReader: CommandOutputReader

    /// Starts `command` with exactly `environment` and starts logging its output.
    ///
    /// - Throws: `AgentTrainerError` when `/bin/sh` cannot be started.
    init(command: String, environment: [String: String], logger: Logger) throws(AgentTrainerError) {
        self.logger = logger
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let standardOutput = Pipe()
        let standardError = Pipe()
        process.standardOutput = standardOutput
        process.standardError = standardError
        let exited = self.exited
        process.terminationHandler = { _ in exited.signal() }
        do {
            try process.run()
        } catch {
            throw AgentTrainerError("could not start the training command with /bin/sh: \(error)")
        }
        let pid = process.processIdentifier
        // Foundation starts the child as the leader of a new process group. getpgid fails only when the
        // child has already exited and been reaped, and then its group is that same id.
        let group = getpgid(pid)
        processGroupID = group == pid || group == -1 ? pid : nil
        outputReader = CommandOutputReader(
            handle: standardOutput.fileHandleForReading, streamName: "stdout", logger: logger, tailLength: 1)
        errorReader = CommandOutputReader(
            handle: standardError.fileHandleForReading, streamName: "stderr", logger: logger,
            tailLength: Self.standardErrorTailLength)
        outputReader.start()
        errorReader.start()
        logger.debug("training command started", [("pid", "\(pid)")])
    }

    /// Waits for the command to end, terminating it after `timeout`; blocks the calling thread.
    func waitForEnd(timeout: Duration) -> CommandOutcome {
        var timedOut = false
        if exited.wait(timeout: .now() + Self.dispatchInterval(timeout)) == .timedOut {
            timedOut = true
            logger.warning(
                "the training command timed out; terminating its process group",
                [("timeout", DurationFormat.format(timeout))])
            terminate()
        }
        waitForOutput([outputReader, errorReader])
        let tail = errorReader.tail
        if timedOut { return CommandOutcome(termination: .timedOut, standardErrorTail: tail) }
        let status = process.terminationStatus
        let termination: CommandOutcome.Termination =
            process.terminationReason == .uncaughtSignal ? .signaled(status) : .exited(status: status)
        return CommandOutcome(termination: termination, standardErrorTail: tail)
    }

    /// Sends SIGTERM to the command's process group, then SIGKILL if it has not exited after a grace period,
    /// and waits for it to exit.
    func terminate() {
        signalGroup(SIGTERM)
        if exited.wait(timeout: .now() + Self.terminationGrace) == .timedOut {
            signalGroup(SIGKILL)
            exited.wait()
        }
    }

    /// Sends SIGKILL to the command's process group at once, for cancellation.
    func killGroup() {
        signalGroup(SIGKILL)
    }

    private func waitForOutput(_ readers: [CommandOutputReader]) {
        let deadline = DispatchTime.now() + Self.outputGrace
        guard !readers.allSatisfy({ $0.waitUntilFinished(deadline: deadline) }) else { return }
        // A background process of the command still holds the output pipes open.
        logger.warning("the training command left processes running that hold its output open; killing them")
        signalGroup(SIGKILL)
        for reader in readers {
            _ = reader.waitUntilFinished(deadline: .now() + Self.outputGrace)
        }
    }

    private func signalGroup(_ signal: Int32) {
        if let processGroupID {
            _ = kill(-processGroupID, signal)
        } else if process.isRunning {
            _ = kill(process.processIdentifier, signal)
        }
    }

    private static func dispatchInterval(_ duration: Duration) -> DispatchTimeInterval {
        let (seconds, attoseconds) = duration.components
        let maximumSeconds: Int64 = 100 * 365 * 24 * 3600
        guard seconds < maximumSeconds else { return .seconds(Int(maximumSeconds)) }
        return .nanoseconds(Int(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    }
}
