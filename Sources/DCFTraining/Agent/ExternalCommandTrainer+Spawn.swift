// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Starts `/bin/sh -c <command>` with posix_spawn as the leader of a new process group, with an empty
/// signal mask and default signal actions.
///
/// Foundation's `Process` passes on the spawning thread's signal mask, and dispatch threads block almost
/// every signal, so a command started that way could not be stopped with SIGTERM. The agent also ignores
/// SIGTERM and SIGINT to handle them itself, and ignored signals stay ignored across exec unless reset.
enum CommandSpawner {
    /// Signals reset to their default action in the child.
    static let defaultSignals: [Int32] = [
        SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM, SIGUSR1, SIGUSR2, SIGCHLD, SIGALRM, SIGTSTP, SIGTTIN, SIGTTOU,
    ]

    struct Child {
        var pid: pid_t
        /// Read ends of the child's standard output and standard error.
        var standardOutput: FileHandle
        var standardError: FileHandle
    }

    /// Starts the command; standard input is /dev/null.
    ///
    /// - Throws: `AgentTrainerError` naming the failed call and errno when a pipe or the process cannot be
    ///   created.
    static func spawn(command: String, environment: [String: String]) throws(AgentTrainerError) -> Child {
        let output = try makePipe()
        let error = try makePipe()
        defer {
            close(output.write)
            close(error.write)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        posix_spawn_file_actions_adddup2(&actions, error.write, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in defaultSignals { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let arguments = ["/bin/sh", "-c", command].map(duplicate) + [nil]
        let variables = environment.map { duplicate("\($0.key)=\($0.value)") } + [nil]
        defer {
            arguments.forEach { free($0) }
            variables.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, "/bin/sh", &actions, &attributes, arguments, variables)
        guard result == 0 else {
            close(output.read)
            close(error.read)
            throw AgentTrainerError(
                "could not start the training command with /bin/sh: posix_spawn failed with errno \(result) "
                    + "(\(String(cString: strerror(result))))")
        }
        return Child(
            pid: pid,
            standardOutput: FileHandle(fileDescriptor: output.read, closeOnDealloc: true),
            standardError: FileHandle(fileDescriptor: error.read, closeOnDealloc: true))
    }

    /// Waits for `pid` to exit and returns how it ended; blocks the calling thread.
    static func waitForExit(_ pid: pid_t) -> CommandOutcome.Termination {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { return .exited(status: -1) }
        }
        // The wait status layout of Linux: the low 7 bits hold the terminating signal, 0 for a normal exit.
        let signal = status & 0x7f
        return signal == 0 ? .exited(status: (status >> 8) & 0xff) : .signaled(signal)
    }

    private static func duplicate(_ text: String) -> UnsafeMutablePointer<CChar>? {
        text.withCString { strdup($0) }
    }

    private static func makePipe() throws(AgentTrainerError) -> (read: Int32, write: Int32) {
        var descriptors: [Int32] = [-1, -1]
        guard pipe(&descriptors) == 0 else {
            throw AgentTrainerError("could not create a pipe for the training command: errno \(errno)")
        }
        // Glibc's pipe2 is not visible to Swift here, so close-on-exec is set right after. A process spawned
        // by another thread in between could inherit the pipe and delay end of file.
        for descriptor in descriptors {
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        return (descriptors[0], descriptors[1])
    }
}
