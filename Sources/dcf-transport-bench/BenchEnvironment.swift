// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Process, memory and machine facts the benchmark reports.
enum BenchEnvironment {
    /// Returns the resident set size of this process in KiB, from `VmRSS` in /proc/self/status.
    static func residentKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return 0
    }

    /// User plus system CPU time this process has used, in seconds, over all its threads.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }

    /// The 1-minute load average from /proc/loadavg, as printed there.
    static func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
        return String(text.split(separator: " ").first ?? "unknown")
    }

    static func cpuModel() -> String {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        let line = info.split(separator: "\n").first { $0.hasPrefix("model name") }
        return line.map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) }
            ?? "unknown"
    }

    /// Runs a program to completion and returns its standard output.
    ///
    /// - Throws: when the program cannot start or exits with a nonzero status, with its output in the message.
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw BenchError("\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): \(text)")
        }
        return text
    }

    /// Returns one core's AES-128-GCM rate in bytes per second for 16 KiB blocks, from `openssl speed`.
    static func opensslAESGCMBytesPerSecond() throws -> Double {
        let output = try run("/usr/bin/openssl", ["speed", "-seconds", "2", "-evp", "aes-128-gcm"])
        // The last line reads: "AES-128-GCM  <rate for 16, 64, 256, 1024, 8192, 16384 bytes>" in 1000s of bytes/s.
        guard let line = output.split(separator: "\n").last(where: { $0.uppercased().hasPrefix("AES-128-GCM") }),
            let field = line.split(separator: " ").last,
            let thousands = Double(field.replacingOccurrences(of: "k", with: ""))
        else { throw BenchError("cannot parse openssl speed output: \(output)") }
        return thousands * 1000
    }

    /// Makes a self-signed P-256 certificate for localhost and 127.0.0.1 in `directory`; returns (cert, key).
    static func makeCertificate(in directory: String) throws -> (String, String) {
        let certificate = directory + "/cert.pem"
        let key = directory + "/key.pem"
        _ = try run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-keyout", key, "-out", certificate, "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        return (certificate, key)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// A child process running this executable in a client role; its `result` line is parsed into key-value pairs.
final class ClientProcess {
    private let process = Process()
    private let output = Pipe()

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["clients"] + arguments
        process.standardOutput = output
        try process.run()
    }

    /// Waits for the child to exit and returns the fields of its `result` line.
    func waitForResult() throws -> [String: Double] {
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("failure") { print("  client \(line)") }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("result ") }) else {
            throw BenchError("client process printed no result: \(text)")
        }
        var fields: [String: Double] = [:]
        for pair in line.split(separator: " ").dropFirst() {
            let parts = pair.split(separator: "=")
            if parts.count == 2 { fields[String(parts[0])] = Double(parts[1]) }
        }
        return fields
    }
}
