// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import DCFTransport
import DCFTraining
import DCFWorker
import Foundation

/// The typed settings of `dcf-agent run`, built from the merged config file and command line.
struct AgentSettings {
    var worker: DCFWorkerConfiguration
    var maxRounds: Int
    var retryDelay: Duration
    var trainerKind: String
    var command: String?
    var commandTimeout: Duration
    var workDirectory: URL
    var layerSizes: [Int]
    var options: TrainingOptions
    var dataDirectory: String
    var selection: SiteDataSelection
    var logLevel: LogLevel
    var progress: ProgressStyle

    init(_ config: Configuration) throws {
        let server = config.string("agent.server")
        do {
            _ = try ServerAddress(parsing: server)
        } catch .credentials {
            // The address is left out, so that the password reaches neither a terminal nor a log.
            throw AgentSettingsError(
                "agent.server contains credentials, which dcf-agent does not use because it signs its requests with "
                    + "agent.key; remove them and write https://host:port")
        } catch .path, .queryOrFragment {
            throw AgentSettingsError(
                "agent.server \"\(server)\" has a path, query or fragment; dcf routes live at the root, so write only "
                    + "https://host:port")
        } catch .portOutOfRange(let port) {
            throw AgentSettingsError("agent.server \"\(server)\": port \(port) is outside 1-65535")
        } catch {
            let hint: String? = if case .host(let hint) = error { hint } else { nil }
            let expected = hint ?? "expected an https:// URL such as https://fl.example.org:8443"
            throw AgentSettingsError("agent.server \"\(server)\" is not a server address; \(expected)")
        }
        guard let url = URL(string: server) else {
            throw AgentSettingsError("agent.server \"\(server)\" is not a server address; expected https://host:port")
        }
        let keyPath = config.string("agent.key")
        let clientCertificate = config.optionalString("agent.client_certificate")
        let clientKey = config.optionalString("agent.client_key")
        guard (clientCertificate == nil) == (clientKey == nil) else {
            throw AgentSettingsError(
                "agent.client_certificate and agent.client_key go together; set both (--client-certificate and "
                    + "--client-key) or neither")
        }
        try Self.checkReadable(
            key: keyPath, caFile: config.optionalString("agent.ca_file"), clientCertificate: clientCertificate,
            clientKey: clientKey)
        worker = DCFWorkerConfiguration(
            serverURL: url, trustedCAFile: config.optionalString("agent.ca_file"), privateKeyFile: keyPath)
        worker.clientCertificateFile = clientCertificate
        worker.clientPrivateKeyFile = clientKey
        worker.uploadCompression = config.string("agent.upload_compression") == "deflate" ? .deflate : .none
        // The schema accepts only the names of `RecordLayer` cases.
        worker.tlsRecordLayer = TLSConfiguration.RecordLayer(rawValue: config.string("agent.tls_record_layer")) ?? .dcf
        maxRounds = config.integer("agent.max_rounds")
        retryDelay = config.duration("agent.retry_delay")

        trainerKind = config.string("trainer.kind")
        command = config.optionalString("trainer.command")
        if trainerKind == "command" && (command ?? "").isEmpty {
            throw AgentSettingsError("trainer.kind is command but trainer.command is not set; pass --command \"...\"")
        }
        commandTimeout = config.duration("trainer.command_timeout")
        // URL(fileURLWithPath:) turns "" into the current directory, whose round-* directories each round deletes.
        guard !config.string("trainer.work_dir").isEmpty else {
            throw AgentSettingsError(
                "trainer.work_dir is empty; set it to a directory for the training command's files, such as "
                    + "/var/lib/dcf-agent/site1 (--work-dir)")
        }
        workDirectory = URL(fileURLWithPath: config.string("trainer.work_dir"))

        guard let sizes = Self.layerSizes(config.string("builtin.layers")) else {
            throw AgentSettingsError("builtin.layers: " + Self.layerSizesProblem(config.string("builtin.layers")))
        }
        layerSizes = sizes
        options = TrainingOptions(
            learningRate: Float(config.double("builtin.learning_rate")), epochs: config.integer("builtin.epochs"),
            batchSize: config.integer("builtin.batch_size"), seed: UInt64(config.integer("builtin.seed")))
        options.progressInterval = 2_000
        dataDirectory = config.string("data.directory")
        selection = try Self.dataSelection(config)

        logLevel = LogLevel(name: config.string("log.level")) ?? .info
        progress = ProgressStyle(setting: config.string("log.progress"))
    }

    /// Checks that the key, CA and client certificate files exist and are readable, and throws one error that
    /// lists every file that is not, one line each.
    static func checkReadable(key: String, caFile: String?, clientCertificate: String?, clientKey: String?) throws {
        var problems: [String] = []
        if !FileManager.default.isReadableFile(atPath: key) {
            problems.append(
                "agent.key: file \"\(key)\" does not exist or is not readable; dcf-agent keygen --output FILE makes one")
        }
        let optionalFiles = [
            ("agent.ca_file", caFile), ("agent.client_certificate", clientCertificate), ("agent.client_key", clientKey),
        ]
        for case (let setting, let path?) in optionalFiles where !FileManager.default.isReadableFile(atPath: path) {
            problems.append("\(setting): file \"\(path)\" does not exist or is not readable")
        }
        if !problems.isEmpty { throw AgentSettingsError(problems.joined(separator: "\n")) }
    }

    /// Builds the site's Fashion-MNIST selection from `[data]`, with errors that name the setting and its valid values.
    static func dataSelection(_ config: Configuration) throws -> SiteDataSelection {
        var selection = SiteDataSelection()
        selection.seed = UInt64(config.integer("builtin.seed"))
        let shard = config.string("data.shard")
        do {
            try selection.setShard(shard)
        } catch {
            // The example uses the count the operator wrote when it is a usable one.
            let parts = shard.split(separator: "/", omittingEmptySubsequences: false)
            let written = parts.count == 2 ? Int(parts[1]) : nil
            let count = written.flatMap { $0 >= 2 ? $0 : nil } ?? 4
            throw AgentSettingsError(
                "data.shard \"\(shard)\" is not a shard: write index/count with indexes from 0, so the shards of "
                    + "\(count) are 0/\(count) to \(count - 1)/\(count)")
        }
        if let classes = config.optionalString("data.classes") {
            do {
                try selection.setClasses(classes)
            } catch {
                throw AgentSettingsError("data.classes \"\(classes)\": \(error)")
            }
            // Checked here, because the dataset check comes only after the data files are read.
            if let bad = selection.classes?.sorted().first(where: { $0 >= FashionMNIST.classCount }) {
                throw AgentSettingsError(
                    "data.classes \"\(classes)\": class \(bad) does not exist; Fashion-MNIST has classes 0-"
                        + "\(FashionMNIST.classCount - 1)")
            }
        }
        let maxExamples = config.integer("data.max_examples")
        guard maxExamples != 1 else {
            throw AgentSettingsError("data.max_examples is 1; use 0 for no cap, or at least 2")
        }
        selection.maxExamples = maxExamples == 0 ? nil : maxExamples
        selection.heldOut = config.string("data.held_out") == "test" ? .testSplit : .fractionOfShard(0.1)
        return selection
    }

    /// Parses comma-separated layer sizes such as `784,128,10`; nil unless there are at least two, all positive.
    static func layerSizes(_ text: String) -> [Int]? {
        let sizes = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard sizes.count >= 2, sizes.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        return sizes.compactMap { $0 }
    }

    /// Describes what is wrong with layer sizes that `layerSizes(_:)` rejected.
    static func layerSizesProblem(_ text: String) -> String {
        "\"\(text)\" is not a comma-separated list of at least two positive sizes, e.g. 784,128,10"
    }
}

/// An invalid agent setting; exits with `EX_CONFIG` (78).
struct AgentSettingsError: Error, CustomStringConvertible, ExitCodeProviding {
    let description: String

    init(_ description: String) {
        self.description = description
    }

    var exitCode: ExitCode { .config }
}
