// SPDX-License-Identifier: Apache-2.0
// Load generator for dcf-serverd: plays many workers from a few processes and measures FedAvg rounds.
import DCFCrypto
import DCFSupport
import Foundation

let usage = """
    Usage:
      dcf-loadgen init-model --bytes SIZE --out FILE
          Writes a float32 safetensors model with SIZE bytes of tensor data (13MB, 1MiB, 4096, ...),
          to be given to dcf-serverd as --initial-model.
      dcf-loadgen run --url URL [--ca FILE] --workers N --rounds R --server-pid PID --key-dir DIR
                      [--workers-per-process K] [--timeout SECONDS] [--json FILE] [--label TEXT]
          Starts N simulated workers in processes of K (default 500, at most 5000) against the dcf-serverd
          with process id PID, which must run FedAvg with --update-lim N. Each worker registers, long-polls,
          downloads the global model and uploads an update of the same size, for R rounds. Prints per-round
          time, server CPU, server memory, bytes moved and the worker processes' own CPU; --json also writes
          them to FILE. Stops after --timeout seconds in total (default 1800) even if rounds are missing.
          Each worker process keeps at least one model-sized buffer per worker for the whole run, so N
          workers need more than N times the model size of memory (18 GB for 1000 workers at 13 MB).
          SIGINT or SIGTERM stops the run: the worker processes end, the rounds measured so far are printed
          and written, and the exit status is 128 plus the signal number. A second signal exits at once.
          The results go to standard output and the progress to standard error: on a terminal one line,
          rewritten in place and erased at the end; otherwise a line every 5 seconds.
      dcf-loadgen workers ...
          The worker process that `run` starts.
    """

func runCommand(_ arguments: Arguments) throws {
    let workers = try arguments.integer("workers", range: 1...100_000)
    let settings = Coordinator.Settings(
        url: try arguments.string("url"), trustedCAFile: arguments.optionalString("ca"), workerCount: workers,
        rounds: try arguments.integer("rounds", range: 1...10_000),
        serverPID: Int32(try arguments.integer("server-pid", range: 1...Int(Int32.max))),
        workersPerProcess: try arguments.integer(
            "workers-per-process", default: 500, range: 1...WorkerProcess.maximumCount),
        keyDirectory: try arguments.string("key-dir"),
        timeoutSeconds: try arguments.integer("timeout", default: 1800, range: 1...86_400),
        resultFile: arguments.optionalString("json"),
        label: arguments.optionalString("label") ?? "dcf")
    let coordinator = Coordinator(settings: settings)
    let tally = try coordinator.run()
    let interruption = coordinator.interruptingSignal
    if let interruption {
        StandardStream.error.write(
            "dcf-loadgen: stopped by \(interruption == SIGINT ? "SIGINT" : "SIGTERM"); results so far follow\n")
    }
    let report = Report(
        settings: settings, tally: tally, finalSample: ServerSample.read(pid: settings.serverPID),
        interruptedBy: interruption)
    report.printTable()
    if let path = settings.resultFile { try report.writeJSON(to: path) }
    if let interruption { exit(128 + interruption) }
    if tally.completedRounds < settings.rounds { exit(1) }
}

func initModelCommand(_ arguments: Arguments) throws {
    let bytes = try arguments.byteCount("bytes")
    let path = try arguments.string("out")
    let model = try SyntheticModel.initial(bytes: bytes)
    try model.write(to: URL(fileURLWithPath: path))
    print("wrote \(path): \(model.count) bytes of safetensors")
}

// Before any output: with its output piped into a program that exits early, the tool ends with its own status.
signal(SIGPIPE, SIG_IGN)
let commandLine = CommandLine.arguments.dropFirst()
do {
    let rest = Arguments.self
    if commandLine.contains("-h") || commandLine.contains("--help") {
        print(usage)
        exit(0)
    }
    switch commandLine.first {
    case "init-model": try initModelCommand(try rest.init(commandLine.dropFirst()))
    case "run": try runCommand(try rest.init(commandLine.dropFirst()))
    case "workers": try await WorkerProcess.run(try rest.init(commandLine.dropFirst()))
    default:
        StandardStream.error.write(usage + "\n")
        exit(64)
    }
} catch let error as UsageError {
    StandardStream.error.write("dcf-loadgen: \(error)\n")
    exit(64)
} catch {
    StandardStream.error.write("dcf-loadgen: \(error)\n")
    exit(1)
}
