// SPDX-License-Identifier: Apache-2.0

/// A value set on the command line for option `name`, already validated against its type.
public struct ConfigOverride: Sendable, Equatable {
    /// The dotted option name, `server.port`.
    public let name: String
    public let value: ConfigValue
    /// The argument as typed, such as `--port=8443`, for diagnostics.
    public let argument: String

    public init(name: String, value: ConfigValue, argument: String) {
        self.name = name
        self.value = value
        self.argument = argument
    }
}

extension ConfigSchema {
    /// Reads the config file at `path` (if any), validates it, and applies `overrides` on top.
    /// - Throws: `ConfigError` listing every issue: unreadable file, syntax, unknown or duplicate keys and
    ///   sections, invalid values, and required options left unset.
    public func load(file path: String?, overrides: [ConfigOverride] = []) throws(ConfigError) -> Configuration {
        guard let path else { return try load(text: "", file: nil, overrides: overrides) }
        let text: String
        do {
            text = try FileReader.readText(path)
        } catch {
            let issue = ConfigIssue(
                file: path, line: nil, section: nil, key: nil, message: "cannot read the config file: \(error)")
            throw ConfigError(issues: [issue])
        }
        return try load(text: text, file: path, overrides: overrides)
    }

    /// Validates config text as if read from `file` and applies `overrides`; see ``load(file:overrides:)``.
    public func load(text: String, file: String?, overrides: [ConfigOverride] = []) throws(ConfigError) -> Configuration
    {
        let parsed = ConfigFileParser.parse(text, file: file)
        var validator = ConfigFileValidator(schema: self, file: file)
        validator.check(parsed)
        var settings = Dictionary(
            uniqueKeysWithValues: options.map {
                ($0.name, ConfigSetting(value: $0.defaultValue, source: .defaultValue))
            })
        settings.merge(validator.settings) { _, fromFile in fromFile }
        for override in overrides {
            precondition(option(named: override.name) != nil, "override of undeclared option \(override.name)")
            settings[override.name] = ConfigSetting(value: override.value, source: .commandLine(override.argument))
        }
        var issues = validator.issues
        for option in options where option.isRequired && settings[option.name]?.value == nil {
            // The short option first, as the programs' --help and the README name it.
            let options = option.flag.map { "--\($0) (or --\(option.name))" } ?? "--\(option.name)"
            let message = "missing required value, set it in the config file or with \(options)"
            issues.append(
                ConfigIssue(file: file, line: nil, section: option.section, key: option.key, message: message))
        }
        guard issues.isEmpty else { throw ConfigError(issues: issues) }
        return Configuration(schema: self, file: file, settings: settings)
    }
}

/// Checks parsed config lines against a schema, collecting valid settings and issues.
private struct ConfigFileValidator {
    let schema: ConfigSchema
    let file: String?
    var settings: [String: ConfigSetting] = [:]
    var issues: [ConfigIssue] = []
    private var firstLines: [String: Int] = [:]

    init(schema: ConfigSchema, file: String?) {
        self.schema = schema
        self.file = file
    }

    mutating func check(_ parsed: ConfigFileParser) {
        var openedSections: [String: Int] = [:]
        for header in parsed.headers {
            if let first = openedSections[header.name] {
                report(header.line, nil, nil, "duplicate section [\(header.name)], first opened on line \(first)")
            } else if !schema.sections.contains(header.name) {
                report(header.line, nil, nil, unknownSectionMessage(header.name))
            }
            openedSections[header.name] = openedSections[header.name] ?? header.line
        }
        for entry in parsed.entries {
            check(entry)
        }
        issues += parsed.issues
        issues.sort { ($0.line ?? 0) < ($1.line ?? 0) }
    }

    private mutating func check(_ entry: ConfigEntry) {
        guard let section = entry.section else {
            report(entry.line, nil, entry.key, "a key outside any section, move it under a [section] header")
            return
        }
        // Keys of an unknown section are not reported again: the header line already names the problem.
        guard schema.sections.contains(section) else { return }
        guard let option = schema.option(named: "\(section).\(entry.key)") else {
            report(entry.line, section, entry.key, unknownKeyMessage(entry.key, section: section))
            return
        }
        if let first = firstLines[option.name] {
            report(entry.line, section, entry.key, "duplicate key, first set on line \(first)")
            return
        }
        firstLines[option.name] = entry.line
        switch validatedValue(entry, option) {
        case .success(let value):
            settings[option.name] = ConfigSetting(value: value, source: .file(file, line: entry.line))
        case .failure(let mismatch):
            report(entry.line, section, entry.key, mismatch.message)
        }
    }

    private func validatedValue(_ entry: ConfigEntry, _ option: ConfigOption) -> Result<
        ConfigValue, ConfigValueMismatch
    > {
        switch entry.value {
        case .failure(let syntax):
            guard let token = syntax.bareToken else { return .failure(ConfigValueMismatch(message: syntax.message)) }
            switch option.type.kind {
            case .string, .choice, .duration, .byteCount:
                // A bare word such as `kind = command` is the likely slip: the value lacks its quotes.
                return .failure(
                    ConfigValueMismatch(
                        message: "expected \(option.type.expectation), found the bare word \(token); "
                            + "write strings in double quotes: \(ConfigValue.quote(token))"))
            default:
                return .failure(ConfigValueMismatch(expected: option.type, found: ConfigValue.quote(token)))
            }
        case .success(let value):
            return option.type.validate(value)
        }
    }

    private func unknownSectionMessage(_ name: String) -> String {
        if let suggestion = ConfigSchema.closest(to: name, among: schema.sections) {
            return "unknown section [\(name)], did you mean [\(suggestion)]?"
        }
        return "unknown section [\(name)], the sections are "
            + schema.sections.map { "[\($0)]" }.joined(separator: ", ")
    }

    private func unknownKeyMessage(_ key: String, section: String) -> String {
        let keys = schema.options.filter { $0.section == section }.map(\.key)
        if let suggestion = ConfigSchema.closest(to: key, among: keys) {
            return "unknown key, did you mean \"\(suggestion)\"?"
        }
        return "unknown key, the keys of [\(section)] are " + keys.joined(separator: ", ")
    }

    private mutating func report(_ line: Int, _ section: String?, _ key: String?, _ message: String) {
        issues.append(ConfigIssue(file: file, line: line, section: section, key: key, message: message))
    }
}
