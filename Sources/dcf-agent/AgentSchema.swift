// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import DCFTransport
import DCFTraining

/// Every setting of `dcf-agent run`: the config file keys, their command-line flags and help.
enum AgentSchema {
    static let schema = ConfigSchema(
        agent + trainer + builtin + data + log,
        sectionHelp: [
            "agent": "The server to join and this site's identity.",
            "trainer": "Which trainer runs each round.",
            "builtin": "The built-in MLP trainer.",
            "data": "This site's part of Fashion-MNIST, for the built-in trainer.",
            "log": "Logging and progress.",
        ])

    private static let agent = [
        ConfigOption.required(
            "agent", "server", type: .string, flag: "server",
            help: "URL of dcf-serverd, e.g. https://fl.example.org:8443."),
        ConfigOption(
            "agent", "ca_file", type: .string, default: nil, flag: "ca-file",
            help: "PEM file of the CA that signed the server certificate; the system store when unset."),
        ConfigOption(
            "agent", "client_certificate", type: .string, default: nil, flag: "client-certificate",
            help: "PEM file of this site's TLS client certificate chain, for a server with tls.client_ca set."),
        ConfigOption(
            "agent", "client_key", type: .string, default: nil, flag: "client-key",
            help: "PEM file of the private key of client_certificate."),
        ConfigOption.required(
            "agent", "key", type: .string, flag: "key",
            help: "This site's Ed25519 private key file (hex seed), as dcf-agent keygen writes it; run does not read the "
                + ".pub file that keygen writes beside it."),
        ConfigOption(
            "agent", "max_rounds", type: .integer(0...1_000_000), default: .integer(0), unit: "rounds",
            flag: "max-rounds", help: "Exit after sending this many updates; 0 runs until stopped."),
        ConfigOption(
            "agent", "tls_record_layer", type: .choice(TLSConfiguration.RecordLayer.allCases.map(\.rawValue)),
            default: .string("dcf"),
            help: "Code that seals and opens records after a TLS 1.3 handshake: dcf's own, which copies each byte "
                + "once less, or openssl. The handshake and the ciphers are OpenSSL's either way."),
        ConfigOption(
            "agent", "upload_compression", type: .choice(["none", "deflate"]), default: .string("none"),
            flag: "upload-compression", help: "Compress updates before sending them."),
        ConfigOption(
            "agent", "update_retry_window", type: .duration(.zero...Duration.seconds(86_400 * 7)),
            default: .duration(.seconds(1800)), flag: "update-retry-window",
            help: "How long a trained update that the server does not take (no connection, a restart, 503) is kept "
                + "and sent again with backoff, from its first failed attempt; after that the round fails and the "
                + "model is trained again. 0 sends it once."),
        ConfigOption(
            "agent", "retry_delay", type: .duration(.milliseconds(10)...Duration.seconds(3600)),
            default: .duration(.seconds(5)),
            help: "Wait after a failed round before training again; doubles on each failure up to 32 times this."),
    ]

    private static let trainer = [
        ConfigOption(
            "trainer", "kind", type: .choice(["builtin", "command"]), default: .string("builtin"), flag: "trainer",
            help: "builtin trains the MLP below; command runs the site's own training command each round."),
        ConfigOption(
            "trainer", "command", type: .string, default: nil, flag: "command",
            help: "Shell command run each round with kind = command; see docs/external-trainer.md."),
        ConfigOption(
            "trainer", "command_timeout", type: .duration(.seconds(1)...Duration.seconds(86_400 * 7)),
            default: .duration(.seconds(3600)), flag: "command-timeout",
            help: "The command is killed after this time and the round is retried."),
        ConfigOption(
            "trainer", "work_dir", type: .string, default: .string("/var/lib/dcf-agent"), flag: "work-dir",
            help: "Directory for the per-round files of the training command."),
    ]

    private static let builtin = [
        ConfigOption(
            "builtin", "layers", type: .string, default: .string("784,128,10"), flag: "layers",
            help: "Layer sizes of the MLP, input first; must match the server's initial model."),
        ConfigOption(
            "builtin", "epochs", type: .integer(1...10_000), default: .integer(1), unit: "epochs", flag: "epochs",
            help: "Passes over the local training data per round."),
        ConfigOption(
            "builtin", "batch_size", type: .integer(1...1_000_000), default: .integer(32), unit: "examples",
            flag: "batch-size", help: "Examples per SGD step."),
        ConfigOption(
            "builtin", "learning_rate", type: .float(1e-9...100), default: .float(0.05), flag: "learning-rate",
            help: "SGD step size."),
        ConfigOption(
            "builtin", "seed", type: .integer(0...Int64.max), default: .integer(1), flag: "seed",
            help: "Seed of the data shuffles; every site of a federation should use the same one."),
    ]

    private static let data = [
        ConfigOption(
            "data", "directory", type: .string, default: .string(FashionMNIST.defaultDirectory), flag: "data-dir",
            help: "Directory with the Fashion-MNIST gzip IDX files (Debian package dataset-fashion-mnist)."),
        ConfigOption(
            "data", "shard", type: .string, default: .string("0/1"), flag: "shard",
            help: "IID shard of the training set as index/count, e.g. 2/4 for the third of four parts."),
        ConfigOption(
            "data", "classes", type: .string, default: nil, flag: "classes",
            help: "Comma-separated classes (0-9) this site sees, for non-IID federations; all when unset."),
        ConfigOption(
            "data", "max_examples", type: .integer(0...1_000_000), default: .integer(0), unit: "examples",
            flag: "max-examples",
            help: "Cap on this site's training examples, and on the test examples it evaluates on with held_out = "
                + "test, for quick runs; 0 for no cap, else at least 2."),
        ConfigOption(
            "data", "held_out", type: .choice(["test", "shard"]), default: .string("test"), flag: "held-out",
            help: "Evaluate on the test split (filtered to this site's classes) or on a tenth of the shard."),
    ]

    private static let log = [
        ConfigOption(
            "log", "level", type: .choice(LogLevel.allCases.map(\.description)), default: .string("info"),
            flag: "log-level", help: "Lowest level written to standard error."),
        ConfigOption(
            "log", "progress", type: .choice(["auto", "tty", "plain", "off"]), default: .string("auto"),
            flag: "progress",
            help: "Training and upload progress: a live line on a terminal (tty), one line per quarter (plain), "
                + "or none; auto picks tty when standard error is a terminal and none otherwise, so a log file or "
                + "the journal holds only log lines."),
    ]
}
