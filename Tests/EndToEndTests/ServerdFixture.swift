// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import Foundation
import TestSupport

/// Files for one `dcf-serverd` under test: certificates, an initial model, worker keys, admin credentials,
/// a state directory and a config file pointing at all of them.
struct ServerdFixture {
    static let adminUser = "ops"
    static let adminPassword = "e2e-secret-pw"

    let directory: TemporaryDirectory
    let certificates: CertificateFactory
    let stateDirectory: String
    let configFile: String
    let keyListFile: String
    let certificateFile: String
    let privateKeyFile: String
    /// Private key files of two workers; only the first is in the key list at the start.
    let workerKeyFiles: [String]

    init(extraConfig: String = "") throws {
        directory = try TemporaryDirectory(prefix: "dcf-serverd-e2e")
        certificates = try CertificateFactory()
        stateDirectory = directory.file("state")
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        // The config names copies, so a test can replace them before a reload.
        certificateFile = directory.file("server.crt")
        privateKeyFile = directory.file("server.key")
        try FileManager.default.copyItem(atPath: certificates.server.certificateFile, toPath: certificateFile)
        try FileManager.default.copyItem(atPath: certificates.server.privateKeyFile, toPath: privateKeyFile)
        var keyFiles: [String] = []
        for index in 0..<2 {
            keyFiles.append(directory.file("worker\(index).key"))
            _ = try Ed25519KeyFile.generate(at: keyFiles[index])
        }
        workerKeyFiles = keyFiles
        keyListFile = directory.file("workers.keys")
        try Self.write(try Self.publicKeyHex(keyFiles[0]) + "\n", to: keyListFile)
        let credentialsFile = directory.file("admin.credentials")
        try Self.writeSecret("\(Self.adminUser):\(Self.adminPassword)\n", to: credentialsFile)
        let modelFile = directory.file("initial.safetensors")
        try Self.initialModel().write(to: URL(fileURLWithPath: modelFile))
        configFile = directory.file("serverd.conf")
        let limitsAndLog = """
            [limits]
            long_poll_hold = "120s"

            [log]
            level = "debug"
            \(extraConfig)
            """
        try Self.write(
            Self.configText(
                certificate: certificateFile, privateKey: privateKeyFile, keyList: keyListFile,
                credentials: credentialsFile, stateDirectory: stateDirectory, initialModel: modelFile, updateLimit: 1)
                + "\n\n" + limitsAndLog,
            to: configFile)
    }

    /// Returns a config file that listens on a port the kernel picks on 127.0.0.1 with two event loops, with TLS, a
    /// key list, admin credentials, a state directory and FedAvg's initial model and `update_lim`.
    static func configText(
        certificate: String, privateKey: String, keyList: String, credentials: String, stateDirectory: String,
        initialModel: String, updateLimit: Int
    ) -> String {
        """
        [server]
        listen = "127.0.0.1:0"
        event_loops = 2

        [tls]
        certificate = "\(certificate)"
        private_key = "\(privateKey)"

        [workers]
        key_list = "\(keyList)"

        [admin]
        credentials_file = "\(credentials)"

        [state]
        directory = "\(stateDirectory)"

        [fedavg]
        initial_model = "\(initialModel)"
        update_lim = \(updateLimit)
        """
    }

    func publicKeyHex(_ index: Int) throws -> String {
        try Self.publicKeyHex(workerKeyFiles[index])
    }

    /// Removes the certificate and key from the config file, for a server launched with `--plain-http` behind a
    /// test proxy that reads the requests.
    func removeTLSFiles() throws {
        let config = try String(contentsOfFile: configFile, encoding: .utf8)
        let plainConfig = config.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("certificate = ") && !$0.hasPrefix("private_key = ") }.joined(separator: "\n")
        try Self.write(plainConfig, to: configFile)
    }

    static func publicKeyHex(_ privateKeyFile: String) throws -> String {
        try Ed25519KeyFile.readPublicKey(at: Ed25519KeyFile.publicKeyPath(forPrivateKeyAt: privateKeyFile)).hexString
    }

    /// Starts `dcf-serverd run --config <file>` plus `arguments` and waits until it listens.
    func launch(_ arguments: [String] = [], environment: [String: String] = [:], logName: String = "serverd.log")
        throws -> RunningServerd
    {
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"), arguments: ["run", "--config", configFile] + arguments,
            environment: environment, logFile: directory.file(logName))
        let line = try process.waitForLine(containing: "address=127.0.0.1:", timeout: 60)
        guard let range = line.range(of: #"address=127\.0\.0\.1:(\d+)"#, options: .regularExpression),
            let port = Int(line[range].split(separator: ":").last ?? "")
        else {
            throw ServerdTestError("no port in the listening line: \(line)")
        }
        return RunningServerd(process: process, port: port, caFile: certificates.ca.certificateFile)
    }

    func remove() {
        certificates.remove()
        directory.remove()
    }

    /// A two-tensor model with the layout `ServerdFixture.update(from:)` matches.
    static func initialModel() throws -> Data {
        var writer = SafeTensorsWriter(metadata: [:])
        try writer.add(name: "layer.weight", shape: [2, 2], values: [Float](repeating: 0, count: 4))
        try writer.add(name: "layer.bias", shape: [2], values: [Float](repeating: 0, count: 2))
        return writer.serialize()
    }

    /// A valid update trained from `version`.
    static func update(from version: ModelVersion) throws -> Data {
        let metadata = UpdateMetadata(numExamples: 10, baseVersion: version, metrics: ["loss": 0.5])
        var writer = SafeTensorsWriter(metadata: metadata.safetensorsMetadata)
        try writer.add(name: "layer.weight", shape: [2, 2], values: [Float]([1, 2, 3, 4]))
        try writer.add(name: "layer.bias", shape: [2], values: [Float](repeating: 1, count: 2))
        return writer.serialize()
    }

    static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Writes a file with mode 0600, because the server warns at start about a secret that others may read.
    static func writeSecret(_ text: String, to path: String) throws {
        try write(text, to: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }
}
