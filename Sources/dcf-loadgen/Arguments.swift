// SPDX-License-Identifier: Apache-2.0
import Foundation

/// `--name value` options of one subcommand, with typed accessors whose errors name the option and the fix.
struct Arguments {
    private var values: [String: String] = [:]

    init(_ arguments: ArraySlice<String>) throws(UsageError) {
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let name = arguments[index]
            guard name.hasPrefix("--"), name.count > 2 else {
                throw UsageError("unexpected argument \"\(name)\"; options are written --name value")
            }
            let next = arguments.index(after: index)
            guard next < arguments.endIndex else { throw UsageError("option \(name) needs a value") }
            values[String(name.dropFirst(2))] = arguments[next]
            index = arguments.index(after: next)
        }
    }

    func string(_ name: String) throws(UsageError) -> String {
        guard let value = values[name] else { throw UsageError("missing option --\(name)") }
        return value
    }

    func optionalString(_ name: String) -> String? { values[name] }

    func integer(_ name: String, default defaultValue: Int? = nil, range: ClosedRange<Int> = 0...Int.max)
        throws(UsageError) -> Int
    {
        guard let text = values[name] else {
            guard let defaultValue else { throw UsageError("missing option --\(name)") }
            return defaultValue
        }
        guard let value = Int(text), range.contains(value) else {
            throw UsageError("--\(name) \"\(text)\" must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// A byte count written as digits with an optional suffix: kB, MB, GB (powers of 1000) or KiB, MiB, GiB.
    func byteCount(_ name: String) throws(UsageError) -> Int {
        let text = try string(name)
        guard let bytes = Self.parseByteCount(text), bytes > 0 else {
            throw UsageError("--\(name) \"\(text)\" must be a positive byte count such as 13MB, 1MiB or 4096")
        }
        return bytes
    }

    static func parseByteCount(_ text: String) -> Int? {
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("kB", 1000), ("KB", 1000),
            ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1),
        ]
        for (suffix, multiplier) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)) else { return nil }
            return Int(value * Double(multiplier))
        }
        return Int(text)
    }
}

/// A command-line mistake; the message names the value and what to write instead.
struct UsageError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}
