// SPDX-License-Identifier: Apache-2.0
import Foundation

let usage = """
    Usage: dcf-transport-bench [options]
    Starts a TLS and a plain-TCP server in this process, drives them from a child process and prints the
    parked-connection memory, download and upload throughput against `openssl speed`, and request rates.

    Options (each takes a positive integer):
      --parked N        TLS connections parked at once (default 10000)
      --downloads N     clients downloading the shared body at once (default 100)
      --model-mib N     size of the shared body in MiB (default 64)
      --uploads N       clients uploading at once (default 100)
      --upload-mib N    size of each upload in MiB (default 64)
      --rate-threads N  keep-alive connections for the request-rate runs (default 16)
      --rate-seconds S  length of each request-rate run (default 5)
      -h, --help        print this text

    The client child runs as
    dcf-transport-bench clients parked|download|upload|rate --port P [--ca FILE] [--count N] [--mib N] [--seconds S]

    Exit status: 0 when every measurement ran as asked; 1 after an error, or when fewer than --parked requests
    were parked (the waiting ends after 30 s without a new one), with the reason on standard error; 64 for an
    invalid option.
    """
// Before any output: with its output piped into a program that exits early, the tool ends with its own status.
signal(SIGPIPE, SIG_IGN)
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--help") || arguments.contains("-h") {
    print(usage)
    exit(0)
}

/// Stops with the usage text when an argument is not one of `known` followed by its value.
func checkOptions(_ known: Set<String>, from start: Int) {
    var index = start
    while index < arguments.count {
        guard known.contains(arguments[index]), index + 1 < arguments.count else {
            let problem = known.contains(arguments[index]) ? "needs a value" : "is not an option"
            FileHandle.standardError.write(Data("dcf-transport-bench: '\(arguments[index])' \(problem)\n\n\(usage)\n".utf8))
            exit(64)
        }
        index += 2
    }
}

func option(_ name: String, _ defaultValue: String?) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return defaultValue }
    return arguments[index + 1]
}

func intOption(_ name: String, _ defaultValue: Int) -> Int {
    guard let text = option(name, nil) else { return defaultValue }
    guard let value = Int(text), value > 0 else {
        FileHandle.standardError.write(Data("invalid \(name) '\(text)': use a positive integer\n".utf8))
        exit(64)
    }
    return value
}

do {
    if arguments.first == "clients" {
        checkOptions(["--port", "--ca", "--count", "--mib", "--seconds"], from: 2)
        let port = intOption("--port", 0)
        let ca = option("--ca", nil)
        switch arguments.dropFirst().first {
        case "parked": try BenchClients.parked(port: port, caFile: ca, count: intOption("--count", 1000))
        case "download": try BenchClients.download(port: port, caFile: ca, count: intOption("--count", 100))
        case "upload":
            try BenchClients.upload(port: port, caFile: ca, count: intOption("--count", 100), megabytes: intOption("--mib", 64))
        case "rate":
            try BenchClients.rate(
                port: port, caFile: ca, threads: intOption("--count", 16),
                duration: Double(option("--seconds", "5") ?? "5") ?? 5
            )
        default: throw BenchError("unknown client role; use parked, download, upload or rate")
        }
    } else {
        checkOptions(
            ["--parked", "--downloads", "--model-mib", "--uploads", "--upload-mib", "--rate-threads", "--rate-seconds"],
            from: 0)
        let settings = BenchSettings(
            parked: intOption("--parked", 10_000),
            downloads: intOption("--downloads", 100),
            modelMiB: intOption("--model-mib", 64),
            uploads: intOption("--uploads", 100),
            uploadMiB: intOption("--upload-mib", 64),
            rateThreads: intOption("--rate-threads", 16),
            rateSeconds: intOption("--rate-seconds", 5)
        )
        try BenchRunner(settings: settings).run()
    }
} catch {
    FileHandle.standardError.write(Data("dcf-transport-bench: \(error)\n".utf8))
    exit(1)
}
