// SPDX-License-Identifier: Apache-2.0

/// Parses and formats durations written with units, such as `"50s"`, `"2m"`, `"500ms"` or `"1h30m"`.
public enum DurationFormat {
    /// Unit suffixes and their length in nanoseconds, longest suffix first where one is a prefix of another.
    static let units: [(suffix: String, nanoseconds: Int64)] = [
        ("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
        ("m", 60_000_000_000), ("h", 3_600_000_000_000), ("d", 86_400_000_000_000),
    ]

    /// The accepted form, for error and help messages.
    public static let expectation = "a duration such as \"30s\", \"2m\", \"500ms\" or \"1h30m\""

    /// Parses one or more `<number><unit>` terms (units ns, us, ms, s, m, h, d); a bare `"0"` is zero.
    /// - Throws: `UnitParseError` naming the text when a unit is missing or unknown, or the result overflows.
    public static func parse(_ text: String) throws(UnitParseError) -> Duration {
        let trimmed = text.trimmingWhitespace()
        if trimmed == "0" { return .zero }
        guard !trimmed.isEmpty else { throw UnitParseError("invalid duration \"\": expected \(expectation)") }
        var rest = Substring(trimmed)
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            let suffix = rest.dropFirst(number.count).prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            guard let amount = Double(number), !number.hasPrefix("."), !number.hasSuffix(".") else {
                throw UnitParseError("invalid duration \"\(text)\": expected \(expectation)")
            }
            guard !suffix.isEmpty else {
                let examples = "\"\(number)s\" or \"\(number)ms\""
                throw UnitParseError("invalid duration \"\(text)\": missing unit after \(number), write for example \(examples)")
            }
            guard let unit = units.first(where: { $0.suffix == suffix }) else {
                throw UnitParseError(
                    "invalid duration \"\(text)\": unknown unit \"\(suffix)\", use ns, us, ms, s, m, h or d")
            }
            total += amount * Double(unit.nanoseconds)
            rest = rest.dropFirst(number.count + suffix.count)
        }
        guard total < Double(Int64.max) else {
            throw UnitParseError("invalid duration \"\(text)\": too long, the maximum is about 292 years")
        }
        return .nanoseconds(Int64(total.rounded()))
    }

    /// Formats `duration` with the largest unit that represents it exactly, such as `"90s"` or `"500ms"`.
    public static func format(_ duration: Duration) -> String {
        let nanoseconds = duration.nanosecondsClamped
        if nanoseconds == 0 { return "0s" }
        for unit in units.reversed() where unit.suffix != "d" && unit.suffix != "µs" {
            if nanoseconds % unit.nanoseconds == 0 { return "\(nanoseconds / unit.nanoseconds)\(unit.suffix)" }
        }
        return "\(nanoseconds)ns"
    }
}

extension Duration {
    /// The duration in whole nanoseconds, clamped to the `Int64` range.
    public var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflowSum) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflowSum { return seconds < 0 ? .min : .max }
        return sum
    }

    /// The duration in seconds as a floating-point number.
    public var secondsDouble: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
