// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Glibc
import Synchronization

/// The `run` subcommand: starts worker processes against a running `dcf-serverd`, follows their events until
/// the requested number of rounds completed, samples the server's `/proc` entry and prints the results.
final class Coordinator: Sendable {
    struct Settings: Sendable {
        var url: String
        var trustedCAFile: String?
        var workerCount: Int
        var rounds: Int
        var serverPID: Int32
        var workersPerProcess: Int
        var keyDirectory: String
        var timeoutSeconds: Int
        var resultFile: String?
        var label: String
    }

    let settings: Settings
    /// The first SIGINT or SIGTERM received, or 0; the run then stops and reports what it measured so far.
    private let interruption = Atomic<Int32>(0)
    private let tally: Mutex<RoundTally>
    private let children = Mutex<[Process]>([])
    private let startTime = MonotonicClock.nanoseconds()

    init(settings: Settings) {
        self.settings = settings
        self.tally = Mutex(RoundTally(workerCount: settings.workerCount))
    }

    /// Runs the load and returns the tally; worker processes are terminated before it returns.
    func run() throws -> RoundTally {
        guard ServerSample.read(pid: settings.serverPID) != nil else {
            throw UsageError("--server-pid \(settings.serverPID): no such process; pass the PID of dcf-serverd")
        }
        try FileManager.default.createDirectory(atPath: settings.keyDirectory, withIntermediateDirectories: true)
        defer { stopChildren() }
        let signalSources = stopChildrenOnSignals()
        defer { signalSources.forEach { $0.cancel() } }
        try startChildren()
        let progress = ProgressPrinter(isTerminal: isatty(STDERR_FILENO) == 1)
        let deadline = startTime + UInt64(settings.timeoutSeconds) * 1_000_000_000
        var serverExited = false
        while MonotonicClock.nanoseconds() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
            if let sample = ServerSample.read(pid: settings.serverPID) {
                tally.withLock { $0.observe(sample) }
            } else {
                serverExited = true
                break
            }
            let snapshot = tally.withLock { $0 }
            progress.show(snapshot, rounds: settings.rounds, elapsed: elapsed)
            if snapshot.completedRounds >= settings.rounds || interruptingSignal != nil { break }
        }
        // After the progress line is gone, so that the message does not run on from it.
        progress.finish()
        if serverExited { StandardStream.error.write("dcf-loadgen: the server process exited\n") }
        var result = tally.withLock { $0 }
        result.keepFirstRounds(settings.rounds)
        return result
    }

    /// The signal that stopped the run early, if one did.
    var interruptingSignal: Int32? {
        let number = interruption.load(ordering: .acquiring)
        return number == 0 ? nil : number
    }

    private var elapsed: Double { Double(MonotonicClock.nanoseconds() - startTime) / 1e9 }

    private func startChildren() throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var first = 0
        while first < settings.workerCount {
            let count = min(settings.workersPerProcess, settings.workerCount - first)
            var arguments = [
                "workers", "--url", settings.url, "--key-dir", settings.keyDirectory, "--first", String(first),
                "--count", String(count),
            ]
            if let ca = settings.trustedCAFile { arguments += ["--ca", ca] }
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            children.withLock { $0.append(process) }
            let reader = Thread { [self] in follow(output.fileHandleForReading) }
            reader.start()
            first += count
        }
    }

    /// Reads one worker process's event lines until it closes its output.
    private func follow(_ handle: FileHandle) {
        var pending = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { return }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                if let event = WorkerEvent(line: Substring(line)) { apply(event) }
            }
        }
    }

    private func apply(_ event: WorkerEvent) {
        let pid = settings.serverPID
        tally.withLock { tally in
            let (started, completed) = tally.apply(event)
            if let started {
                tally.record(start: ServerSample.read(pid: pid), loadGeneratorCPU: workerCPUSeconds(), round: started)
            }
            if let completed {
                let sample = ServerSample.read(pid: pid)
                if let sample { tally.observe(sample) }
                tally.record(end: sample, loadGeneratorCPU: workerCPUSeconds(), round: completed)
            }
        }
    }

    /// Returns the CPU seconds the worker processes have used so far; they share the machine's cores with the
    /// server.
    private func workerCPUSeconds() -> Double {
        let pids = children.withLock { $0.map(\.processIdentifier) }
        return pids.reduce(0) { $0 + (ServerSample.read(pid: $1)?.cpuSeconds ?? 0) }
    }

    /// Returns signal sources for SIGINT and SIGTERM. The first signal ends the run, which stops the worker
    /// processes and reports the rounds measured so far. A second one stops the worker processes and exits at once
    /// with 128 plus its number. Either way no worker keeps loading the server after the coordinator is gone.
    private func stopChildrenOnSignals() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                guard interruption.compareExchange(expected: 0, desired: number, ordering: .acquiringAndReleasing)
                    .exchanged
                else {
                    stopChildren()
                    exit(128 + number)
                }
            }
            source.resume()
            return source
        }
    }

    private func stopChildren() {
        let processes = children.withLock { $0 }
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        for process in processes { process.waitUntilExit() }
    }
}
