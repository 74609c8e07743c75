// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFTransport
import Foundation

/// The client side of the long-poll benchmark: one thread per worker parks a long poll each round and reports
/// when its response arrived, either straight into an `ArrivalLog` or, in a child process, as lines on stdout.
enum LongPollClients {
    /// Where and how the clients run: one thread per worker among the server's threads or in a child
    /// `dcf-microbench` process, or one event-loop thread for all workers (`LongPollLoopClients`) in a child.
    enum Placement: String, CaseIterable {
        case inProcess = "in-process"
        case childProcess = "process"
        case eventLoop = "loop"

        /// The client mode the child process runs: `threads` or `loop`.
        var childMode: String { self == .eventLoop ? "loop" : "threads" }
    }

    /// The name of every client thread, so CPU accounting can tell them from the server's threads.
    static let threadName = "dcf-lp-client"

    /// What the clients of a round report.
    enum Event {
        case arrival(round: Int, instant: UInt64)
        case failure(String)
    }

    /// Starts one thread per worker and returns the group that the threads leave when they finish.
    ///
    /// Each worker signs its next long poll with the `DCF-Next-Nonce` of the last response, as DCFWorker does, so
    /// only its first poll fetches a nonce.
    static func start(
        _ workers: [WaitingWorker], port: Int, trustedCAFile: String, rounds: Int, hold: Duration,
        report: @escaping @Sendable (Event) -> Void
    ) throws -> DispatchGroup {
        let client = try HTTPClient(
            host: "127.0.0.1", port: port,
            configuration: HTTPClientConfiguration(
                transport: .tls(.client(trustedCAFile: trustedCAFile, serverName: "localhost")),
                connectTimeout: .seconds(60), idleTimeout: hold, maximumIdleConnections: workers.count + 16))
        let group = DispatchGroup()
        for (index, worker) in workers.enumerated() {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                nameThread(threadName)
                var nextNonce: String?
                for round in 0..<rounds {
                    do {
                        let response = try worker.wait(
                            client: client, knownVersion: ModelVersion(UInt64(round + 1)), hold: hold, nonce: nextNonce)
                        report(.arrival(round: round, instant: ArrivalLog.now()))
                        nextNonce = response.headers[DCFHeader.nextNonce]
                    } catch {
                        report(.failure("\(error)"))
                        return
                    }
                }
            }
            thread.stackSize = 256 * 1024
            thread.start()
            // Starting in batches keeps the TLS handshakes from overflowing the listen backlog.
            if index % 100 == 99 { Thread.sleep(forTimeInterval: 0.05) }
        }
        return group
    }

    /// Names the calling thread in `/proc` (Foundation on Linux does not pass `Thread.name` to the kernel).
    private static func nameThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = name.withCString { Glibc.write(fd, $0, strlen($0)) }
    }

    /// Runs the clients of `--longpoll-clients` and writes one line per event to stdout:
    /// `arrival ROUND NANOSECONDS` or `failure MESSAGE`.
    ///
    /// - Parameter mode: `threads` for one blocking thread per worker, `loop` for `LongPollLoopClients`.
    static func runChild(
        port: Int, trustedCAFile: String, keysFile: String, mode: String, rounds: Int, hold: Duration
    ) throws {
        let seeds = try String(contentsOfFile: keysFile, encoding: .utf8).split(separator: "\n")
        let workers = try seeds.map { try WaitingWorker(key: Ed25519PrivateKey(seedHex: String($0))) }
        if mode == "loop" {
            return try LongPollLoopClients.run(
                workers: workers, port: port, trustedCAFile: trustedCAFile, rounds: rounds, hold: hold)
        }
        let group = try start(
            workers, port: port, trustedCAFile: trustedCAFile, rounds: rounds, hold: hold, report: writeLine)
        group.wait()
    }

    /// Writes one event line with a single `write`, which a pipe keeps whole for lines under 4 KiB.
    private static func writeLine(_ event: Event) {
        var text = line(for: event)
        _ = text.withUTF8 { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    }

    /// Returns the event line for `event`, newline included.
    static func line(for event: Event) -> String {
        switch event {
        case .arrival(let round, let instant): "arrival \(round) \(instant)\n"
        case .failure(let message): "failure \(message.replacingOccurrences(of: "\n", with: " ").prefix(2000))\n"
        }
    }

    /// Parses a line written by `writeLine`; nil for anything else.
    static func parse(_ line: Substring) -> Event? {
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2 else { return nil }
        switch parts[0] {
        case "arrival":
            guard parts.count == 3, let round = Int(parts[1]), let instant = UInt64(parts[2]) else { return nil }
            return .arrival(round: round, instant: instant)
        case "failure":
            return .failure(String(line.dropFirst("failure ".count)))
        default:
            return nil
        }
    }
}
