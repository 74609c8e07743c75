// SPDX-License-Identifier: Apache-2.0

extension ConfigValueType {
    /// Checks a value parsed from a config file and converts it to this type's canonical form.
    /// - Returns: the value, or a message such as `expected an integer 1-65535, found 70000`.
    func validate(_ value: ConfigValue) -> Result<ConfigValue, ConfigValueMismatch> {
        switch (kind, value) {
        case (.string, .string):
            return .success(value)
        case (.choice(let words), .string(let word)):
            return words.contains(word) ? .success(value) : mismatch(value)
        case (.integer(let range), .integer(let number)):
            return range.contains(number) ? .success(value) : mismatch(value)
        case (.float(let range), .float(let number)):
            return range.contains(number) ? .success(value) : mismatch(value)
        case (.float(let range), .integer(let number)):
            return range.contains(Double(number)) ? .success(.float(Double(number))) : mismatch(value)
        case (.boolean, .boolean):
            return .success(value)
        case (.duration(let range), .string(let text)):
            return validateDuration(text, range: range)
        case (.byteCount(let range), .string(let text)):
            return validateByteCount(text, range: range)
        case (.duration(let range), .duration(let duration)):
            return range.contains(duration) ? .success(value) : mismatch(value)
        case (.byteCount(let range), .byteCount(let bytes)), (.byteCount(let range), .integer(let bytes)):
            return range.contains(bytes) ? .success(.byteCount(bytes)) : mismatch(value)
        case (.stringArray, .array(let elements)):
            let allStrings = elements.allSatisfy { if case .string = $0 { true } else { false } }
            return allStrings ? .success(value) : mismatch(value)
        case (.numberArray, .array(let elements)):
            return validateNumbers(elements).map { .success(.array($0)) } ?? mismatch(value)
        default:
            return mismatch(value)
        }
    }

    /// Converts command-line text to a value of this type; a mismatch quotes `text` as typed.
    func validate(commandLineText text: String) -> Result<ConfigValue, ConfigValueMismatch> {
        convert(commandLineText: text).mapError { mismatch in
            mismatch.isTypeMismatch ? ConfigValueMismatch(expected: self, found: ConfigValue.quote(text)) : mismatch
        }
    }

    private func convert(commandLineText text: String) -> Result<ConfigValue, ConfigValueMismatch> {
        switch kind {
        case .string, .choice, .duration:
            return validate(.string(text))
        case .integer:
            guard let number = Int64(text) else {
                return .failure(ConfigValueMismatch(expected: self, found: ConfigValue.quote(text)))
            }
            return validate(.integer(number))
        case .float:
            guard let number = Double(text), number.isFinite else {
                return .failure(ConfigValueMismatch(expected: self, found: ConfigValue.quote(text)))
            }
            return validate(.float(number))
        case .boolean:
            guard text == "true" || text == "false" else {
                return .failure(ConfigValueMismatch(expected: self, found: ConfigValue.quote(text)))
            }
            return validate(.boolean(text == "true"))
        case .byteCount:
            return validate(Int64(text).map(ConfigValue.integer) ?? .string(text))
        case .stringArray, .numberArray:
            return validate(commandLineArray: text)
        }
    }

    private func validate(commandLineArray text: String) -> Result<ConfigValue, ConfigValueMismatch> {
        if text.hasPrefix("[") {
            guard case .success(let value) = ConfigValueParser.parse(Substring(text)) else {
                return .failure(ConfigValueMismatch(expected: self, found: ConfigValue.quote(text)))
            }
            return validate(value)
        }
        let items =
            text.isEmpty
            ? []
            : text.split(separator: ",", omittingEmptySubsequences: false).map {
                String($0).trimmingWhitespace()
            }
        if case .stringArray = kind { return validate(.array(items.map(ConfigValue.string))) }
        var numbers: [ConfigValue] = []
        for item in items {
            guard let number = Double(item) else {
                return .failure(ConfigValueMismatch(expected: self, found: ConfigValue.quote(text)))
            }
            numbers.append(.float(number))
        }
        return validate(.array(numbers))
    }

    private func validateDuration(_ text: String, range: ClosedRange<Duration>) -> Result<
        ConfigValue, ConfigValueMismatch
    > {
        do {
            let duration = try DurationFormat.parse(text)
            guard range.contains(duration) else { return mismatch(.string(text)) }
            return .success(.duration(duration))
        } catch {
            return .failure(ConfigValueMismatch(message: error.description))
        }
    }

    private func validateByteCount(_ text: String, range: ClosedRange<Int64>) -> Result<
        ConfigValue, ConfigValueMismatch
    > {
        do {
            let bytes = try ByteCountFormat.parse(text)
            guard range.contains(bytes) else { return mismatch(.string(text)) }
            return .success(.byteCount(bytes))
        } catch {
            return .failure(ConfigValueMismatch(message: error.description))
        }
    }

    private func validateNumbers(_ elements: [ConfigValue]) -> [ConfigValue]? {
        var numbers: [ConfigValue] = []
        for element in elements {
            switch element {
            case .float: numbers.append(element)
            case .integer(let number): numbers.append(.float(Double(number)))
            default: return nil
            }
        }
        return numbers
    }

    private func mismatch(_ value: ConfigValue) -> Result<ConfigValue, ConfigValueMismatch> {
        .failure(ConfigValueMismatch(expected: self, found: ConfigValueMismatch.describe(value)))
    }
}

/// Why a value does not fit an option's type: `expected an integer 1-65535, found 70000`.
struct ConfigValueMismatch: Error, Sendable {
    let message: String
    /// True when the value has the wrong type or range, false for a detailed parse error such as a bad unit.
    let isTypeMismatch: Bool

    init(message: String) {
        self.message = message
        self.isTypeMismatch = false
    }

    init(expected type: ConfigValueType, found: String) {
        self.message = "expected \(type.expectation), found \(found)"
        self.isTypeMismatch = true
    }

    /// Describes a parsed value by its literal, naming strings and arrays so a type mismatch is obvious.
    static func describe(_ value: ConfigValue) -> String {
        switch value {
        case .string: "the string \(value)"
        case .array: "the array \(value)"
        default: value.description
        }
    }
}
