// SPDX-License-Identifier: Apache-2.0
import DCFTransport

/// The command-line flags of `dcf-microbench`; see main.swift for the list.
struct BenchOptions {
    var runsCrypto = false
    var runsFedAvg = false
    var runsLongPoll = false
    var seconds = 2.0
    var modelMegabytes = 13
    var updates = 32
    var batches = [1, 4, 8, 32]
    var workers = 1000
    var eventLoops = HTTPServerConfiguration.processorCount

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
            case "--batches":
                let list = remaining.popFirst()
                batches = try (list ?? "").split(separator: ",").map { try Self.positiveInteger(flag, String($0)) }
                if batches.isEmpty { throw BenchError("--batches needs a comma-separated list such as 1,4,32") }
            default:
                throw BenchError("unknown option '\(flag)'; use --crypto, --fedavg, --longpoll and the options in main.swift")
            }
        }
        if !runsCrypto && !runsFedAvg && !runsLongPoll {
            (runsCrypto, runsFedAvg, runsLongPoll) = (true, true, true)
        }
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
