// SPDX-License-Identifier: Apache-2.0

/// One setting a program declares: where it lives in the config file, its type, default, unit and help text.
///
/// The same declaration validates the file, accepts the `--section.key=value` command-line override, and
/// produces the `--help` line and the example config file.
public struct ConfigOption: Sendable {
    public let section: String
    public let key: String
    public let type: ConfigValueType
    /// The value used when neither the file nor the command line sets one; `nil` means unset.
    public let defaultValue: ConfigValue?
    /// A required option has no default and must be set in the file or on the command line.
    public let isRequired: Bool
    /// The unit shown in help, such as `"bytes"` or `"connections"`; durations and sizes carry their own units.
    public let unit: String?
    /// A short command-line alias: `"port"` makes `--port 8443` equal to `--server.port=8443`.
    public let flag: String?
    /// One or two sentences saying what the option sets.
    public let help: String

    /// Declares an optional setting with a default (or none, when it may stay unset).
    /// - Precondition: `defaultValue`, when given, is valid for `type`.
    public init(
        _ section: String, _ key: String, type: ConfigValueType, default defaultValue: ConfigValue?,
        unit: String? = nil, flag: String? = nil, help: String
    ) {
        self.init(section, key, type, defaultValue, isRequired: false, unit: unit, flag: flag, help: help)
    }

    /// Declares a setting without a default that every configuration must set.
    public static func required(
        _ section: String, _ key: String, type: ConfigValueType, unit: String? = nil, flag: String? = nil,
        help: String
    ) -> ConfigOption {
        ConfigOption(section, key, type, nil, isRequired: true, unit: unit, flag: flag, help: help)
    }

    private init(
        _ section: String, _ key: String, _ type: ConfigValueType, _ defaultValue: ConfigValue?, isRequired: Bool,
        unit: String?, flag: String?, help: String
    ) {
        precondition(
            ConfigFileParser.isBareKey(section) && ConfigFileParser.isBareKey(key), "invalid name \(section).\(key)")
        self.section = section
        self.key = key
        self.type = type
        self.isRequired = isRequired
        self.unit = unit
        self.flag = flag
        self.help = help
        guard let defaultValue else {
            self.defaultValue = nil
            return
        }
        switch type.validate(defaultValue) {
        case .success(let canonical): self.defaultValue = canonical
        case .failure(let mismatch): preconditionFailure("default of \(section).\(key): \(mismatch.message)")
        }
    }

    /// The dotted name used on the command line and in accessors: `server.port`.
    public var name: String { "\(section).\(key)" }
}
