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

    /// Reads every setting, then throws one `AgentSettingsError` that lists every invalid value on a line of its
    /// own, after the file and line or the command-line option that set it.
    init(_ config: Configuration) throws {
        var problems = SettingProblems(config)
        let server = config.string("agent.server")
        let url = Self.serverURL(server, problems: &problems)
        let keyPath = config.string("agent.key")
        let caFile = config.optionalString("agent.ca_file")
        let clientCertificate = config.optionalString("agent.client_certificate")
        let clientKey = config.optionalString("agent.client_key")
        if (clientCertificate == nil) != (clientKey == nil) {
            problems.add(
                clientCertificate == nil ? "agent.client_key" : "agent.client_certificate",
                "agent.client_certificate and agent.client_key go together; set both (--client-certificate and "
                    + "--client-key) or neither")
        }
        Self.checkReadable(
            key: keyPath, caFile: caFile, clientCertificate: clientCertificate, clientKey: clientKey,
            problems: &problems)
        worker = DCFWorkerConfiguration(
            serverURL: url ?? URL(fileURLWithPath: "/"), trustedCAFile: caFile, privateKeyFile: keyPath)
        worker.clientCertificateFile = clientCertificate
        worker.clientPrivateKeyFile = clientKey
        worker.uploadCompression = config.string("agent.upload_compression") == "deflate" ? .deflate : .none
        worker.updateRetryWindow = config.duration("agent.update_retry_window")
        // The schema accepts only the names of `RecordLayer` cases.
        worker.tlsRecordLayer = TLSConfiguration.RecordLayer(rawValue: config.string("agent.tls_record_layer")) ?? .dcf
        maxRounds = config.integer("agent.max_rounds")
        retryDelay = config.duration("agent.retry_delay")

        trainerKind = config.string("trainer.kind")
        command = config.optionalString("trainer.command")
        if trainerKind == "command" && (command ?? "").isEmpty {
            problems.add(
                "trainer.kind", "trainer.kind is command but trainer.command is not set; pass --command \"...\"")
        }
        commandTimeout = config.duration("trainer.command_timeout")
        // URL(fileURLWithPath:) turns "" into the current directory, whose round-* directories each round deletes.
        if config.string("trainer.work_dir").isEmpty {
            problems.add(
                "trainer.work_dir",
                "trainer.work_dir is empty; set it to a directory for the training command's files, such as "
                    + "/var/lib/dcf-agent/site1 (--work-dir)")
        }
        workDirectory = URL(fileURLWithPath: config.string("trainer.work_dir"))

        let layers = config.string("builtin.layers")
        layerSizes = Self.layerSizes(layers) ?? []
        if layerSizes.isEmpty { problems.add("builtin.layers", "builtin.layers: " + Self.layerSizesProblem(layers)) }
        options = TrainingOptions(
            learningRate: Float(config.double("builtin.learning_rate")), epochs: config.integer("builtin.epochs"),
            batchSize: config.integer("builtin.batch_size"), seed: UInt64(config.integer("builtin.seed")))
        options.progressInterval = 2_000
        dataDirectory = config.string("data.directory")
        selection = Self.dataSelection(config, problems: &problems)

        logLevel = LogLevel(name: config.string("log.level")) ?? .info
        progress = ProgressStyle(setting: config.string("log.progress"))
        if !problems.lines.isEmpty { throw AgentSettingsError(problems.lines.joined(separator: "\n")) }
    }

    /// Returns `agent.server` as a URL, or nil after recording why it is not a server address.
    private static func serverURL(_ server: String, problems: inout SettingProblems) -> URL? {
        let name = "agent.server"
        do {
            _ = try ServerAddress(parsing: server)
        } catch .credentials {
            // The address is left out, so that the password reaches neither a terminal nor a log.
            problems.add(
                name,
                "agent.server contains credentials, which dcf-agent does not use because it signs its requests with "
                    + "agent.key; remove them and write https://host:port")
            return nil
        } catch .path, .queryOrFragment {
            problems.add(
                name,
                "agent.server \"\(server)\" has a path, query or fragment; dcf routes live at the root, so write only "
                    + "https://host:port")
            return nil
        } catch .portOutOfRange(let port) {
            problems.add(name, "agent.server \"\(server)\": port \(port) is outside 1-65535")
            return nil
        } catch {
            let hint: String? = if case .host(let hint) = error { hint } else { nil }
            let expected = hint ?? "expected an https:// URL such as https://fl.example.org:8443"
            problems.add(name, "agent.server \"\(server)\" is not a server address; \(expected)")
            return nil
        }
        guard let url = URL(string: server) else {
            problems.add(name, "agent.server \"\(server)\" is not a server address; expected https://host:port")
            return nil
        }
        return url
    }

    /// Records each of the key, CA and client certificate settings that is empty or names a file that does not
    /// exist or is not readable.
    static func checkReadable(
        key: String, caFile: String?, clientCertificate: String?, clientKey: String?, problems: inout SettingProblems
    ) {
        if key.isEmpty {
            problems.add("agent.key", "agent.key is empty; name this site's key file, which dcf-agent keygen --output FILE makes")
        } else if !FileManager.default.isReadableFile(atPath: key) {
            problems.add(
                "agent.key",
                "agent.key: file \"\(key)\" does not exist or is not readable; dcf-agent keygen --output FILE makes one")
        }
        let optionalFiles = [
            ("agent.ca_file", caFile), ("agent.client_certificate", clientCertificate), ("agent.client_key", clientKey),
        ]
        for case (let setting, let path?) in optionalFiles {
            if path.isEmpty {
                problems.add(setting, "\(setting) is empty; name a PEM file, or leave the setting out")
            } else if !FileManager.default.isReadableFile(atPath: path) {
                problems.add(setting, "\(setting): file \"\(path)\" does not exist or is not readable")
            }
        }
    }

    /// Builds the site's Fashion-MNIST selection from `[data]`, recording each invalid setting with its valid values.
    static func dataSelection(_ config: Configuration, problems: inout SettingProblems) -> SiteDataSelection {
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
            problems.add(
                "data.shard",
                "data.shard \"\(shard)\" is not a shard: write index/count with indexes from 0, so the shards of "
                    + "\(count) are 0/\(count) to \(count - 1)/\(count)")
        }
        if let classes = config.optionalString("data.classes") {
            do {
                try selection.setClasses(classes)
                // Checked here, because the dataset check comes only after the data files are read.
                if let bad = selection.classes?.sorted().first(where: { $0 >= FashionMNIST.classCount }) {
                    problems.add(
                        "data.classes",
                        "data.classes \"\(classes)\": class \(bad) does not exist; Fashion-MNIST has classes 0-"
                            + "\(FashionMNIST.classCount - 1)")
                }
            } catch {
                problems.add("data.classes", "data.classes \"\(classes)\": \(error)")
            }
        }
        let maxExamples = config.integer("data.max_examples")
        if maxExamples == 1 {
            problems.add("data.max_examples", "data.max_examples is 1; use 0 for no cap, or at least 2")
        }
        selection.maxExamples = maxExamples <= 1 ? nil : maxExamples
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

/// The invalid settings found while reading a configuration, each line prefixed with where its value was set.
struct SettingProblems {
    private let config: Configuration
    private(set) var lines: [String] = []

    init(_ config: Configuration) {
        self.config = config
    }

    /// Records `message` about setting `name`, after the file and line or the command-line option that set it;
    /// a default value gets no prefix. The option is named without its value, which may hold a password.
    mutating func add(_ name: String, _ message: String) {
        switch config.setting(name).source {
        case .defaultValue: lines.append(message)
        case .commandLine(let argument): lines.append("command line \(argument.prefix { $0 != "=" }): \(message)")
        case let source: lines.append("\(source): \(message)")
        }
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
