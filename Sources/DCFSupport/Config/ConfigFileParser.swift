// SPDX-License-Identifier: Apache-2.0

/// A `key = value` line of a config file, before validation against a schema.
struct ConfigEntry: Sendable {
    /// The section the line belongs to, or `nil` for keys before the first `[section]` header.
    let section: String?
    let key: String
    let line: Int
    let value: Result<ConfigValue, ConfigSyntaxError>
}

/// A `[section]` header line.
struct ConfigSectionHeader: Sendable {
    let name: String
    let line: Int
}

/// The syntax of a config file: section headers and entries in file order, plus lines that are not valid syntax.
struct ConfigFileParser {
    var headers: [ConfigSectionHeader] = []
    var entries: [ConfigEntry] = []
    var issues: [ConfigIssue] = []
    private let file: String?
    private var section: String?

    /// Splits `text` into headers and entries; `file` is used only to locate issues.
    static func parse(_ text: String, file: String?) -> ConfigFileParser {
        var parser = ConfigFileParser(file: file)
        var number = 0
        // Editors on Windows start UTF-8 files with a byte order mark; it is not part of the first line.
        let text = text.hasPrefix("\u{FEFF}") ? text.dropFirst() : Substring(text)
        // "\r\n" is one Character in Swift, so it must be named as a separator of its own.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            parser.parseLine(line, number: number)
        }
        return parser
    }

    private init(file: String?) {
        self.file = file
    }

    private mutating func parseLine(_ line: Substring, number: Int) {
        let content = line.drop { $0 == " " || $0 == "\t" }
        if content.isEmpty || content.hasPrefix("#") { return }
        if content.hasPrefix("[") {
            parseHeader(content, number: number)
            return
        }
        guard let equals = content.firstIndex(of: "=") else {
            report(number, "expected \"key = value\" or \"[section]\", found \(ConfigValue.quote(String(content)))")
            return
        }
        let key = String(content[..<equals]).trimmingWhitespace()
        guard ConfigFileParser.isBareKey(key) else {
            report(number, "invalid key \(ConfigValue.quote(key)), keys use only letters, digits, _ and -")
            return
        }
        let valueText = content[content.index(after: equals)...]
        let lineOffset = line.unicodeScalars.distance(from: line.startIndex, to: valueText.startIndex)
        let value = ConfigValueParser.parse(valueText, lineOffset: lineOffset)
        entries.append(ConfigEntry(section: section, key: key, line: number, value: value))
    }

    private mutating func parseHeader(_ content: Substring, number: Int) {
        guard let close = content.firstIndex(of: "]") else {
            report(number, "invalid section header \(ConfigValue.quote(String(content))), write [name]")
            return
        }
        let name = String(content[content.index(after: content.startIndex)..<close]).trimmingWhitespace()
        let rest = content[content.index(after: close)...].drop { $0 == " " || $0 == "\t" }
        guard ConfigFileParser.isBareKey(name), rest.isEmpty || rest.hasPrefix("#") else {
            report(number, "invalid section header \(ConfigValue.quote(String(content))), write [name]")
            return
        }
        section = name
        headers.append(ConfigSectionHeader(name: name, line: number))
    }

    private mutating func report(_ line: Int, _ message: String) {
        issues.append(ConfigIssue(file: file, line: line, section: nil, key: nil, message: message))
    }

    static func isBareKey(_ key: String) -> Bool {
        !key.isEmpty
            && key.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
            }
    }
}
