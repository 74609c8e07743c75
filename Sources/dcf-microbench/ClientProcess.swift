// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A child `dcf-microbench --longpoll-clients` process whose event lines go into an `ArrivalLog`.
final class ClientProcess {
    private let process = Process()
    private let reader: Thread
    private let readerDone = DispatchSemaphore(value: 0)

    /// Writes the workers' key seeds to a file in `directory` and starts the child with them.
    /// - Parameter mode: the child's `--client-mode`, `threads` or `loop`.
    init(
        workers: [WaitingWorker], port: Int, trustedCAFile: String, directory: String, mode: String,
        arrivals: ArrivalLog
    ) throws {
        let keysFile = directory + "/client-keys.txt"
        let seeds = workers.map(\.key.seedHex).joined(separator: "\n")
        try seeds.write(toFile: keysFile, atomically: true, encoding: .utf8)
        // /proc/self/exe is this binary even when it was started through a relative path or a symbolic link.
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = [
            "--longpoll-clients", "--port", String(port), "--ca", trustedCAFile, "--keys", keysFile, "--client-mode", mode,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        let output = pipe.fileHandleForReading
        let done = readerDone
        reader = Thread {
            Self.readEvents(from: output, into: arrivals)
            done.signal()
        }
        try process.run()
        reader.start()
    }

    /// The child's process id.
    var processIdentifier: Int32 { process.processIdentifier }

    /// Waits for the child to exit after its last round and for its output to be read.
    ///
    /// - Throws: `BenchError` when the child exits with a nonzero status.
    func wait() throws {
        process.waitUntilExit()
        readerDone.wait()
        guard process.terminationStatus == 0 else {
            throw BenchError("dcf-microbench --longpoll-clients exited with status \(process.terminationStatus)")
        }
    }

    /// Ends the child if it still runs, for example after a failed round.
    func terminate() {
        if process.isRunning { process.terminate() }
    }

    private static func readEvents(from output: FileHandle, into arrivals: ArrivalLog) {
        var pending: [UInt8] = []
        while true {
            let chunk = output.availableData
            if chunk.isEmpty { break }
            pending.append(contentsOf: chunk)
            var start = 0
            while let end = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                record(Substring(decoding: pending[start..<end], as: UTF8.self), in: arrivals)
                start = end + 1
            }
            pending.removeFirst(start)
        }
    }

    private static func record(_ line: Substring, in arrivals: ArrivalLog) {
        switch LongPollClients.parse(line) {
        case .arrival(let round, let instant)?: arrivals.record(round: round, at: instant)
        case .failure(let message)?: arrivals.recordFailure(message)
        case nil: arrivals.recordFailure("unreadable line from the client process: \(line)")
        }
    }
}
