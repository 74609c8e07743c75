// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import Foundation
import TestSupport

/// A `dcf-serverd` over TLS on a fixed loopback port that a test kills with SIGKILL and starts again on the same
/// state directory, with the checks of what the state directory must hold afterwards.
final class CrashedServerd: @unchecked Sendable {
    // @unchecked Sendable: `current` and `launches` change only on the test's own task; workers read only `pid`.
    let fixture: ServerdFixture
    let port: UInt16
    let workerKeyFiles: [String]
    let updateLimit: Int
    private(set) var current: RunningServerd
    private(set) var launches = 1

    /// Starts a server whose key list contains `workers` new keys and whose rounds close at `workers` updates.
    init(workers: Int) throws {
        fixture = try ServerdFixture()
        updateLimit = workers
        var keyFiles: [String] = []
        var keyList = ""
        for index in 0..<workers {
            let file = fixture.directory.file("crash-worker\(index).key")
            _ = try Ed25519KeyFile.generate(at: file)
            keyFiles.append(file)
            keyList += try ServerdFixture.publicKeyHex(file) + "\n"
        }
        workerKeyFiles = keyFiles
        try ServerdFixture.write(keyList, to: fixture.keyListFile)
        try AcknowledgingWorkers.initialModel().write(to: URL(fileURLWithPath: fixture.directory.file("crash-initial.safetensors")))
        port = try FreePort.loopback()
        current = try Self.launch(fixture, port: port, updateLimit: workers, launch: 1)
    }

    var url: URL { URL(string: "https://127.0.0.1:\(port)")! }
    var caFile: String { fixture.certificates.ca.certificateFile }
    var stateDirectory: String { fixture.stateDirectory }

    /// Sends SIGKILL and waits up to 30 s for the process to go; a kill already sent by a worker is fine.
    func kill() throws {
        Foundation.kill(current.process.pid, SIGKILL)
        try waitForExit()
    }

    /// Waits up to 30 s for the process to exit, for a kill sent from elsewhere.
    func waitForExit() throws {
        for _ in 0..<600 where current.process.isRunning {
            Thread.sleep(forTimeInterval: 0.05)
        }
        guard !current.process.isRunning else { throw ServerdTestError("dcf-serverd still runs 30 s after SIGKILL") }
        _ = current.process.waitForExit()
    }

    /// Starts the server again on the same port and state directory and waits until it listens.
    func restart() throws {
        launches += 1
        current = try Self.launch(fixture, port: port, updateLimit: updateLimit, launch: launches)
    }

    /// Starts the server again with a preloaded `rename` that kills it with SIGKILL at its first rename onto a path
    /// ending in `suffix`, before the rename happens. Call `waitForExit()` and `restart()` next.
    func restart(killingAtRenameOnto suffix: String) throws {
        launches += 1
        let library = try KillAtRename(directory: fixture.directory.path)
        current = try fixture.launch(
            Self.arguments(fixture, port: port, updateLimit: updateLimit),
            environment: library.environment(killingAtRenameOnto: suffix), logName: "serverd-\(launches).log")
    }

    /// Kills the running server, starts it again and kills it as soon as it logs that it resumes at its stored
    /// version, while it recovers the open round or starts to listen. Call `restart()` next.
    func killDuringStartup() throws {
        try kill()
        launches += 1
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"),
            arguments: ["run", "--config", fixture.configFile] + Self.arguments(fixture, port: port, updateLimit: updateLimit),
            logFile: fixture.directory.file("serverd-\(launches).log"))
        try process.waitForLine(containing: "resuming at stored model version", timeout: 60)
        process.terminate(signal: SIGKILL)
    }

    func remove() {
        current.process.terminate(signal: SIGKILL)
        fixture.remove()
    }

    private static func launch(_ fixture: ServerdFixture, port: UInt16, updateLimit: Int, launch: Int) throws
        -> RunningServerd
    {
        try fixture.launch(arguments(fixture, port: port, updateLimit: updateLimit), logName: "serverd-\(launch).log")
    }

    private static func arguments(_ fixture: ServerdFixture, port: UInt16, updateLimit: Int) -> [String] {
        [
            "--server.listen=127.0.0.1:\(port)", "--fedavg.update_lim=\(updateLimit)",
            "--fedavg.initial_model=\(fixture.directory.file("crash-initial.safetensors"))",
        ]
    }

    // MARK: State directory

    /// Returns the stored model versions, sorted.
    func storedVersions() throws -> [UInt64] {
        let names = try FileManager.default.contentsOfDirectory(atPath: stateDirectory + "/models")
        return names.compactMap { name -> UInt64? in
            guard name.hasPrefix("v"), name.hasSuffix(".safetensors") else { return nil }
            return UInt64(name.dropFirst().dropLast(".safetensors".count))
        }.sorted()
    }

    /// Parses stored version `version` and returns every value of its tensors.
    func values(ofVersion version: UInt64) throws -> [Float] {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: stateDirectory + "/models/v\(version).safetensors"))
        let model = try SafeTensors(bytes: bytes)
        return try model.allTensors().flatMap { try $0.floatValues() }
    }

    /// Returns the records of `history.jsonl` as (version, base_version, updates_used), in file order.
    func historyRecords() throws -> [(version: Int, baseVersion: Int, updatesUsed: Int)] {
        let path = stateDirectory + "/history.jsonl"
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let version = object["version"] as? Int, let base = object["base_version"] as? Int,
                let used = object["updates_used"] as? Int
            else { throw ServerdTestError("history.jsonl line is not a round record: \(line)") }
            return (version, base, used)
        }
    }

    /// The open round's version and update count, from the admin API.
    func openRound() throws -> (version: Int, updates: Int) {
        let round = try current.status().round
        guard case .integer(let version) = round["version"], case .integer(let updates) = round["updates"] else {
            throw ServerdTestError("admin status has no round version or update count: \(round)")
        }
        return (version, updates)
    }
}
