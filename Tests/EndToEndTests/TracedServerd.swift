// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import Foundation
import TestSupport

/// A `dcf-serverd` started under `strace`, which records its file-system calls (`FileSystemCallLog`), with three
/// worker keys: the first two in the key list, the third for an admin to add. Its state directory does not exist
/// before the start, so the server creates every directory in it during the recording.
struct TracedServerd {
    let directory: TemporaryDirectory
    let certificates: CertificateFactory
    /// The state directory with symbolic links resolved, as strace prints paths.
    let stateDirectory: String
    let workerKeyFiles: [String]
    let server: RunningServerd
    /// The process id of `dcf-serverd`, the child of strace (`server.process`).
    let serverPID: Int32
    private let tracePrefix: String

    /// Writes the files and starts `strace … dcf-serverd run --config <file>`. `updateLimit` is FedAvg's `update_lim`.
    init(updateLimit: Int) throws {
        directory = try TemporaryDirectory(prefix: "dcf-serverd-durability")
        certificates = try CertificateFactory()
        let base = URL(fileURLWithPath: directory.path).resolvingSymlinksInPath().path
        stateDirectory = base + "/state"
        workerKeyFiles = try (0..<3).map { index in
            let file = base + "/worker\(index).key"
            _ = try Ed25519KeyFile.generate(at: file)
            return file
        }
        let keyListFile = base + "/workers.keys"
        let keys = try workerKeyFiles.prefix(2).map { try ServerdFixture.publicKeyHex($0) }
        try ServerdFixture.write(keys.joined(separator: "\n") + "\n", to: keyListFile)
        let credentialsFile = base + "/admin.credentials"
        try ServerdFixture.writeSecret(
            "\(ServerdFixture.adminUser):\(ServerdFixture.adminPassword)\n", to: credentialsFile)
        let modelFile = base + "/initial.safetensors"
        try ServerdFixture.initialModel().write(to: URL(fileURLWithPath: modelFile))
        let configFile = base + "/serverd.conf"
        try ServerdFixture.write(
            ServerdFixture.configText(
                certificate: certificates.server.certificateFile, privateKey: certificates.server.privateKeyFile,
                keyList: keyListFile, credentials: credentialsFile, stateDirectory: stateDirectory,
                initialModel: modelFile, updateLimit: updateLimit),
            to: configFile)

        try FileManager.default.createDirectory(atPath: base + "/trace", withIntermediateDirectories: true)
        tracePrefix = base + "/trace/serverd"
        let process = try LaunchedProcess(
            executable: try Self.stracePath(),
            arguments: FileSystemCallLog.straceArguments(outputPrefix: tracePrefix)
                + [try BuiltProducts.path("dcf-serverd"), "run", "--config", configFile],
            logFile: base + "/serverd.log")
        let line = try process.waitForLine(containing: "address=127.0.0.1:", timeout: 60)
        guard let range = line.range(of: #"address=127\.0\.0\.1:(\d+)"#, options: .regularExpression),
            let port = Int(line[range].split(separator: ":").last ?? "")
        else {
            throw ServerdTestError("no port in the listening line: \(line)")
        }
        server = RunningServerd(process: process, port: port, caFile: certificates.ca.certificateFile)
        guard let child = Self.childPID(of: process.pid) else {
            throw ServerdTestError("strace (pid \(process.pid)) has no child process; log:\n\(process.output)")
        }
        serverPID = child
    }

    /// Stops the server with SIGTERM (strace exits with it) and returns the recorded calls of all its threads.
    func stopAndReadCalls() throws -> [FileSystemCall] {
        kill(serverPID, SIGTERM)
        let deadline = Date().addingTimeInterval(60)
        while server.process.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        guard !server.process.isRunning else {
            kill(serverPID, SIGKILL)
            throw ServerdTestError("dcf-serverd (pid \(serverPID)) did not exit within 60 s of SIGTERM")
        }
        let status = server.process.waitForExit()
        guard status == 0 else {
            throw ServerdTestError("strace or dcf-serverd exited with status \(status); log:\n\(server.process.output)")
        }
        return try FileSystemCallLog.read(outputPrefix: tracePrefix)
    }

    /// Kills a server still running and deletes the files. strace killed alone would leave the server running.
    func remove() {
        // strace runs as long as the server does, so while strace runs, `serverPID` is still the server.
        if server.process.isRunning {
            kill(serverPID, SIGKILL)
            _ = server.process.waitForExit()
        }
        certificates.remove()
        directory.remove()
    }

    /// Returns the id of the only child process of `parent`, read from `/proc`.
    static func childPID(of parent: Int32) -> Int32? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { Int32($0) }.first { pid in
            // The fields after the command name, which is in parentheses, start with the state and the parent id.
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let nameEnd = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: nameEnd)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent
        }
    }

    /// Returns the path of `strace`, which `scripts/install-deps.sh --tests` installs.
    static func stracePath() throws -> String {
        for directory in ["/usr/bin", "/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(
            atPath: directory + "/strace")
        {
            return directory + "/strace"
        }
        throw ServerdTestError("strace is not installed; install it with scripts/install-deps.sh --tests (as root)")
    }

    /// Returns the current wall-clock time in microseconds since the epoch, the clock strace's `-ttt` prints.
    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1000
    }
}
