// SPDX-License-Identifier: Apache-2.0

/// A parsed command line ready to run: the subcommand, its config file and overrides, options and arguments.
public struct ParsedCommand: Sendable {
    public let subcommand: Subcommand
    /// The `--config` path, or the subcommand's default config path when that file exists, or `nil`.
    public let configPath: String?
    /// `--section.key=value` and alias options, in command-line order; later ones win.
    public let overrides: [ConfigOverride]
    /// Values of the subcommand's non-config options, defaults filled in; flags that are set have `"true"`.
    public let values: [String: String]
    /// Positional arguments in order.
    public let arguments: [String]

    /// Returns whether the flag `name` was given.
    public func flag(_ name: String) -> Bool { values[name] == "true" }

    /// Returns the value of option `name`, or its default, or `nil`.
    public func option(_ name: String) -> String? { values[name] }

    /// Loads the config file (if any) against the subcommand's schema and applies the command-line overrides.
    /// Call it again on reload to pick up an edited file with the same overrides.
    /// - Throws: `ConfigError`.
    public func loadConfiguration() throws(ConfigError) -> Configuration {
        guard let schema = subcommand.schema else { preconditionFailure("subcommand \(subcommand.name) has no schema") }
        return try schema.load(file: configPath, overrides: overrides)
    }
}
