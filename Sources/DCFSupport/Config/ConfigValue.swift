// SPDX-License-Identifier: Apache-2.0

/// A setting's value as read from a config file, the command line or a default.
///
/// The file parser produces only `string`, `integer`, `float`, `boolean` and `array`. Validation against an
/// option's ``ConfigValueType`` turns strings into `duration` and `byteCount` where the option declares them.
public enum ConfigValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case array([ConfigValue])
    case duration(Duration)
    /// A size in bytes.
    case byteCount(Int64)

    /// The value written in config-file syntax, as the example config file and `--help` show it.
    public var description: String {
        switch self {
        case .string(let text): ConfigValue.quote(text)
        case .integer(let number): String(number)
        case .float(let number): String(number)
        case .boolean(let flag): flag ? "true" : "false"
        case .array(let elements): "[" + elements.map(\.description).joined(separator: ", ") + "]"
        case .duration(let duration): ConfigValue.quote(DurationFormat.format(duration))
        case .byteCount(let bytes): ConfigValue.quote(ByteCountFormat.format(bytes))
        }
    }

    /// Returns `text` as a double-quoted config-file string with `"`, `\` and control characters escaped.
    public static func quote(_ text: String) -> String {
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\t": quoted += "\\t"
            case "\r": quoted += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                quoted += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4)
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
