// SPDX-License-Identifier: Apache-2.0
import DCFTransport

/// The command-line flags of `dcf-microbench`.
struct BenchOptions {
    static let usage = """
        Usage: dcf-microbench [--crypto] [--fedavg] [--longpoll] [options]
        Measures parts of the server on their own; with no part flag it runs all three.

        Parts:
          --crypto             Ed25519 verifications and signatures per second, SHA-256 throughput
          --fedavg             folding updates into the FedAvg sums, against memory read bandwidth
          --longpoll           time from a version change until every parked worker has its answer
        Options:
          --seconds S          time per crypto measurement (default 2)
          --model-mb N         FedAvg model size in MB of float32 (default 13)
          --updates N          FedAvg updates per round (default 32)
          --batches LIST       FedAvg updates folded per pass, comma-separated (default 1,4,8,32)
          --workers N          parked long polls (default 1000)
          --event-loops N      server event loops for the long-poll part (default: processor count)
          --clients MODE       long-poll clients: in-process (a thread per worker), process (a thread per
                               worker in a child dcf-microbench), loop (one event-loop thread for all workers
                               in a child), both (in-process and process) or all (default)
          -h, --help           print this text

        The long-poll part starts its child as
        dcf-microbench --longpoll-clients --port P --ca FILE --keys FILE --client-mode threads|loop
        """

    var runsCrypto = false
    var runsFedAvg = false
    var runsLongPoll = false
    var seconds = 2.0
    var modelMegabytes = 13
    var updates = 32
    var batches = [1, 4, 8, 32]
    var workers = 1000
    var eventLoops = HTTPServerConfiguration.processorCount
    var clientPlacements = LongPollClients.Placement.allCases
    /// Set by `--longpoll-clients`: this process is the client child of a long-poll run.
    var runsLongPollClients = false
    var port = 0
    var trustedCAFile = ""
    var keysFile = ""
    /// `--client-mode` of the client child: `threads` or `loop`.
    var clientMode = "threads"

    init(arguments: [String]) throws {
        var remaining = arguments[...]
        while let flag = remaining.popFirst() {
            switch flag {
            case "--crypto": runsCrypto = true
            case "--fedavg": runsFedAvg = true
            case "--longpoll": runsLongPoll = true
            case "--seconds": seconds = Double(try Self.positiveInteger(flag, remaining.popFirst()))
            case "--model-mb": modelMegabytes = try Self.positiveInteger(flag, remaining.popFirst())
            case "--updates": updates = try Self.positiveInteger(flag, remaining.popFirst())
            case "--workers": workers = try Self.positiveInteger(flag, remaining.popFirst())
            case "--event-loops": eventLoops = try Self.positiveInteger(flag, remaining.popFirst())
            case "--clients": clientPlacements = try Self.placements(remaining.popFirst())
            case "--longpoll-clients": runsLongPollClients = true
            case "--port": port = try Self.positiveInteger(flag, remaining.popFirst())
            case "--ca": trustedCAFile = try Self.path(flag, remaining.popFirst())
            case "--keys": keysFile = try Self.path(flag, remaining.popFirst())
            case "--client-mode":
                clientMode = remaining.popFirst() ?? ""
                guard ["threads", "loop"].contains(clientMode) else {
                    throw BenchError("invalid --client-mode '\(clientMode)': use threads or loop")
                }
            case "--batches":
                let list = remaining.popFirst()
                batches = try (list ?? "").split(separator: ",").map { try Self.positiveInteger(flag, String($0)) }
                if batches.isEmpty { throw BenchError("--batches needs a comma-separated list such as 1,4,32") }
            default:
                throw BenchError("unknown option '\(flag)'")
            }
        }
        if runsLongPollClients, port == 0 || trustedCAFile.isEmpty || keysFile.isEmpty {
            throw BenchError("--longpoll-clients needs --port, --ca and --keys; the --longpoll run passes them")
        }
        if !runsCrypto && !runsFedAvg && !runsLongPoll && !runsLongPollClients {
            (runsCrypto, runsFedAvg, runsLongPoll) = (true, true, true)
        }
    }

    private static func placements(_ text: String?) throws -> [LongPollClients.Placement] {
        let names = LongPollClients.Placement.allCases.map(\.rawValue)
        switch text {
        case "both": return [.inProcess, .childProcess]
        case "all": return LongPollClients.Placement.allCases
        default: break
        }
        guard let text, let placement = LongPollClients.Placement(rawValue: text) else {
            throw BenchError("invalid --clients '\(text ?? "")': use \(names.joined(separator: ", ")), both or all")
        }
        return [placement]
    }

    private static func path(_ flag: String, _ text: String?) throws -> String {
        guard let text, !text.isEmpty else { throw BenchError("\(flag) needs a file path") }
        return text
    }

    private static func positiveInteger(_ flag: String, _ text: String?) throws -> Int {
        guard let text, let value = Int(text), value > 0 else {
            throw BenchError("invalid \(flag) '\(text ?? "")': use a positive integer")
        }
        return value
    }
}

/// A benchmark failure, with a message that says what went wrong.
struct BenchError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}
