// SPDX-License-Identifier: Apache-2.0

/// Parses and formats sizes in bytes written with units, such as `"64MiB"`, `"1GB"` or `"4096"`.
public enum ByteCountFormat {
    /// Unit suffixes and their size in bytes: SI units are powers of 1000, IEC units powers of 1024.
    static let units: [(suffix: String, bytes: Int64)] = [
        ("B", 1),
        ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
    ]

    /// The accepted form, for error and help messages.
    public static let expectation = "a size such as \"64MiB\", \"1GB\" or \"4096\" (bytes)"

    /// Parses a number of bytes with an optional unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB).
    /// A fractional amount such as `"1.5GiB"` is rounded to the nearest byte.
    /// - Throws: `UnitParseError` naming the text when the number or unit is invalid or the size overflows.
    public static func parse(_ text: String) throws(UnitParseError) -> Int64 {
        let trimmed = text.trimmingWhitespace()
        let number = trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let suffix = trimmed.dropFirst(number.count).drop(while: { $0 == " " })
        guard let amount = Double(number), !number.hasPrefix("."), !number.hasSuffix(".") else {
            throw UnitParseError("invalid size \"\(text)\": expected \(expectation)")
        }
        var multiplier: Int64 = 1
        if !suffix.isEmpty {
            guard let unit = units.first(where: { $0.suffix == suffix }) else {
                throw UnitParseError(
                    "invalid size \"\(text)\": unknown unit \"\(suffix)\", use B, KB, MB, GB, TB (powers of 1000)"
                        + " or KiB, MiB, GiB, TiB (powers of 1024)"
                )
            }
            multiplier = unit.bytes
        }
        let bytes = (amount * Double(multiplier)).rounded()
        guard bytes < Double(Int64.max) else {
            throw UnitParseError("invalid size \"\(text)\": too large, the maximum is 8EiB")
        }
        return Int64(bytes)
    }

    /// Formats `bytes` with the largest IEC or SI unit that represents it exactly, such as `"64MiB"` or `"1GB"`.
    public static func format(_ bytes: Int64) -> String {
        guard bytes > 0 else { return "\(bytes)B" }
        let best = units.filter { bytes % $0.bytes == 0 }.max { $0.bytes < $1.bytes }!
        return "\(bytes / best.bytes)\(best.suffix)"
    }
}
