// SPDX-License-Identifier: Apache-2.0
import Foundation

// Usage:
//   dcf-transport-bench [--parked N] [--downloads N] [--model-mib N] [--uploads N] [--upload-mib N]
//                       [--rate-threads N] [--rate-seconds S]
//   dcf-transport-bench clients parked|download|upload|rate --port P [--ca FILE] [--count N] [--mib N] [--seconds S]
let arguments = Array(CommandLine.arguments.dropFirst())

func option(_ name: String, _ defaultValue: String?) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return defaultValue }
    return arguments[index + 1]
}

func intOption(_ name: String, _ defaultValue: Int) -> Int {
    guard let text = option(name, nil) else { return defaultValue }
    guard let value = Int(text), value > 0 else {
        FileHandle.standardError.write(Data("invalid \(name) '\(text)': use a positive integer\n".utf8))
        exit(2)
    }
    return value
}

do {
    if arguments.first == "clients" {
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
