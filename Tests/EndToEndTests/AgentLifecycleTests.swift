// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// `dcf-agent run` against a real `dcf-serverd`: how it starts under systemd, which mistakes stop it at once and
/// which it rides out.
@Suite struct AgentLifecycleTests {
    /// Writes a training command that waits `sleep` seconds, copies the global model and reports 10 examples.
    private static func copyCommand(_ directory: TemporaryDirectory, name: String, sleep: Double = 0) throws -> String {
        let script = """
            sleep \(sleep)
            cp "$DCF_GLOBAL_MODEL" "$DCF_UPDATE_PATH"
            echo '{"num_examples": 10}' > "$DCF_METRICS_PATH"
            """
        try script.write(toFile: directory.file(name), atomically: true, encoding: .utf8)
        return "sh '\(directory.file(name))'"
    }

    /// The shipped unit is `Type=notify` with a watchdog, so the agent must report READY=1 (systemd kills a
    /// service that never does), send WATCHDOG=1, report STOPPING=1 on SIGTERM, and keep NOTIFY_SOCKET from
    /// its training command.
    @Test func agentSpeaksTheSystemdNotifyProtocol() throws {
        let federation = try FederationFixture(sites: 1, updateLimit: 2, layers: "4,3,2", prefix: "dcf-notify")
        defer { federation.tearDown() }
        let directory = federation.directory
        let script = """
            echo "notify_socket=${NOTIFY_SOCKET:-unset}" > "\(directory.file("child-env"))"
            cp "$DCF_GLOBAL_MODEL" "$DCF_UPDATE_PATH"
            echo '{"num_examples": 10}' > "$DCF_METRICS_PATH"
            """
        try script.write(toFile: directory.file("train.sh"), atomically: true, encoding: .utf8)
        // sun_path has room for 108 bytes, so the socket lives under /tmp rather than the long fixture path.
        let socket = try NotifySocket(path: "/tmp/dcf-agent-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let agent = try LaunchedProcess(
            executable: federation.agent,
            arguments: federation.agentArguments(site: 0) + [
                "--trainer", "command", "--command", "sh '\(directory.file("train.sh"))'",
                "--work-dir", directory.file("work"),
            ],
            environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "2000000"],
            logFile: directory.file("agent.log"))
        defer { agent.terminate(signal: SIGKILL) }

        let ready = socket.receive(until: "READY=1", timeout: 30)
        #expect(ready.contains { $0.split(separator: "\n").contains("READY=1") }, "datagrams: \(ready)\n\(agent.output)")
        let watchdog = socket.receive(until: "WATCHDOG=1", timeout: 10)
        #expect(watchdog.contains { $0.contains("WATCHDOG=1") }, "datagrams: \(watchdog)")
        _ = try agent.waitForLine(containing: "round done", timeout: 30)
        let childEnvironment = try String(contentsOfFile: directory.file("child-env"), encoding: .utf8)
        #expect(childEnvironment.contains("notify_socket=unset"), "\(childEnvironment)")

        kill(agent.pid, SIGTERM)
        let stopping = socket.receive(until: "STOPPING=1", timeout: 30)
        #expect(stopping.contains { $0.contains("STOPPING=1") }, "datagrams: \(stopping)")
        #expect(agent.waitForExit() == 0, "\(agent.output)")
    }

    struct WorkerSettingCase: CustomTestStringConvertible, Sendable {
        let name: String
        /// Arguments that replace the good ones; `{dir}` stands for the test directory.
        let arguments: [String]
        /// Text the error must contain.
        let named: String
        /// More texts the error must contain, for a case with several mistakes.
        var alsoNamed: [String] = []
        /// Settings the error must not name, because they are not at fault.
        var notNamed: [String] = []
        var testDescription: String { name }
    }

    static let workerSettingCases = [
        WorkerSettingCase(name: "key file of another format", arguments: ["--key", "{dir}/pem.key"], named: "pem.key"),
        WorkerSettingCase(name: "CA file without certificates", arguments: ["--ca-file", "{dir}/garbage.pem"], named: "garbage.pem"),
        WorkerSettingCase(
            name: "CA file that is a private key", arguments: ["--ca-file", "{dir}/pem.key"],
            named: "agent.ca_file (--ca-file): cannot read CA certificates",
            notNamed: ["agent.server", "agent.key", "agent.client_certificate", "agent.client_key"]),
        WorkerSettingCase(
            name: "client certificate file without certificates",
            arguments: ["--client-certificate", "{dir}/garbage.pem", "--client-key", "{dir}/pem.key"],
            named: "agent.client_certificate (--client-certificate): cannot load certificate chain",
            notNamed: ["agent.server", "agent.key", "agent.ca_file", "agent.client_key"]),
        WorkerSettingCase(
            name: "CA and client certificate files without certificates",
            arguments: [
                "--ca-file", "{dir}/garbage.pem", "--client-certificate", "{dir}/garbage.pem", "--client-key",
                "{dir}/pem.key",
            ],
            named: "agent.ca_file (--ca-file)", alsoNamed: ["agent.client_certificate (--client-certificate)"],
            notNamed: ["agent.server", "agent.key"]),
        WorkerSettingCase(
            name: "key file of another format and CA file without certificates",
            arguments: ["--key", "{dir}/pem.key", "--ca-file", "{dir}/garbage.pem"],
            named: "agent.key (--key)", alsoNamed: ["agent.ca_file (--ca-file)"], notNamed: ["agent.server"]),
        WorkerSettingCase(
            name: "missing client certificate and key",
            arguments: ["--client-certificate", "{dir}/none.pem", "--client-key", "{dir}/none.key"],
            named: "agent.client_certificate: file", alsoNamed: ["agent.client_key: file"]),
        WorkerSettingCase(
            name: "missing CA file and key", arguments: ["--ca-file", "{dir}/none-ca.pem", "--key", "{dir}/none"],
            named: "agent.key: file", alsoNamed: ["agent.ca_file: file"]),
        WorkerSettingCase(
            name: "server URL with a path", arguments: ["--server", "https://127.0.0.1:1/dcf"], named: "agent.server"),
        WorkerSettingCase(
            name: "server URL with a fragment", arguments: ["--server", "https://127.0.0.1:1#site"],
            named: "has a path, query or fragment"),
        WorkerSettingCase(
            name: "port out of range", arguments: ["--server", "https://127.0.0.1:99999"], named: "99999"),
        // The agent signs its requests with its key and sends no credentials from the address, and no message
        // may print the password (the test checks that "secret" appears nowhere in the output).
        WorkerSettingCase(
            name: "credentials in server URL", arguments: ["--server", "https://site:secret@127.0.0.1:1"],
            named: "agent.server contains credentials"),
        WorkerSettingCase(
            name: "credentials in server URL with a path", arguments: ["--server", "https://site:secret@127.0.0.1:1/dcf"],
            named: "agent.server contains credentials"),
        WorkerSettingCase(
            name: "shard index past its count", arguments: ["--shard", "3/3"],
            named: "data.shard \"3/3\" is not a shard: write index/count with indexes from 0, so the shards of 3 are 0/3 to 2/3"),
        WorkerSettingCase(
            name: "class outside Fashion-MNIST", arguments: ["--classes", "1,11"],
            named: "data.classes \"1,11\": class 11 does not exist; Fashion-MNIST has classes 0-9"),
        WorkerSettingCase(
            name: "cap of one example", arguments: ["--max-examples", "1"],
            named: "data.max_examples is 1; use 0 for no cap, or at least 2"),
    ]

    /// A mistake in the server address, key, certificate or data selection settings exits 78 (which the unit does
    /// not restart) at once, before the site's data is loaded, naming the setting or file.
    @Test(arguments: workerSettingCases)
    func workerSettingMistakeExitsConfigBeforeLoadingData(_ testCase: WorkerSettingCase) throws {
        let directory = try TemporaryDirectory(prefix: "dcf-agent-settings")
        defer { directory.remove() }
        let agent = try BuiltProducts.path("dcf-agent")
        try FederationFixture.run(agent, ["keygen", "--output", directory.file("site")])
        try "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIG1vcmUgdGhhbiA2NCBoZXggZGlnaXRzIGhlcmUhIQ==\n-----END PRIVATE KEY-----\n"
            .write(toFile: directory.file("pem.key"), atomically: true, encoding: .utf8)
        try "not a certificate\n".write(toFile: directory.file("garbage.pem"), atomically: true, encoding: .utf8)
        let certificates = try CertificateFactory()
        defer { certificates.remove() }

        var options = [
            "--server": "https://127.0.0.1:1", "--key": directory.file("site"),
            "--ca-file": certificates.ca.certificateFile,
        ]
        for pair in stride(from: 0, to: testCase.arguments.count, by: 2) {
            options[testCase.arguments[pair]] = testCase.arguments[pair + 1]
                .replacingOccurrences(of: "{dir}", with: directory.url.path)
        }
        // The data directory is empty, so an agent that loaded data first would fail on it instead.
        try FileManager.default.createDirectory(atPath: directory.file("no-data"), withIntermediateDirectories: true)
        let arguments = ["run", "--data-dir", directory.file("no-data")] + options.sorted { $0.key < $1.key }
            .flatMap { [$0.key, $0.value] }
        let process = try LaunchedProcess(executable: agent, arguments: arguments, logFile: directory.file("agent.log"))
        defer { process.terminate(signal: SIGKILL) }
        let status = FederationFixture.waitForExit(process, seconds: 30)
        #expect(status == 78, "\(process.output)")
        #expect(process.output.contains(testCase.named), "\(process.output)")
        for text in testCase.alsoNamed {
            #expect(process.output.contains(text), "expected \(text) in: \(process.output)")
        }
        for setting in testCase.notNamed {
            #expect(!process.output.contains(setting), "expected no \(setting) in: \(process.output)")
        }
        #expect(!process.output.contains("secret"), "\(process.output)")
        #expect(!process.output.contains("loading Fashion-MNIST"), "\(process.output)")
    }

    /// Several values of a config file that are wrong in content: one start lists each with its file and line, and
    /// one set on the command line with its option.
    @Test func invalidValuesAreAllListedWithLines() throws {
        let directory = try TemporaryDirectory(prefix: "dcf-agent-values")
        defer { directory.remove() }
        let config = directory.file("agent.conf")
        try """
            [agent]
            server = "https://127.0.0.1:1/dcf"
            key = "\(directory.file("none.key"))"

            [builtin]
            layers = "784"

            [data]
            shard = "4/4"

            """.write(toFile: config, atomically: true, encoding: .utf8)
        let output = try configErrorOutput(["run", "--config", config, "--max-examples", "1"], in: directory)
        #expect(output.contains("agent.conf:2: agent.server"), "\(output)")
        #expect(output.contains("agent.conf:3: agent.key: file"), "\(output)")
        #expect(output.contains("agent.conf:6: builtin.layers: \"784\""), "\(output)")
        #expect(output.contains("agent.conf:9: data.shard \"4/4\""), "\(output)")
        #expect(output.contains("command line --max-examples: data.max_examples is 1"), "\(output)")
    }

    /// Runs `dcf-agent` with `arguments`, expects it to exit 78 for its configuration, and returns its output.
    private func configErrorOutput(_ arguments: [String], in directory: TemporaryDirectory) throws -> String {
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-agent"), arguments: arguments, logFile: directory.file("agent.log"))
        defer { process.terminate(signal: SIGKILL) }
        #expect(FederationFixture.waitForExit(process, seconds: 30) == 78, "\(process.output)")
        return process.output
    }

    /// A file setting given as an empty value is reported as empty, not as a file named "" that does not exist.
    @Test func emptyFileSettingsAreNamedEmpty() throws {
        let directory = try TemporaryDirectory(prefix: "dcf-agent-empty")
        defer { directory.remove() }
        let output = try configErrorOutput(
            [
                "run", "--server", "https://127.0.0.1:1", "--agent.key=", "--agent.client_certificate=",
                "--agent.client_key=",
            ], in: directory)
        #expect(output.contains("command line --agent.key: agent.key is empty"), "\(output)")
        #expect(output.contains("command line --agent.client_key: agent.client_key is empty"), "\(output)")
        #expect(output.contains("agent.client_certificate is empty"), "\(output)")
        #expect(!output.contains("file \"\""), "\(output)")
    }

    /// `http://` in agent.server for a TLS port cannot work on any retry: the agent stops with 78 at its first
    /// request, naming the setting and the fix.
    @Test func plainHTTPToTLSPortExitsConfig() throws {
        let federation = try FederationFixture(sites: 1, updateLimit: 1, layers: "4,3,2", prefix: "dcf-scheme")
        defer { federation.tearDown() }
        let command = try Self.copyCommand(federation.directory, name: "train.sh")
        var arguments = federation.agentArguments(site: 0)
        let server = try #require(arguments.firstIndex(of: "--server"))
        arguments[server + 1] = "http://127.0.0.1:\(federation.port)"
        let agent = try federation.startAgent(
            arguments + ["--trainer", "command", "--command", command, "--work-dir", federation.directory.file("work")],
            name: "agent")
        defer { agent.terminate(signal: SIGKILL) }

        let status = FederationFixture.waitForExit(agent, seconds: 30)
        #expect(status == 78, "\(agent.output)")
        #expect(agent.output.contains("agent.server"), "\(agent.output)")
        #expect(agent.output.contains("use https://"), "\(agent.output)")
        #expect(!agent.output.contains("retrying"), "\(agent.output)")
    }

    /// A round that takes less than a second must not be logged as `seconds=0`, so the duration has two decimals.
    @Test func roundDoneLogsFractionalSeconds() throws {
        let federation = try FederationFixture(sites: 1, updateLimit: 1, layers: "4,3,2", prefix: "dcf-round-seconds")
        defer { federation.tearDown() }
        let command = try Self.copyCommand(federation.directory, name: "train.sh")
        let agent = try federation.startAgent(
            federation.agentArguments(site: 0) + [
                "--trainer", "command", "--command", command, "--work-dir", federation.directory.file("work"),
                "--max-rounds", "1",
            ],
            name: "agent")
        defer { agent.terminate(signal: SIGKILL) }

        let line = try agent.waitForLine(containing: "round done", timeout: 30)
        let field = try #require(line.split(separator: " ").first { $0.hasPrefix("seconds=") }, "\(line)")
        let value = field.dropFirst("seconds=".count)
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 2, "\(line)")
        #expect(parts.last?.count == 2, "\(line)")
        #expect(Double(value) != nil, "\(line)")
        #expect(FederationFixture.waitForExit(agent, seconds: 30) == 0, "\(agent.output)")
    }

    /// A site slower than the others gets `update_rejected` / `stale_base_version` whenever another site closed
    /// the round first. That is no failure: the agent trains the newer model at once. With the retry delay of an
    /// hour set here, a second stale update arrives only without that delay.
    @Test func staleUpdateLeadsStraightToTheNewerModel() throws {
        let federation = try FederationFixture(sites: 2, updateLimit: 1, layers: "4,3,2", prefix: "dcf-stale")
        defer { federation.tearDown() }
        let directory = federation.directory
        let fast = try federation.startAgent(
            federation.agentArguments(site: 0) + [
                "--trainer", "command", "--command", try Self.copyCommand(directory, name: "fast.sh"),
                "--work-dir", directory.file("work-fast"),
            ], name: "fast")
        defer { fast.terminate(signal: SIGKILL) }
        _ = try fast.waitForLine(containing: "round done", timeout: 30)
        let slow = try federation.startAgent(
            federation.agentArguments(site: 1) + [
                "--trainer", "command", "--command", try Self.copyCommand(directory, name: "slow.sh", sleep: 1),
                "--work-dir", directory.file("work-slow"), "--agent.retry_delay=1h",
            ], name: "slow")
        defer { slow.terminate(signal: SIGKILL) }

        var log = ""
        for _ in 0..<600 {
            log = slow.output
            if log.components(separatedBy: "its model changed while this round trained").count > 2 || log.contains("round failed") { break }
            usleep(100_000)
        }
        #expect(log.components(separatedBy: "its model changed while this round trained").count > 2, "slow agent's log:\n\(log)")
        #expect(!log.contains("round failed"), "slow agent's log:\n\(log)")
        #expect(!log.contains("nothing was sent"), "slow agent's log:\n\(log)")
    }

    /// Two agents started with the same key replace each other's long poll at the server, which ends the
    /// replaced one with "no change" at once. Without pacing, each agent asked again hundreds of times a second
    /// and logged nothing above debug level.
    @Test func agentsSharingAKeyDoNotFloodTheServer() throws {
        let federation = try FederationFixture(sites: 1, updateLimit: 2, layers: "4,3,2", prefix: "dcf-shared-key")
        defer { federation.tearDown() }
        let directory = federation.directory
        var agents: [LaunchedProcess] = []
        defer { agents.forEach { $0.terminate(signal: SIGKILL) } }
        for copy in 0..<2 {
            agents.append(try federation.startAgent(
                federation.agentArguments(site: 0) + [
                    "--trainer", "command", "--command", try Self.copyCommand(directory, name: "train.sh"),
                    "--work-dir", directory.file("work-\(copy)"), "--log-level", "debug",
                ], name: "copy-\(copy)"))
        }
        for agent in agents { _ = try agent.waitForLine(containing: "round done", timeout: 30) }
        // The warning comes with the first paced poll, so it shows that the loop waits between such polls.
        let warning = "another agent may be running with this worker's key"
        var warned = false
        for _ in 0..<300 where !warned {
            warned = agents.contains { $0.output.contains(warning) }
            usleep(100_000)
        }
        #expect(warned, "\(agents.map(\.output).joined(separator: "\n---\n"))")
        let warningLine = agents.flatMap { $0.output.split(separator: "\n") }.first { $0.contains(warning) }
        #expect(warningLine?.contains("delay_ms=") == true, "\(String(describing: warningLine))")
    }

    /// Each round deletes the `round-*` directories of the work directory, so two agents sharing one deleted each
    /// other's files mid-round, and on the same round number one could send an update the other's command wrote.
    /// The second agent now stops with 78; the lock goes with the first agent, even on SIGKILL.
    @Test func agentsCannotShareAWorkDirectory() throws {
        let federation = try FederationFixture(sites: 2, updateLimit: 2, layers: "4,3,2", prefix: "dcf-work-dir")
        defer { federation.tearDown() }
        let directory = federation.directory
        let command = try Self.copyCommand(directory, name: "train.sh")
        func arguments(site: Int) -> [String] {
            federation.agentArguments(site: site) + [
                "--trainer", "command", "--command", command, "--work-dir", directory.file("shared-work"),
            ]
        }
        let first = try federation.startAgent(arguments(site: 0), name: "first")
        defer { first.terminate(signal: SIGKILL) }
        _ = try first.waitForLine(containing: "agent starting", timeout: 30)

        let second = try federation.startAgent(arguments(site: 1), name: "second")
        defer { second.terminate(signal: SIGKILL) }
        #expect(FederationFixture.waitForExit(second, seconds: 20) == 78, "\(second.output)")
        #expect(second.output.contains("is in use by another dcf-agent"), "\(second.output)")

        first.terminate(signal: SIGKILL)
        let third = try federation.startAgent(arguments(site: 1), name: "third")
        defer { third.terminate(signal: SIGKILL) }
        _ = try third.waitForLine(containing: "round done", timeout: 30)
    }

    /// A work directory that cannot be one stops the agent with 78 and names the problem: an empty value, which
    /// made the current directory the work directory, a regular file, and a path under a regular file.
    @Test func unusableWorkDirectoryStopsTheAgent() throws {
        let federation = try FederationFixture(sites: 1, updateLimit: 1, layers: "4,3,2", prefix: "dcf-bad-work-dir")
        defer { federation.tearDown() }
        let directory = federation.directory
        let command = try Self.copyCommand(directory, name: "train.sh")
        let file = directory.file("plain-file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        // A directory where the lock file goes cannot be opened for writing, even by root.
        let lockedOut = directory.file("locked-out")
        try FileManager.default.createDirectory(
            atPath: lockedOut + "/.dcf-agent.lock", withIntermediateDirectories: true)
        let cases = [
            ("", "trainer.work_dir is empty"),
            (file, "\(file) exists and is not a directory"),
            (file + "/work", "\(file) is not a directory; name a directory the agent's user may create (--work-dir)"),
            (lockedOut, "\(lockedOut)/.dcf-agent.lock exists but cannot be opened for writing"),
        ]
        for (index, (workDirectory, message)) in cases.enumerated() {
            let agent = try federation.startAgent(
                federation.agentArguments(site: 0) + [
                    "--trainer", "command", "--command", command, "--work-dir", workDirectory,
                ], name: "agent-\(index)")
            defer { agent.terminate(signal: SIGKILL) }
            #expect(FederationFixture.waitForExit(agent, seconds: 20) == 78, "\(agent.output)")
            #expect(agent.output.contains(message), "\(agent.output)")
            #expect(!agent.output.contains("NSCocoaErrorDomain"), "\(agent.output)")
        }
    }

    /// The built-in trainer cannot train a model of other layer sizes, now or in any later round: the agent
    /// stops with 78 and names the sizes of the server's model.
    @Test func builtinLayerMismatchStopsTheAgent() throws {
        let federation = try FederationFixture(sites: 1, updateLimit: 1, layers: "4,3,2", prefix: "dcf-layers")
        defer { federation.tearDown() }
        let agent = try federation.startAgent(
            federation.agentArguments(site: 0) + ["--max-examples", "50", "--agent.retry_delay=100ms"], name: "agent")
        defer { agent.terminate(signal: SIGKILL) }
        let status = FederationFixture.waitForExit(agent, seconds: 60)
        #expect(status == 78, "\(agent.output)")
        #expect(agent.output.contains("the server's model has layer sizes 4,3,2"), "\(agent.output)")
        #expect(agent.output.components(separatedBy: "round failed").count == 2, "\(agent.output)")
    }
}
