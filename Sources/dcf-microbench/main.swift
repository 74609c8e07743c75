// SPDX-License-Identifier: Apache-2.0
import Foundation

// Usage:
//   dcf-microbench [--crypto] [--fedavg] [--longpoll] [options]    (no part flag runs all three)
// Options:
//   --seconds S          time per crypto measurement (default 2)
//   --model-mb N         FedAvg model size in MB of float32 (default 13)
//   --updates N          FedAvg updates per round (default 32)
//   --batches LIST       FedAvg updates folded per pass, comma-separated (default 1,4,8,32)
//   --workers N          parked long polls (default 1000)
//   --event-loops N      server event loops for the long-poll part (default: processor count)
//   --clients MODE       long-poll clients: in-process (a thread per worker), process (a thread per worker in a
//                        child dcf-microbench), loop (one event-loop thread for all workers in a child), both
//                        (in-process and process) or all (default)
// The long-poll part starts its child as
// `dcf-microbench --longpoll-clients --port P --ca FILE --keys FILE --client-mode threads|loop`.
let options: BenchOptions
do {
    options = try BenchOptions(arguments: Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("dcf-microbench: \(error)\n".utf8))
    exit(2)
}

if options.runsLongPollClients {
    do {
        try LongPollClients.runChild(
            port: options.port, trustedCAFile: options.trustedCAFile, keysFile: options.keysFile,
            mode: options.clientMode, rounds: LongPollBench.rounds, hold: LongPollBench.hold)
        // NOTE: one run of the child aborted (signal 6) at `exit` with no message, cause not found. `_exit` skips
        // the exit handlers, and the event lines need no flush because they go out with `write`.
        _exit(0)
    } catch {
        FileHandle.standardError.write(Data("dcf-microbench --longpoll-clients: \(error)\n".utf8))
        exit(1)
    }
}

print("machine: \(BenchMachine.summary)")
do {
    if options.runsCrypto { try CryptoBench.run(seconds: options.seconds) }
    if options.runsFedAvg {
        try FedAvgBench.run(modelMegabytes: options.modelMegabytes, updates: options.updates, batches: options.batches)
    }
    if options.runsLongPoll {
        try LongPollBench.run(
            workers: options.workers, eventLoops: options.eventLoops, placements: options.clientPlacements)
    }
} catch {
    FileHandle.standardError.write(Data("dcf-microbench: \(error)\n".utf8))
    exit(1)
}
