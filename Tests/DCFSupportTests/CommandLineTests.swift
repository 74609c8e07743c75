// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Testing

@Suite struct CommandLineTests {
    private func command(_ arguments: [String]) throws -> ParsedCommand {
        guard case .run(let command) = try Fixtures.tool.parse(arguments) else {
            Issue.record("expected a command to run for \(arguments)")
            throw UsageError("not a run request")
        }
        return command
    }

    @Test func precedenceDefaultFileCommandLine() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write(
            "serverd.conf",
            "[tls]\ncertificate = \"c\"\n[server]\nport = 9000\nhost = \"0.0.0.0\"\n[log]\nlevel = \"debug\"\n"
        )
        let parsed = try command(["run", "--config", path, "--port", "9100", "--log.level=warning"])
        let config = try parsed.loadConfiguration()
        #expect(config.integer("server.port") == 9100)
        #expect(config.setting("server.port").source == .commandLine("--port=9100"))
        #expect(config.string("server.host") == "0.0.0.0")
        #expect(config.setting("server.host").source == .file(path, line: 5))
        #expect(config.string("log.level") == "warning")
        #expect(config.duration("server.hold") == .seconds(50))
        #expect(config.setting("server.hold").source == .defaultValue)
    }

    @Test func laterOverrideWins() throws {
        let parsed = try command(["--tls.certificate=c", "--server.port=1", "--port=2"])
        #expect(parsed.subcommand.name == "run")
        #expect(try parsed.loadConfiguration().integer("server.port") == 2)
    }

    @Test func booleanSettingAsBareFlag() throws {
        let parsed = try command(["run", "--tls.certificate", "c", "--server.plain-http"])
        #expect(try parsed.loadConfiguration().bool("server.plain-http"))
        let off = try command(["run", "--tls.certificate", "c", "--server.plain-http=false"])
        #expect(try off.loadConfiguration().bool("server.plain-http") == false)
    }

    @Test func commandOptionsFlagsAndArguments() throws {
        let parsed = try command(["keygen", "--force", "alice", "--", "--bob"])
        #expect(parsed.flag("force"))
        #expect(parsed.option("output") == "worker.key")
        #expect(parsed.arguments == ["alice", "--bob"])
        let custom = try command(["keygen", "--output=a.key"])
        #expect(custom.option("output") == "a.key")
        #expect(custom.flag("force") == false)
    }

    static let usageErrors: [(arguments: [String], message: String)] = [
        (
            ["run", "--prot", "1"],
            #"unknown option --prot for "dcf-test run". Did you mean --port? Run "dcf-test run --help" for the list."#
        ),
        (
            ["run", "--learning_rate", "1"],
            #"unknown option --learning_rate for "dcf-test run". Did you mean --strategy.learning-rate? Run "dcf-test run --help" for the list."#
        ),
        (["run", "--server.port=80a"], #"invalid value for --server.port: expected an integer 1-65535, found "80a""#),
        (["run", "--port"], "option --port needs a value, write --port=<integer>"),
        (
            ["run", "--server.hold=5"],
            #"invalid value for --server.hold: invalid duration "5": missing unit after 5, write for example "5s" or "5ms""#
        ),
        (
            ["run", "--limits.max-body=1M"],
            #"invalid value for --limits.max-body: invalid size "1M": unknown unit "M", use B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)"#
        ),
        (
            ["run", "--log-level", "loud"],
            #"invalid value for --log-level: expected one of "debug", "info", "warning", found "loud""#
        ),
        (["run", "extra"], #"unexpected argument "extra", "dcf-test run" takes no positional arguments"#),
        (["run", "-p"], "unknown option -p, options are written --name"),
        (["keygen", "--force=yes"], #"option --force is a flag and takes no value, remove "=yes""#),
        (["keygn"], #"unknown command "keygn" for dcf-test. Did you mean "keygen"? Run "dcf-test --help" for usage."#),
    ]

    @Test(arguments: usageErrors)
    func usageErrorNamesArgument(arguments: [String], message: String) {
        let error = #expect(throws: UsageError.self) { try Fixtures.tool.parse(arguments) }
        #expect(error?.description == message)
        #expect(error?.exitCode == .usage)
        #expect(error?.exitCode.rawValue == 64)
    }

    @Test func helpListsEveryOptionWithUnitAndDefault() throws {
        guard case .help(let text) = try Fixtures.tool.parse(["run", "--help"]) else {
            Issue.record("--help did not return help")
            return
        }
        for option in Fixtures.schema.options {
            #expect(text.contains("--\(option.name)="), "\(option.name) missing from help")
        }
        #expect(text.contains("  --server.port=<integer>, --port\n"))
        #expect(text.contains("Default: 8443."))
        #expect(text.contains("Unit: connections."))
        #expect(text.contains("Default: \"50s\"."))
        #expect(text.contains("Default: \"64MiB\"."))
        #expect(text.contains("Required."))
        #expect(text.contains("Unset by default."))
        #expect(text.contains("--config <file>"))
        #expect(text.contains("78 invalid configuration"))
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 80 }, "help lines exceed 80 columns")
    }

    @Test func noSubcommandWithoutDefaultIsAUsageError() throws {
        let tool = CommandLineTool(
            name: "dcfctl-like", version: "1", summary: "A tool without a default command.",
            subcommands: Fixtures.tool.subcommands)
        guard case .missingSubcommand(let help) = try tool.parse([]) else {
            Issue.record("an empty command line did not report a missing subcommand")
            return
        }
        #expect(help.contains("keygen"))
    }

    @Test func optionBeforeCommandNamesOrder() throws {
        let tool = CommandLineTool(
            name: "dcfctl-like", version: "1", summary: "A tool without a default command.",
            subcommands: Fixtures.tool.subcommands)
        let error = #expect(throws: UsageError.self) { try tool.parse(["--force", "keygen"]) }
        #expect(
            error?.description
                == #"option --force comes before the command. Options go after the command, as in "dcfctl-like keygen --force". Run "dcfctl-like --help" for usage."#
        )
        let withoutCommand = #expect(throws: UsageError.self) { try tool.parse(["--force"]) }
        #expect(
            withoutCommand?.description
                == #"option --force comes before the command. Options go after the command, as in "dcfctl-like <command> --force". The commands are run, keygen. Run "dcfctl-like --help" for usage."#
        )
    }

    @Test func toolHelpVersionAndExample() throws {
        guard case .help(let text) = try Fixtures.tool.parse(["--help"]) else {
            Issue.record("--help did not return tool help")
            return
        }
        #expect(text.contains("  keygen  Write a key pair."))
        #expect(text.contains("  run     Run the server. (default)"))
        guard case .version(let version) = try Fixtures.tool.parse(["run", "--version"]) else {
            Issue.record("--version did not return the version")
            return
        }
        #expect(version == "dcf-test 1.2.3")
        guard case .exampleConfig(let example) = try Fixtures.tool.parse(["run", "--example-config"]) else {
            Issue.record("--example-config did not return the example")
            return
        }
        #expect(example.contains("[server]"))
        guard case .help(let keygen) = try Fixtures.tool.parse(["help", "keygen"]) else {
            Issue.record("help keygen did not return help")
            return
        }
        #expect(keygen.contains("--output <file>"))
        #expect(keygen.contains("Default: worker.key."))
    }

    @Test func exitCodesFollowSysexits() {
        #expect(ExitCode.usage.rawValue == 64)
        #expect(ExitCode.unavailable.rawValue == 69)
        #expect(ExitCode.config.rawValue == 78)
        #expect(ExitCode.of(ConfigError(issues: [])) == .config)
        #expect(ExitCode.of(SystemCallError(call: "open", errno: ENOENT)) == .noInput)
        #expect(ExitCode.of(CancellationError()) == .failure)
    }
}
