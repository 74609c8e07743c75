// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

@Suite struct ServerdConfigTests {
    struct BadConfig: Sendable, CustomStringConvertible {
        let name: String
        /// The start of the fixture's config line to replace.
        let linePrefix: String
        let replacement: String
        /// Texts the error output must contain, besides the file name and line.
        let expected: [String]
        var description: String { name }
    }

    static let cases = [
        BadConfig(
            name: "wrong type", linePrefix: "event_loops =", replacement: "event_loops = \"many\"",
            expected: ["event_loops", "expected an integer", "many"]),
        BadConfig(
            name: "out of range", linePrefix: "update_lim =", replacement: "update_lim = 0",
            expected: ["update_lim", "1-1000000", "found 0"]),
        BadConfig(
            name: "unknown key", linePrefix: "long_poll_hold =", replacement: "long_pol_hold = \"5s\"",
            expected: ["long_pol_hold", "long_poll_hold"]),
        BadConfig(
            name: "receive buffer below minimum", linePrefix: "long_poll_hold =",
            replacement: "receive_buffer = \"16KiB\"", expected: ["receive_buffer", "at least 64KiB", "16KiB"]),
        BadConfig(
            name: "missing certificate file", linePrefix: "certificate =",
            replacement: "certificate = \"/nonexistent/server.crt\"",
            expected: ["tls.certificate", "/nonexistent/server.crt", "does not exist"]),
        // A listen address the socket cannot bind is a config error (78, which systemd does not restart), not an
        // unavailable service (69) reported by inet_pton.
        BadConfig(
            name: "listen on a host name", linePrefix: "listen =", replacement: "listen = \"localhost:8443\"",
            expected: ["server.listen", "\"localhost\" is not an IPv4 or IPv6 address", "[::]:8443"]),
        BadConfig(
            name: "listen without the closing bracket", linePrefix: "listen =", replacement: "listen = \"[::1\"",
            expected: ["server.listen = \"[::1\"", "]:port"]),
        BadConfig(
            name: "listen on an IPv6 address in brackets without a port", linePrefix: "listen =",
            replacement: "listen = \"[::1]\"", expected: ["server.listen = \"[::1]\"", "has no port", "[::1]:8443"]),
        BadConfig(
            name: "listen on an IPv6 address without a port", linePrefix: "listen =",
            replacement: "listen = \"::1\"", expected: ["server.listen = \"::1\"", "has no port", "[::1]:8443"]),
        BadConfig(
            name: "listen port out of range", linePrefix: "listen =", replacement: "listen = \"127.0.0.1:70000\"",
            expected: ["server.listen", "70000 is not in 0-65535"]),
        BadConfig(
            name: "body rate not a size", linePrefix: "long_poll_hold =",
            replacement: "min_body_rate = \"fast\"", expected: ["min_body_rate", "fast"]),
        BadConfig(
            name: "negative per-address limit", linePrefix: "long_poll_hold =",
            replacement: "max_connections_per_address = -1",
            expected: ["max_connections_per_address", "0-1000000", "found -1"]),
        BadConfig(
            name: "per-address limit not an integer", linePrefix: "long_poll_hold =",
            replacement: "max_connections_per_address = \"many\"",
            expected: ["max_connections_per_address", "expected an integer", "many"]),
        BadConfig(
            name: "negative per-network limit", linePrefix: "long_poll_hold =",
            replacement: "max_connections_per_network = -1",
            expected: ["max_connections_per_network", "0-1000000", "found -1"]),
        BadConfig(
            name: "first-byte timeout below minimum", linePrefix: "long_poll_hold =",
            replacement: "first_byte_timeout = \"10ms\"", expected: ["first_byte_timeout", "at least 100ms", "10ms"]),
        BadConfig(
            name: "write timeout below minimum", linePrefix: "long_poll_hold =",
            replacement: "write_timeout = \"0s\"", expected: ["write_timeout", "0s"]),
        // Each value is in range, but together they are not; the error names both lines.
        BadConfig(
            name: "min_updates above update_lim", linePrefix: "update_lim =",
            replacement: "min_updates = 2\nupdate_lim = 1",
            expected: ["fedavg.min_updates = 2", "fedavg.update_lim = 1", "at most 1"]),
    ]

    @Test(arguments: cases)
    func configErrorNamesFileLineAndKey(_ bad: BadConfig) throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        var lines = try String(contentsOfFile: fixture.configFile, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let index = try #require(lines.firstIndex { $0.hasPrefix(bad.linePrefix) })
        lines[index] = bad.replacement
        try ServerdFixture.write(lines.joined(separator: "\n"), to: fixture.configFile)

        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"), arguments: ["run", "--config", fixture.configFile],
            logFile: fixture.directory.file("bad.log"))
        let status = process.waitForExit()
        let output = process.output
        #expect(status == 78, "output: \(output)")
        #expect(output.contains("serverd.conf:\(index + 1):"), "expected serverd.conf:\(index + 1) in: \(output)")
        for text in bad.expected {
            #expect(output.contains(text), "expected \(text) in: \(output)")
        }
        #expect(!output.contains("listening"))
    }

    /// Missing files for several TLS settings: the error lists each setting and path, not only the first.
    @Test func missingTLSFilesAreAllNamed() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let missing = fixture.directory.file("missing")
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"),
            arguments: [
                "run", "--config", fixture.configFile, "--tls-certificate", "\(missing)/server.pem",
                "--tls-key", "\(missing)/server.key", "--tls-client-ca", "\(missing)/client-ca.pem",
            ],
            logFile: fixture.directory.file("tls-files.log"))
        #expect(process.waitForExit() == 78, "\(process.output)")
        #expect(process.output.contains("tls.certificate = \"\(missing)/server.pem\""), "\(process.output)")
        #expect(process.output.contains("tls.private_key = \"\(missing)/server.key\""), "\(process.output)")
        #expect(process.output.contains("tls.client_ca = \"\(missing)/client-ca.pem\""), "\(process.output)")
        #expect(!process.output.contains("listening"), "\(process.output)")
    }

    /// Values that pass the file check but are wrong in content or together: one start lists every one with the
    /// line that set it.
    @Test func invalidValuesAreAllListed() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        var lines = try String(contentsOfFile: fixture.configFile, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let listen = try #require(lines.firstIndex { $0.hasPrefix("listen =") })
        lines[listen] = "listen = \"localhost:8443\""
        let limit = try #require(lines.firstIndex { $0.hasPrefix("update_lim =") })
        lines[limit] = "update_lim = 1\nmin_updates = 3"
        try ServerdFixture.write(lines.joined(separator: "\n"), to: fixture.configFile)

        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"),
            arguments: ["run", "--config", fixture.configFile, "--tls-key", fixture.directory.file("none.key")],
            logFile: fixture.directory.file("values.log"))
        #expect(process.waitForExit() == 78, "\(process.output)")
        let output = process.output
        #expect(output.contains("serverd.conf:\(listen + 1): server.listen"), "\(output)")
        #expect(output.contains("serverd.conf:\(limit + 2): fedavg.min_updates = 3"), "\(output)")
        #expect(output.contains("command line --tls-key="), "\(output)")
        #expect(!output.contains("listening"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: fixture.stateDirectory + "/models"))
    }

    /// Missing files for a TLS setting and for the other settings that name a file: the error lists every one,
    /// each with its setting and path, not only the first.
    @Test func missingFilesOfAllSettingsAreNamed() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let missing = fixture.directory.file("missing")
        let expected = [
            "tls.private_key = \"\(missing)/server.key\"",
            "workers.key_list = \"\(missing)/workers.keys\"",
            "admin.credentials_file = \"\(missing)/admin.credentials\"",
            "fedavg.initial_model = \"\(missing)/model.safetensors\"",
        ]
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"),
            arguments: [
                "run", "--config", fixture.configFile, "--tls-key", "\(missing)/server.key",
                "--worker-keys", "\(missing)/workers.keys", "--admin-credentials", "\(missing)/admin.credentials",
                "--initial-model", "\(missing)/model.safetensors",
            ],
            logFile: fixture.directory.file("missing-files.log"))
        #expect(process.waitForExit() == 78, "\(process.output)")
        for text in expected {
            #expect(process.output.contains(text), "expected \(text) in: \(process.output)")
        }
        #expect(!process.output.contains("listening"), "\(process.output)")
    }

    /// A path with a newline stays on its own line of the listing, with the newline written as `\n`.
    @Test func missingFileWithNewlineStaysOnOneLine() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let path = fixture.directory.file("missing") + "/work\ners.keys"
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"),
            arguments: ["run", "--config", fixture.configFile, "--worker-keys", path],
            logFile: fixture.directory.file("newline-file.log"))
        #expect(process.waitForExit() == 78, "\(process.output)")
        #expect(process.output.contains("missing/work\\ners.keys"), "\(process.output)")
        #expect(!process.output.split(separator: "\n").contains { $0.hasPrefix("ers.keys") }, "\(process.output)")
    }

    /// Directories named where files belong: the error lists each setting with its path, as for missing files,
    /// and not a Foundation error for the first one read.
    @Test func directoriesNamedAsFilesAreListed() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let keys = fixture.directory.file("keys-directory")
        let credentials = fixture.directory.file("credentials-directory")
        for directory in [keys, credentials] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"),
            arguments: ["run", "--config", fixture.configFile, "--worker-keys", keys, "--admin-credentials", credentials],
            logFile: fixture.directory.file("directories.log"))
        #expect(process.waitForExit() == 78, "\(process.output)")
        for text in ["workers.key_list = \"\(keys)\"", "admin.credentials_file = \"\(credentials)\""] {
            #expect(process.output.contains(text + ": it is a directory"), "expected \(text) in: \(process.output)")
        }
        #expect(!process.output.contains("NSCocoaErrorDomain"), "\(process.output)")
    }

    /// The initial model is read only while the state directory contains no version, so a restart after the file
    /// was deleted, say from a cleaned temporary directory, resumes at the stored version.
    @Test func restartWithoutInitialModelFile() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let model = fixture.directory.file("initial.safetensors")
        let first = try fixture.launch(logName: "first.log")
        #expect(try first.stop() == 0)
        try FileManager.default.removeItem(atPath: model)

        let second = try fixture.launch(logName: "second.log")
        defer { second.process.terminate(signal: SIGKILL) }
        #expect(try second.status().modelVersion == 1)
    }

    @Test func unreadablePEMNamesBothKeys() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        try ServerdFixture.write("not a certificate\n", to: fixture.certificateFile)
        let freshState = fixture.directory.file("fresh-state")
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"),
            arguments: ["run", "--config", fixture.configFile, "--state-dir", freshState],
            logFile: fixture.directory.file("pem.log"))
        #expect(process.waitForExit() == 78)
        #expect(!FileManager.default.fileExists(atPath: freshState), "a failed start created \(freshState)")
        #expect(process.output.contains("tls.certificate = \"\(fixture.certificateFile)\""), "\(process.output)")
        #expect(process.output.contains("serverd.conf:"), "\(process.output)")
    }

    /// An initial model that cannot be used: the file the option names, and whether it is a directory.
    static let badInitialModels: [(name: String, isDirectory: Bool, expected: String)] = [
        ("not-a-model.safetensors", false, "not a safetensors file"),
        ("models-dir", true, "it is a directory"),
    ]

    @Test(arguments: badInitialModels)
    func badInitialModelLeavesNoStateDirectory(_ name: String, _ isDirectory: Bool, _ expected: String) throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let model = fixture.directory.file(name)
        if isDirectory {
            try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        } else {
            try ServerdFixture.write("-----BEGIN CERTIFICATE-----\n", to: model)
        }
        let freshState = fixture.directory.file("fresh-state")
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"),
            arguments: ["run", "--config", fixture.configFile, "--state-dir", freshState, "--initial-model", model],
            logFile: fixture.directory.file("model.log"))
        #expect(process.waitForExit() == 78)
        #expect(process.output.contains("\(model): "), "\(process.output)")
        #expect(process.output.contains(expected), "\(process.output)")
        #expect(!process.output.contains("update"), "\(process.output)")
        #expect(!FileManager.default.fileExists(atPath: freshState), "a failed start created \(freshState)")
    }

    @Test func recordLayerChoiceServesRequests() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let ownRecords = try fixture.launch()
        #expect(ownRecords.process.output.contains("tls_record_layer=dcf"), "\(ownRecords.process.output)")
        #expect(try ownRecords.status().round["update_lim"] == 1)
        #expect(try ownRecords.stop() == 0)

        let openSSLRecords = try fixture.launch(["--tls.record_layer=openssl"], logName: "openssl-records.log")
        #expect(openSSLRecords.process.output.contains("tls_record_layer=openssl"), "\(openSSLRecords.process.output)")
        #expect(try openSSLRecords.status().round["update_lim"] == 1)
        #expect(try openSSLRecords.stop() == 0)
    }

    @Test func commandLineOverridesFile() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let fromFile = try fixture.launch()
        #expect(try fromFile.status().round["update_lim"] == 1)
        #expect(try fromFile.stop() == 0)

        let overridden = try fixture.launch(["--update-lim", "7"], logName: "override.log")
        #expect(try overridden.status().round["update_lim"] == 7)
        #expect(try overridden.stop() == 0)

        let dotted = try fixture.launch(["--fedavg.update_lim=9"], logName: "dotted.log")
        #expect(try dotted.status().round["update_lim"] == 9)
        #expect(try dotted.stop() == 0)
    }

    /// The admin variables that an operator exports for dcfctl stop a server whose config names a credentials
    /// file. The error names both sources and the fix, and `--help` states the rule.
    @Test func adminCredentialsInFileAndEnvironment() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"), arguments: ["run", "--config", fixture.configFile],
            environment: ["DCF_SERVER_ADMIN_USERNAME": "ops", "DCF_SERVER_ADMIN_PASSWORD": "exported-for-dcfctl"],
            logFile: fixture.directory.file("both.log"))
        #expect(process.waitForExit() == 78, "\(process.output)")
        #expect(process.output.contains("admin.credentials_file"), "\(process.output)")
        #expect(
            process.output.contains(
                "unset DCF_SERVER_ADMIN_USERNAME and DCF_SERVER_ADMIN_PASSWORD in the server's environment"),
            "\(process.output)")

        let help = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"), arguments: ["run", "--help"],
            logFile: fixture.directory.file("help.log"))
        #expect(help.waitForExit() == 0)
        let flattened = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flattened.contains("the server's environment must not have them"), "\(help.output)")
    }

    @Test func shippedExampleConfigLoads() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/serverd.conf").path
        // Every key of the example is commented out, so only the options below are set; the server starts.
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"),
            arguments: [
                "run", "--config", example, "--listen", "127.0.0.1:0", "--tls-certificate", fixture.certificateFile,
                "--tls-key", fixture.privateKeyFile, "--state-dir", fixture.stateDirectory,
                "--initial-model", fixture.directory.file("initial.safetensors"), "--unsafe-mode",
            ],
            logFile: fixture.directory.file("example.log"))
        try process.waitForLine(containing: "listening", timeout: 60)
        kill(process.pid, SIGTERM)
        #expect(process.waitForExit() == 0)
    }
}
