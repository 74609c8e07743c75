// SPDX-License-Identifier: Apache-2.0
import Foundation

/// An executable's command-line interface: its subcommands, version and help.
public struct CommandLineTool: Sendable {
    public let name: String
    public let version: String
    /// One line saying what the tool is, shown at the top of its help.
    public let summary: String
    public let subcommands: [Subcommand]
    /// The subcommand used when the first argument is an option or absent; `nil` requires a subcommand.
    public let defaultSubcommand: String?
    /// The exit statuses the help lists, as one paragraph starting with "Exit status:"; `nil` lists the
    /// `sysexits.h` statuses that the daemons use.
    public let exitStatus: String?

    public init(
        name: String, version: String, summary: String, subcommands: [Subcommand], defaultSubcommand: String? = nil,
        exitStatus: String? = nil
    ) {
        precondition(!subcommands.isEmpty, "a tool needs at least one subcommand")
        precondition(defaultSubcommand.map { name in subcommands.contains { $0.name == name } } ?? true)
        self.name = name
        self.version = version
        self.summary = summary
        self.subcommands = subcommands
        self.defaultSubcommand = defaultSubcommand
        self.exitStatus = exitStatus
    }

    /// Parses `arguments` (without the program name) into a request.
    /// - Throws: `UsageError` naming the unknown subcommand or option, the missing or invalid value.
    public func parse(_ arguments: [String]) throws(UsageError) -> CommandLineRequest {
        if arguments.contains("--version") { return .version("\(name) \(version)") }
        guard let first = arguments.first else {
            guard let defaultSubcommand else { return .missingSubcommand(HelpFormatter.toolHelp(self)) }
            return try parse(subcommand: subcommand(named: defaultSubcommand)!, Array(arguments))
        }
        if first == "--help" || first == "-h" { return .help(HelpFormatter.toolHelp(self)) }
        if first == "help" {
            guard arguments.count > 1 else { return .help(HelpFormatter.toolHelp(self)) }
            return .help(HelpFormatter.subcommandHelp(try requireSubcommand(arguments[1]), tool: self))
        }
        if first.hasPrefix("-"), let defaultSubcommand {
            return try parse(subcommand: subcommand(named: defaultSubcommand)!, arguments)
        }
        if first.hasPrefix("-") { throw optionBeforeCommand(first, arguments: arguments) }
        return try parse(subcommand: requireSubcommand(first), Array(arguments.dropFirst()))
    }

    /// Parses the process arguments, printing help or the version and exiting 0, or printing a usage error
    /// to standard error and exiting 64. Returns only a command to run.
    public func parseOrExit(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> ParsedCommand {
        do throws(UsageError) {
            switch try parse(arguments) {
            case .run(let command): return command
            case .help(let text), .version(let text), .exampleConfig(let text):
                StandardStream.output.write(text.hasSuffix("\n") ? text : text + "\n")
                exit(ExitCode.success.rawValue)
            case .missingSubcommand(let help):
                StandardStream.error.write(help.hasSuffix("\n") ? help : help + "\n")
                exit(ExitCode.usage.rawValue)
            }
        } catch {
            exitPrinting(error, programName: name)
        }
    }

    public func subcommand(named name: String) -> Subcommand? {
        subcommands.first { $0.name == name }
    }

    private func requireSubcommand(_ name: String) throws(UsageError) -> Subcommand {
        if let subcommand = subcommand(named: name) { return subcommand }
        let names = subcommands.map(\.name)
        let hint =
            ConfigSchema.closest(to: name, among: names).map { "Did you mean \"\($0)\"?" }
            ?? "The commands are " + names.joined(separator: ", ") + "."
        let quoted = ConfigValue.quote(name)
        throw UsageError("unknown command \(quoted) for \(self.name). \(hint) Run \"\(self.name) --help\" for usage.")
    }

    /// Builds the error for an option given before the command, naming the command from `arguments` when one follows.
    /// Values are left out of the example, so no secret given on the command line reaches the message.
    private func optionBeforeCommand(_ option: String, arguments: [String]) -> UsageError {
        let name = option.split(separator: "=", maxSplits: 1).first.map(String.init) ?? option
        let names = subcommands.map(\.name)
        let command = arguments.first { names.contains($0) }
        let list = command == nil ? " The commands are " + names.joined(separator: ", ") + "." : ""
        let example = "\(self.name) \(command ?? "<command>") \(name)"
        return UsageError(
            "option \(name) comes before the command. Options go after the command, as in \"\(example)\".\(list) "
                + "Run \"\(self.name) --help\" for usage.")
    }

    private func parse(subcommand: Subcommand, _ arguments: [String]) throws(UsageError) -> CommandLineRequest {
        var parser = CommandLineParser(tool: self, subcommand: subcommand)
        return try parser.parse(arguments)
    }
}

/// The action a command line requests.
public enum CommandLineRequest: Sendable {
    /// Print this help text and exit 0.
    case help(String)
    /// No subcommand was given and the tool has no default: print this help text to standard error and exit 64.
    case missingSubcommand(String)
    /// Print this version line and exit 0.
    case version(String)
    /// Print this example config file and exit 0.
    case exampleConfig(String)
    /// Run a subcommand.
    case run(ParsedCommand)
}

/// Prints `error` to standard error prefixed with the program name and exits with its exit code, or with
/// `fallback` when the error names none.
public func exitPrinting(_ error: any Error, programName: String, fallback: ExitCode = .failure) -> Never {
    StandardStream.error.write("\(programName): \(error)\n")
    exit(((error as? any ExitCodeProviding)?.exitCode ?? fallback).rawValue)
}
