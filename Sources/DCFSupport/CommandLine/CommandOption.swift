// SPDX-License-Identifier: Apache-2.0

/// A command-line option that is not a config setting, such as `--output <file>` or the flag `--force`.
public struct CommandOption: Sendable {
    /// The name without dashes: `output` is written `--output`.
    public let name: String
    /// Placeholder for the value in help, such as `file`; `nil` makes the option a flag that takes no value.
    public let valueName: String?
    /// The value used when the option is absent; flags are `false` when absent.
    public let defaultValue: String?
    public let help: String

    /// Declares a flag: present means on, absent means off.
    public static func flag(_ name: String, help: String) -> CommandOption {
        CommandOption(name: name, valueName: nil, defaultValue: nil, help: help)
    }

    /// Declares an option that takes a value, written `--name value` or `--name=value`.
    public static func value(_ name: String, valueName: String, default defaultValue: String? = nil, help: String)
        -> CommandOption
    {
        CommandOption(name: name, valueName: valueName, defaultValue: defaultValue, help: help)
    }
}

/// One subcommand of a tool, such as `dcf-agent run`, with its config schema and extra options.
public struct Subcommand: Sendable {
    public let name: String
    /// One line saying what the subcommand does, shown in the tool's help.
    public let summary: String
    /// The settings read from `--config` and overridable with `--section.key=value`; `nil` for no config file.
    public let schema: ConfigSchema?
    /// The config file read when `--config` is absent and this file exists.
    public let defaultConfigPath: String?
    public let options: [CommandOption]
    /// Usage text for positional arguments, such as `<key-file>...`; `nil` rejects positional arguments.
    public let argumentsUsage: String?

    public init(
        name: String, summary: String, schema: ConfigSchema? = nil, defaultConfigPath: String? = nil,
        options: [CommandOption] = [], argumentsUsage: String? = nil
    ) {
        self.name = name
        self.summary = summary
        self.schema = schema
        self.defaultConfigPath = defaultConfigPath
        self.options = options
        self.argumentsUsage = argumentsUsage
    }
}

/// An invalid command line; the message names the argument and the fix. Ends the process with `EX_USAGE` (64).
public struct UsageError: Error, Sendable, Equatable, CustomStringConvertible, ExitCodeProviding {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }

    public var exitCode: ExitCode { .usage }
}
