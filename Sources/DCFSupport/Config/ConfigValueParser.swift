// SPDX-License-Identifier: Apache-2.0

/// A parser for one value literal of the config-file syntax, a subset of TOML.
///
/// Accepted: a basic `"..."` or literal `'...'` string, a decimal integer or float (with `_` allowed between
/// digits), `true`, `false`, or a one-line array of those. A `#` comment may follow the value.
struct ConfigValueParser {
    private let scalars: [Unicode.Scalar]
    /// The number of Unicode scalars on the line before `text`, so error columns count from the start of the line.
    private let lineOffset: Int
    private var position = 0

    private init(_ text: Substring, lineOffset: Int) {
        scalars = Array(text.unicodeScalars)
        self.lineOffset = lineOffset
    }

    /// Parses `text` as a whole; anything but blanks or a comment after the value is an error. `lineOffset` is
    /// the number of Unicode scalars before `text` on its line, such as `key =`, for the columns in errors.
    static func parse(_ text: Substring, lineOffset: Int = 0) -> Result<ConfigValue, ConfigSyntaxError> {
        var parser = ConfigValueParser(text, lineOffset: lineOffset)
        do throws(ConfigSyntaxError) {
            parser.skipBlanks()
            let value = try parser.parseValue(nested: false)
            parser.skipBlanks()
            if let next = parser.peek(), next != "#" {
                throw ConfigSyntaxError("unexpected text \"\(parser.rest)\" after the value, start a comment with #")
            }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }

    private var rest: String {
        var text = String.UnicodeScalarView()
        text.append(contentsOf: scalars[position...])
        return String(text)
    }

    private func peek() -> Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

    private mutating func skipBlanks() {
        while let next = peek(), next == " " || next == "\t" { position += 1 }
    }

    private mutating func parseValue(nested: Bool) throws(ConfigSyntaxError) -> ConfigValue {
        switch peek() {
        case nil, "#": throw ConfigSyntaxError("missing value after =")
        case "\"": return .string(try parseBasicString())
        case "'": return .string(try parseLiteralString())
        case "[" where !nested: return try parseArray()
        case "[": throw ConfigSyntaxError("nested arrays are not supported")
        default: return try parseBareToken()
        }
    }

    private mutating func parseBasicString() throws(ConfigSyntaxError) -> String {
        let start = position
        position += 1
        var text = String.UnicodeScalarView()
        while let next = peek() {
            position += 1
            switch next {
            case "\"": return String(text)
            case "\\": text.append(try parseEscape())
            default: text.append(next)
            }
        }
        throw ConfigSyntaxError("unterminated string starting at column \(lineOffset + start + 1), add the closing \"")
    }

    private mutating func parseEscape() throws(ConfigSyntaxError) -> Unicode.Scalar {
        guard let code = peek() else { throw ConfigSyntaxError("unterminated escape sequence at end of line") }
        position += 1
        switch code {
        case "\"": return "\""
        case "\\": return "\\"
        case "n": return "\n"
        case "t": return "\t"
        case "r": return "\r"
        case "b": return "\u{08}"
        case "f": return "\u{0C}"
        case "u": return try parseUnicodeEscape(digits: 4)
        case "U": return try parseUnicodeEscape(digits: 8)
        default:
            throw ConfigSyntaxError("invalid escape \\\(code) in string, use \\\\ for a backslash")
        }
    }

    private mutating func parseUnicodeEscape(digits: Int) throws(ConfigSyntaxError) -> Unicode.Scalar {
        let end = position + digits
        guard end <= scalars.count else { throw ConfigSyntaxError("\\u escape needs \(digits) hex digits") }
        var hex = String.UnicodeScalarView()
        hex.append(contentsOf: scalars[position..<end])
        position = end
        guard let value = UInt32(String(hex), radix: 16), let scalar = Unicode.Scalar(value) else {
            throw ConfigSyntaxError("invalid unicode escape \\u\(String(hex))")
        }
        return scalar
    }

    private mutating func parseLiteralString() throws(ConfigSyntaxError) -> String {
        let start = position
        position += 1
        var text = String.UnicodeScalarView()
        while let next = peek() {
            position += 1
            if next == "'" { return String(text) }
            text.append(next)
        }
        throw ConfigSyntaxError("unterminated string starting at column \(lineOffset + start + 1), add the closing '")
    }

    private mutating func parseArray() throws(ConfigSyntaxError) -> ConfigValue {
        position += 1
        var elements: [ConfigValue] = []
        while true {
            skipBlanks()
            if peek() == "]" {
                position += 1
                return .array(elements)
            }
            guard peek() != nil, peek() != "#" else {
                throw ConfigSyntaxError("unterminated array, add the closing ] on the same line")
            }
            elements.append(try parseValue(nested: true))
            skipBlanks()
            switch peek() {
            case ",": position += 1
            case "]": continue
            default: throw ConfigSyntaxError("expected , or ] after an array element")
            }
        }
    }

    private mutating func parseBareToken() throws(ConfigSyntaxError) -> ConfigValue {
        var token = String.UnicodeScalarView()
        while let next = peek(), !" \t,]#".unicodeScalars.contains(next) {
            token.append(next)
            position += 1
        }
        let text = String(token)
        if let value = ConfigValueParser.parseBare(text) { return value }
        throw ConfigSyntaxError(bareToken: text)
    }

    /// Parses `true`, `false`, or a decimal integer or float with optional sign and `_` between digits.
    static func parseBare(_ text: String) -> ConfigValue? {
        if text == "true" { return .boolean(true) }
        if text == "false" { return .boolean(false) }
        guard isWellFormedNumber(text) else { return nil }
        let digits = text.replacingUnderscores()
        if let integer = Int64(digits) { return .integer(integer) }
        if let float = Double(digits), float.isFinite, digits.contains(where: { ".eE".contains($0) }) {
            return .float(float)
        }
        return nil
    }

    /// TOML allows `_` only between two digits, and a decimal point only between digits.
    private static func isWellFormedNumber(_ text: String) -> Bool {
        let characters = Array(text)
        guard !characters.isEmpty else { return false }
        for (index, character) in characters.enumerated() where character == "_" || character == "." {
            let before = index > 0 ? characters[index - 1] : " "
            let after = index + 1 < characters.count ? characters[index + 1] : " "
            guard before.isASCII, before.isNumber, after.isASCII, after.isNumber else { return false }
        }
        return true
    }
}

/// A value literal that breaks the config-file syntax.
struct ConfigSyntaxError: Error, Sendable {
    let message: String
    /// The invalid unquoted token, when the value was a bare word; the schema then reports what it expected.
    let bareToken: String?

    init(_ message: String) {
        self.message = message
        self.bareToken = nil
    }

    init(bareToken: String) {
        self.message = "invalid value \(ConfigValue.quote(bareToken)), quote strings with \""
        self.bareToken = bareToken
    }
}

extension String {
    func replacingUnderscores() -> String { filter { $0 != "_" } }
}
