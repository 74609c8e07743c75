// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation

/// A server-like schema covering every value type.
enum Fixtures {
    static let schema = ConfigSchema(
        [
            .required("tls", "certificate", type: .string, help: "PEM file holding the server certificate chain."),
            ConfigOption("server", "host", type: .string, default: .string("127.0.0.1"), help: "Address to listen on."),
            ConfigOption(
                "server", "port", type: .integer(1...65535), default: .integer(8443), flag: "port",
                help: "TCP port the server listens on."
            ),
            ConfigOption(
                "server", "plain-http", type: .boolean, default: .boolean(false), help: "Serve HTTP without TLS."),
            ConfigOption(
                "server", "hold", type: .duration(.seconds(1)...Duration.seconds(600)),
                default: .duration(.seconds(50)),
                help: "How long a long poll is held before it returns no change."
            ),
            ConfigOption(
                "limits", "max-body", type: .byteCount(), default: .byteCount(64 << 20), help: "Largest request body."),
            ConfigOption(
                "limits", "connections", type: .integer(1...1_000_000), default: .integer(10_000), unit: "connections",
                help: "Open connections accepted at once."
            ),
            ConfigOption(
                "strategy", "learning-rate", type: .float(0...10), default: .float(0.1), help: "Server learning rate."),
            ConfigOption(
                "strategy", "mode", type: .choice(["fedavg", "fedprox"]), default: .string("fedavg"), help: "Strategy."),
            ConfigOption("auth", "keys", type: .stringArray, default: .array([]), help: "Worker public key files."),
            ConfigOption("auth", "weights", type: .numberArray, default: .array([]), help: "Per-worker weights."),
            ConfigOption("auth", "admin-file", type: .string, default: nil, help: "Admin credentials file."),
            ConfigOption(
                "log", "level", type: .choice(["debug", "info", "warning"]), default: .string("info"),
                flag: "log-level",
                help: "Lowest log level written."
            ),
        ],
        sectionHelp: ["server": "Listening socket.", "limits": "Resource limits."]
    )

    static let tool = CommandLineTool(
        name: "dcf-test",
        version: "1.2.3",
        summary: "Test tool.",
        subcommands: [
            Subcommand(name: "run", summary: "Run the server.", schema: schema),
            Subcommand(
                name: "keygen", summary: "Write a key pair.",
                options: [
                    .value("output", valueName: "file", default: "worker.key", help: "File the private key goes to."),
                    .flag("force", help: "Overwrite an existing file."),
                ],
                argumentsUsage: "[<name>...]"
            ),
        ],
        defaultSubcommand: "run"
    )
}

/// A temporary directory removed when the value is released.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/dcf-support-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        path = String(cString: created)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) throws -> String {
        let target = file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: target))
        return target
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
