// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Parses the arguments after a subcommand name: `--name value`, `--name=value`, flags, `--` and positionals.
struct CommandLineParser {
    let tool: CommandLineTool
    let subcommand: Subcommand
    private var configPath: String?
    private var overrides: [ConfigOverride] = []
    private var values: [String: String] = [:]
    private var positionals: [String] = []

    init(tool: CommandLineTool, subcommand: Subcommand) {
        self.tool = tool
        self.subcommand = subcommand
    }

    mutating func parse(_ arguments: [String]) throws(UsageError) -> CommandLineRequest {
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            if argument == "--" {
                positionals += remaining
                break
            }
            if argument == "--help" || argument == "-h" {
                return .help(HelpFormatter.subcommandHelp(subcommand, tool: tool))
            }
            if argument == "--example-config", let schema = subcommand.schema {
                return .exampleConfig(
                    schema.exampleFile(title: ["Example config for \(tool.name) \(subcommand.name)."]))
            }
            if argument.hasPrefix("-") && argument != "-" {
                try parseOption(argument, remaining: &remaining)
            } else {
                positionals.append(argument)
            }
        }
        if subcommand.argumentsUsage == nil, let extra = positionals.first {
            throw error("unexpected argument \(ConfigValue.quote(extra)), \(commandName) takes no positional arguments")
        }
        return .run(result())
    }

    private var commandName: String { "\"\(tool.name) \(subcommand.name)\"" }

    private mutating func parseOption(_ argument: String, remaining: inout ArraySlice<String>) throws(UsageError) {
        guard argument.hasPrefix("--") else {
            throw error("unknown option \(argument), options are written --name")
        }
        let body = argument.dropFirst(2)
        let name = String(body.prefix { $0 != "=" })
        let inlineValue = body.firstIndex(of: "=").map { String(body[body.index(after: $0)...]) }

        if name == "config", subcommand.schema != nil {
            configPath = try requireValue(name, inlineValue, &remaining, placeholder: "<file>")
        } else if let option = subcommand.schema.flatMap({ $0.option(named: name) ?? $0.option(flag: name) }) {
            try parseSetting(option, spelled: name, inlineValue, &remaining)
        } else if let option = subcommand.options.first(where: { $0.name == name }) {
            try parseCommandOption(option, inlineValue, &remaining)
        } else {
            throw error(unknownOptionMessage(name))
        }
    }

    private mutating func parseSetting(
        _ option: ConfigOption, spelled name: String, _ inlineValue: String?, _ remaining: inout ArraySlice<String>
    ) throws(UsageError) {
        // A boolean setting given bare (`--plain-http`) means true, so a following argument is never its value.
        let text: String
        if case .boolean = option.type.kind, inlineValue == nil {
            text = "true"
        } else {
            text = try requireValue(name, inlineValue, &remaining, placeholder: option.type.placeholder)
        }
        switch option.type.validate(commandLineText: text) {
        case .success(let value):
            overrides.append(ConfigOverride(name: option.name, value: value, argument: "--\(name)=\(text)"))
        case .failure(let mismatch):
            throw error("invalid value for --\(name): \(mismatch.message)")
        }
    }

    private mutating func parseCommandOption(
        _ option: CommandOption, _ inlineValue: String?, _ remaining: inout ArraySlice<String>
    ) throws(UsageError) {
        guard let valueName = option.valueName else {
            if let inlineValue {
                throw error("option --\(option.name) is a flag and takes no value, remove \"=\(inlineValue)\"")
            }
            values[option.name] = "true"
            return
        }
        values[option.name] = try requireValue(option.name, inlineValue, &remaining, placeholder: "<\(valueName)>")
    }

    private func requireValue(
        _ name: String, _ inlineValue: String?, _ remaining: inout ArraySlice<String>, placeholder: String
    ) throws(UsageError) -> String {
        if let inlineValue { return inlineValue }
        guard let next = remaining.first, !next.hasPrefix("--") else {
            throw error("option --\(name) needs a value, write --\(name)=\(placeholder)")
        }
        remaining.removeFirst()
        return next
    }

    private func unknownOptionMessage(_ name: String) -> String {
        var names = subcommand.options.map(\.name) + ["help", "version"]
        if let schema = subcommand.schema {
            names += ["config", "example-config"] + schema.options.map(\.name) + schema.options.compactMap(\.flag)
        }
        let hint = ConfigSchema.closest(to: name, among: names).map { "Did you mean --\($0)? " } ?? ""
        let helpCommand = "\(tool.name) \(subcommand.name) --help"
        return "unknown option --\(name) for \(commandName). \(hint)Run \"\(helpCommand)\" for the list."
    }

    private func error(_ message: String) -> UsageError { UsageError(message) }

    private mutating func result() -> ParsedCommand {
        var path = configPath
        if path == nil, let fallback = subcommand.defaultConfigPath, FileManager.default.fileExists(atPath: fallback) {
            path = fallback
        }
        for option in subcommand.options where values[option.name] == nil {
            values[option.name] = option.defaultValue
        }
        return ParsedCommand(
            subcommand: subcommand, configPath: path, overrides: overrides, values: values, arguments: positionals
        )
    }
}
