// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport

/// A running `dcf-serverd` in safe mode over TLS on loopback, with an Ed25519 key per site in its key
/// list and an initial model from `dcf-agent init-model`, for tests that add real `dcf-agent`s.
struct FederationFixture {
    let agent: String
    let directory: TemporaryDirectory
    let certificates: CertificateFactory
    let port: UInt16
    let server: LaunchedProcess
    private let serverArguments: [String]

    /// - Parameter layers: layer sizes of the initial model, as `dcf-agent init-model --layers` takes them.
    init(sites: Int, updateLimit: Int, layers: String = "784,128,10", prefix: String) throws {
        let serverd = try BuiltProducts.path("dcf-serverd")
        agent = try BuiltProducts.path("dcf-agent")
        directory = try TemporaryDirectory(prefix: prefix)
        certificates = try CertificateFactory()

        var keyList = ""
        for site in 0..<sites {
            try Self.run(agent, ["keygen", "--output", directory.file("site-\(site)")])
            keyList += try String(contentsOfFile: directory.file("site-\(site).pub"), encoding: .utf8) + "\n"
        }
        try keyList.write(toFile: directory.file("workers.txt"), atomically: true, encoding: .utf8)
        try Self.run(
            agent, ["init-model", "--layers", layers, "--seed", "3", "--output", directory.file("initial.safetensors")])

        port = try FreePort.loopback()
        serverArguments = [
            "--listen", "127.0.0.1:\(port)", "--tls-certificate", certificates.server.certificateFile,
            "--tls-key", certificates.server.privateKeyFile, "--state-dir", directory.file("state"),
            "--worker-keys", directory.file("workers.txt"), "--initial-model", directory.file("initial.safetensors"),
            "--update-lim", String(updateLimit),
        ]
        server = try LaunchedProcess(
            executable: serverd, arguments: serverArguments, logFile: directory.file("serverd.log"))
        _ = try server.waitForLine(containing: "listening", timeout: 30)
    }

    /// Starts another `dcf-serverd` with the first one's port, state directory and settings, logging to
    /// `<directory>/<name>.log`, and waits until it listens. The caller stops it; `tearDown` stops only the first.
    func restartServer(name: String) throws -> LaunchedProcess {
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"), arguments: serverArguments,
            logFile: directory.file("\(name).log"))
        _ = try process.waitForLine(containing: "listening", timeout: 30)
        return process
    }

    /// The `dcf-agent run` arguments that connect site `site` to the server.
    func agentArguments(site: Int) -> [String] {
        [
            "run", "--server", "https://127.0.0.1:\(port)", "--ca-file", certificates.ca.certificateFile,
            "--key", directory.file("site-\(site)"), "--progress", "plain",
        ]
    }

    /// Starts `dcf-agent` with `arguments`, logging to `<directory>/<name>.log`.
    func startAgent(_ arguments: [String], name: String) throws -> LaunchedProcess {
        try LaunchedProcess(executable: agent, arguments: arguments, logFile: directory.file("\(name).log"))
    }

    /// The round records the server wrote, one JSON line each.
    func historyLines() throws -> [Substring] {
        try String(contentsOfFile: directory.file("state/history.jsonl"), encoding: .utf8).split(separator: "\n")
    }

    /// Kills the server and removes every file.
    func tearDown() {
        server.terminate(signal: SIGKILL)
        certificates.remove()
        try? FileManager.default.removeItem(at: directory.url)
    }

    /// Runs a program to completion and returns its output.
    ///
    /// - Throws: `LaunchFailure` with the output when it exits non-zero.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw LaunchFailure(description: "\(executable) \(arguments.joined(separator: " ")) failed:\n\(output)")
        }
        return output
    }

    /// Waits up to `seconds` for `process` to exit; returns its status, or nil when it is still running.
    static func waitForExit(_ process: LaunchedProcess, seconds: Int) -> Int32? {
        for _ in 0..<(seconds * 10) where process.isRunning {
            usleep(100_000)
        }
        return process.isRunning ? nil : process.waitForExit()
    }
}

struct LaunchFailure: Error, CustomStringConvertible {
    let description: String
}
