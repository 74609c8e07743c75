// SPDX-License-Identifier: Apache-2.0

/// The origin of a setting's value; the cases are listed lowest precedence first.
public enum ConfigSource: Sendable, Equatable, CustomStringConvertible {
    case defaultValue
    case file(String?, line: Int)
    case commandLine(String)

    public var description: String {
        switch self {
        case .defaultValue: "default"
        case .file(let path, let line): "\(path ?? "config"):\(line)"
        case .commandLine(let argument): "command line \(argument)"
        }
    }
}

/// A setting's resolved value and its source.
public struct ConfigSetting: Sendable, Equatable {
    /// The value, or `nil` when an optional option without default is unset.
    public let value: ConfigValue?
    public let source: ConfigSource
}

/// Validated settings for every option of a schema: defaults, overridden by the file, overridden by the command line.
///
/// Accessors take the dotted option name (`"server.port"`). Asking for an undeclared option, the wrong type, or an
/// unset value through a non-optional accessor is a programming error and traps.
public struct Configuration: Sendable {
    public let schema: ConfigSchema
    /// The config file that was read, if any.
    public let file: String?
    private let settings: [String: ConfigSetting]

    init(schema: ConfigSchema, file: String?, settings: [String: ConfigSetting]) {
        self.schema = schema
        self.file = file
        self.settings = settings
    }

    /// Returns the names of the options whose values differ from those in `other`, in schema order.
    public func changedOptions(since other: Configuration) -> [String] {
        schema.options.map(\.name).filter { settings[$0]?.value != other.settings[$0]?.value }
    }

    /// Returns the value and source of option `name`.
    public func setting(_ name: String) -> ConfigSetting {
        guard let setting = settings[name] else { preconditionFailure("option \(name) is not declared in the schema") }
        return setting
    }

    /// Returns the value of option `name`, or `nil` when it is unset.
    public func value(_ name: String) -> ConfigValue? { setting(name).value }

    public func string(_ name: String) -> String {
        guard case .string(let text) = required(name) else { typeMismatch(name, "string") }
        return text
    }

    /// Returns the string value, or `nil` when the option has no default and is not set.
    public func optionalString(_ name: String) -> String? {
        value(name) == nil ? nil : string(name)
    }

    public func integer(_ name: String) -> Int {
        guard case .integer(let number) = required(name) else { typeMismatch(name, "integer") }
        return Int(number)
    }

    public func double(_ name: String) -> Double {
        guard case .float(let number) = required(name) else { typeMismatch(name, "float") }
        return number
    }

    public func bool(_ name: String) -> Bool {
        guard case .boolean(let flag) = required(name) else { typeMismatch(name, "boolean") }
        return flag
    }

    public func duration(_ name: String) -> Duration {
        guard case .duration(let duration) = required(name) else { typeMismatch(name, "duration") }
        return duration
    }

    /// Returns a size option's value in bytes.
    public func byteCount(_ name: String) -> Int {
        guard case .byteCount(let bytes) = required(name) else { typeMismatch(name, "byteCount") }
        return Int(bytes)
    }

    /// Returns a size option's value in bytes, or `nil` when the option has no default and is not set.
    public func optionalByteCount(_ name: String) -> Int? {
        value(name) == nil ? nil : byteCount(name)
    }

    public func strings(_ name: String) -> [String] {
        guard case .array(let elements) = required(name) else { typeMismatch(name, "stringArray") }
        return elements.map { element in
            guard case .string(let text) = element else { typeMismatch(name, "stringArray") }
            return text
        }
    }

    public func numbers(_ name: String) -> [Double] {
        guard case .array(let elements) = required(name) else { typeMismatch(name, "numberArray") }
        return elements.map { element in
            guard case .float(let number) = element else { typeMismatch(name, "numberArray") }
            return number
        }
    }

    private func required(_ name: String) -> ConfigValue {
        guard let value = value(name) else { preconditionFailure("option \(name) is unset, use an optional accessor") }
        return value
    }

    private func typeMismatch(_ name: String, _ accessor: String) -> Never {
        preconditionFailure("option \(name) is not of type \(accessor)")
    }
}
