// SPDX-License-Identifier: Apache-2.0
import Foundation

// The options are listed in `BenchOptions.usage`.
// Before any output: with its output piped into a program that exits early, the tool ends with its own status.
signal(SIGPIPE, SIG_IGN)
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--help") || arguments.contains("-h") {
    print(BenchOptions.usage)
    exit(0)
}
let options: BenchOptions
do {
    options = try BenchOptions(arguments: arguments)
} catch {
    FileHandle.standardError.write(Data("dcf-microbench: \(error)\n\n\(BenchOptions.usage)\n".utf8))
    exit(64)
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
