// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Synchronization

/// The end of one run of the training command: its termination and the tail of its standard error.
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

    private let pid: pid_t
    private let exited = DispatchSemaphore(value: 0)
    private let termination = Mutex<CommandOutcome.Termination?>(nil)
    /// Set once the agent has killed the group itself, so processes still found in it are not the command's doing.
    private let killedByAgent = Atomic<Bool>(false)
    private let logger: Logger
    private let outputReader: CommandOutputReader
    private let errorReader: CommandOutputReader

    /// Starts `command` with exactly `environment` and starts logging its output.
    ///
    /// - Throws: `AgentTrainerError` when `/bin/sh` cannot be started.
    init(command: String, environment: [String: String], logger: Logger) throws(AgentTrainerError) {
        self.logger = logger
        let child = try CommandSpawner.spawn(command: command, environment: environment)
        pid = child.pid
        outputReader = CommandOutputReader(
            handle: child.standardOutput, streamName: "stdout", logger: logger, tailLength: 1)
        errorReader = CommandOutputReader(
            handle: child.standardError, streamName: "stderr", logger: logger,
            tailLength: Self.standardErrorTailLength)
        outputReader.start()
        errorReader.start()
        Thread.detachNewThread { [self] in
            let result = CommandSpawner.waitForExit(child.pid)
            termination.withLock { $0 = result }
            exited.signal()
        }
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
        } else if !killedByAgent.load(ordering: .acquiring), groupHasMembers() {
            // A background process the command started and did not wait for. With its output redirected it
            // would outlive the round, and the agent too, one more each round.
            logger.warning(
                "the training command exited but left processes running in its process group; killing them")
            signalGroup(SIGKILL)
        }
        waitForOutput([outputReader, errorReader])
        let tail = errorReader.tail
        if timedOut { return CommandOutcome(termination: .timedOut, standardErrorTail: tail) }
        let ended = termination.withLock { $0 } ?? .exited(status: -1)
        return CommandOutcome(termination: ended, standardErrorTail: tail)
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
        killedByAgent.store(true, ordering: .releasing)
        logger.info(
            "stopping the training command because its training was cancelled, as when the agent stops",
            [("pid", "\(pid)")])
        signalGroup(SIGKILL)
    }

    private func waitForOutput(_ readers: [CommandOutputReader]) {
        let deadline = DispatchTime.now() + Self.outputGrace
        guard !readers.allSatisfy({ $0.waitUntilFinished(deadline: deadline) }) else { return }
        // A background process of the command keeps the output pipes open.
        logger.warning("the training command left processes running that hold its output open; killing them")
        signalGroup(SIGKILL)
        for reader in readers {
            _ = reader.waitUntilFinished(deadline: .now() + Self.outputGrace)
        }
    }

    /// Returns whether a process of the command's group still runs.
    private func groupHasMembers() -> Bool {
        kill(-pid, 0) == 0
    }

    /// Signals every process of the command's group. The group outlives its leader while any member runs,
    /// and the leader is reaped only by this object, so its id is not reused before `waitForEnd` returns.
    private func signalGroup(_ signal: Int32) {
        _ = kill(-pid, signal)
    }

    private static func dispatchInterval(_ duration: Duration) -> DispatchTimeInterval {
        let (seconds, attoseconds) = duration.components
        let maximumSeconds: Int64 = 100 * 365 * 24 * 3600
        guard seconds < maximumSeconds else { return .seconds(Int(maximumSeconds)) }
        return .nanoseconds(Int(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    }
}
