// SPDX-License-Identifier: Apache-2.0

/// The type an option's value must have, with its allowed range; validates file values and command-line text.
public struct ConfigValueType: Sendable {
    enum Kind: Sendable {
        case string
        case choice([String])
        case integer(ClosedRange<Int64>)
        case float(ClosedRange<Double>)
        case boolean
        case duration(ClosedRange<Duration>)
        case byteCount(ClosedRange<Int64>)
        case stringArray
        case numberArray
    }

    let kind: Kind

    /// Any string.
    public static let string = ConfigValueType(kind: .string)
    /// `true` or `false`.
    public static let boolean = ConfigValueType(kind: .boolean)
    /// A list of strings, written `["a", "b"]` in a file or `a,b` on the command line.
    public static let stringArray = ConfigValueType(kind: .stringArray)
    /// A list of numbers, written `[1, 2.5]` in a file or `1,2.5` on the command line.
    public static let numberArray = ConfigValueType(kind: .numberArray)

    /// Returns a type accepting one of the listed words.
    public static func choice(_ words: [String]) -> ConfigValueType { ConfigValueType(kind: .choice(words)) }

    /// Returns a type accepting an integer within `range`.
    public static func integer(_ range: ClosedRange<Int64> = Int64.min...Int64.max) -> ConfigValueType {
        ConfigValueType(kind: .integer(range))
    }

    /// Returns a type accepting a number within `range`, integers included.
    public static func float(
        _ range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
    )
        -> ConfigValueType
    {
        ConfigValueType(kind: .float(range))
    }

    /// Returns a type accepting a duration string such as `"30s"` within `range`.
    public static func duration(_ range: ClosedRange<Duration> = .zero...Duration.seconds(Int64.max / 1_000_000_000))
        -> ConfigValueType
    {
        ConfigValueType(kind: .duration(range))
    }

    /// Returns a type accepting a size string such as `"64MiB"`, or an integer number of bytes, within `range`.
    public static func byteCount(_ range: ClosedRange<Int64> = 0...Int64.max) -> ConfigValueType {
        ConfigValueType(kind: .byteCount(range))
    }

    /// Placeholder for the value in `--help`, such as `<integer>` or `<duration>`.
    public var placeholder: String {
        switch kind {
        case .string: "<string>"
        case .choice(let words): words.joined(separator: "|")
        case .integer: "<integer>"
        case .float: "<number>"
        case .boolean: "true|false"
        case .duration: "<duration>"
        case .byteCount: "<size>"
        case .stringArray: "<string,...>"
        case .numberArray: "<number,...>"
        }
    }

    /// The description of a valid value used in error messages, such as `an integer 1-65535`.
    public var expectation: String {
        switch kind {
        case .string: "a string"
        case .choice(let words): "one of " + words.map { "\"\($0)\"" }.joined(separator: ", ")
        case .integer(let range): "an integer" + ConfigValueType.describe(range, full: Int64.min...Int64.max)
        case .float(let range):
            "a number"
                + ConfigValueType.describe(
                    range, full: -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude)
        case .boolean: "true or false"
        case .duration(let range): ConfigValueType.describeDuration(range)
        case .byteCount(let range): ConfigValueType.describeByteCount(range)
        case .stringArray: "an array of strings such as [\"a\", \"b\"]"
        case .numberArray: "an array of numbers such as [1, 2.5]"
        }
    }

    private static func describe<T: Comparable & CustomStringConvertible>(_ range: ClosedRange<T>, full: ClosedRange<T>)
        -> String
    {
        switch (range.lowerBound == full.lowerBound, range.upperBound == full.upperBound) {
        case (true, true): ""
        case (false, true): " of at least \(range.lowerBound)"
        case (true, false): " of at most \(range.upperBound)"
        case (false, false): " \(range.lowerBound)-\(range.upperBound)"
        }
    }

    private static func describeDuration(_ range: ClosedRange<Duration>) -> String {
        var text = DurationFormat.expectation
        if range.lowerBound > .zero { text += ", at least \(DurationFormat.format(range.lowerBound))" }
        if range.upperBound < Duration.seconds(Int64.max / 1_000_000_000) {
            text += ", at most \(DurationFormat.format(range.upperBound))"
        }
        return text
    }

    private static func describeByteCount(_ range: ClosedRange<Int64>) -> String {
        var text = ByteCountFormat.expectation
        if range.lowerBound > 0 { text += ", at least \(ByteCountFormat.format(range.lowerBound))" }
        if range.upperBound < Int64.max { text += ", at most \(ByteCountFormat.format(range.upperBound))" }
        return text
    }
}
