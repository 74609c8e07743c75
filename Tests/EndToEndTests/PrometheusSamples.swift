// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A `/metrics` response parsed by the rules of the Prometheus text format, version 0.0.4.
///
/// Parsing fails on a line that is neither a `# HELP`/`# TYPE` comment nor a `name{labels} value` sample, on a
/// sample whose family has no `# TYPE`, and on a family typed twice.
struct PrometheusSamples {
    struct InvalidLine: Error, CustomStringConvertible {
        let line: String
        let reason: String
        var description: String { "invalid Prometheus line \"\(line)\": \(reason)" }
    }

    /// Sample values keyed by the series as written, e.g. `dcf_requests_total{route="healthz",status="200"}`.
    private(set) var values: [String: Double] = [:]
    /// Family names and their types.
    private(set) var types: [String: String] = [:]

    init(parsing text: String) throws {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) where !line.isEmpty {
            if line.hasPrefix("#") {
                try parseComment(line)
            } else {
                try parseSample(line)
            }
        }
    }

    subscript(series: String) -> Double? { values[series] }

    private mutating func parseComment(_ line: String) throws {
        let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
        guard parts.count >= 3, parts[1] == "HELP" || parts[1] == "TYPE" else {
            throw InvalidLine(line: line, reason: "a comment must be # HELP or # TYPE with a metric name")
        }
        guard Self.isMetricName(parts[2]) else { throw InvalidLine(line: line, reason: "invalid metric name") }
        guard parts[1] == "TYPE" else { return }
        guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
            throw InvalidLine(line: line, reason: "unknown type")
        }
        guard types.updateValue(parts[3], forKey: parts[2]) == nil else {
            throw InvalidLine(line: line, reason: "family typed twice")
        }
    }

    private mutating func parseSample(_ line: String) throws {
        guard let space = line.lastIndex(of: " ") else { throw InvalidLine(line: line, reason: "no value") }
        let series = String(line[..<space])
        let valueText = String(line[line.index(after: space)...])
        guard let value = Double(valueText) ?? (valueText == "+Inf" ? .infinity : nil) else {
            throw InvalidLine(line: line, reason: "value \"\(valueText)\" is not a number")
        }
        let name = String(series.prefix { $0 != "{" })
        guard Self.isMetricName(name) else { throw InvalidLine(line: line, reason: "invalid metric name") }
        if name.count < series.count {
            let labels = series.dropFirst(name.count)
            let pattern = #"^\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\}$"#
            guard labels.range(of: pattern, options: .regularExpression) != nil else {
                throw InvalidLine(line: line, reason: "malformed labels")
            }
        }
        guard types[name] != nil else { throw InvalidLine(line: line, reason: "sample before its # TYPE line") }
        guard values.updateValue(value, forKey: series) == nil else {
            throw InvalidLine(line: line, reason: "series written twice")
        }
    }

    private static func isMetricName(_ name: String) -> Bool {
        name.range(of: #"^[a-zA-Z_:][a-zA-Z0-9_:]*$"#, options: .regularExpression) != nil
    }
}
