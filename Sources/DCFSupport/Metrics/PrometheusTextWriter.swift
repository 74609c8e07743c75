// SPDX-License-Identifier: Apache-2.0

/// Builds a `/metrics` response in the Prometheus text exposition format, version 0.0.4.
///
/// Each metric family gets its `# HELP` and `# TYPE` lines followed by its samples. Names and label names are
/// checked against the format's character rules; help text and label values are escaped.
public struct PrometheusTextWriter: Sendable {
    /// The `Content-Type` of the output.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public enum MetricType: String, Sendable {
        case counter, gauge, untyped
    }

    /// Label names and values of one sample, in output order.
    public typealias Labels = [(name: String, value: String)]

    /// The exposition text written so far.
    public private(set) var text = ""
    private var familyNames: Set<String> = []

    public init() {}

    /// Appends a counter family; by convention its name ends in `_total`.
    public mutating func counter(_ name: String, help: String, samples: [(labels: Labels, value: Double)]) {
        family(name, type: .counter, help: help, samples: samples)
    }

    /// Appends a counter with one unlabelled sample.
    public mutating func counter(_ name: String, help: String, value: Double) {
        family(name, type: .counter, help: help, samples: [([], value)])
    }

    public mutating func gauge(_ name: String, help: String, samples: [(labels: Labels, value: Double)]) {
        family(name, type: .gauge, help: help, samples: samples)
    }

    /// Appends a gauge with one unlabelled sample.
    public mutating func gauge(_ name: String, help: String, value: Double) {
        family(name, type: .gauge, help: help, samples: [([], value)])
    }

    /// Appends a metric family.
    /// - Precondition: `name` and every label name are valid and `name` was not written before.
    public mutating func family(
        _ name: String, type: MetricType, help: String, samples: [(labels: Labels, value: Double)]
    ) {
        precondition(Self.isValidMetricName(name), "invalid metric name \(name)")
        precondition(familyNames.insert(name).inserted, "metric family \(name) written twice")
        text += "# HELP \(name) \(Self.escapeHelp(help))\n"
        text += "# TYPE \(name) \(type.rawValue)\n"
        for sample in samples {
            text += name + Self.formatLabels(sample.labels) + " " + Self.formatValue(sample.value) + "\n"
        }
    }

    static func formatLabels(_ labels: Labels) -> String {
        guard !labels.isEmpty else { return "" }
        let pairs = labels.map { label in
            precondition(isValidLabelName(label.name), "invalid label name \(label.name)")
            return "\(label.name)=\"\(escapeLabelValue(label.value))\""
        }
        return "{" + pairs.joined(separator: ",") + "}"
    }

    /// Formats a sample value; integral values print without a fraction, infinities as `+Inf`/`-Inf`.
    static func formatValue(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// In help text only backslash and newline are escaped.
    static func escapeHelp(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// In label values backslash, double quote and newline are escaped.
    static func escapeLabelValue(_ text: String) -> String {
        escapeHelp(text).replacingOccurrences(of: "\"", with: "\\\"")
    }

    /// Metric names match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    static func isValidMetricName(_ name: String) -> Bool {
        isValidName(name, allowColon: true)
    }

    /// Label names match `[a-zA-Z_][a-zA-Z0-9_]*`; names starting with `__` are reserved.
    static func isValidLabelName(_ name: String) -> Bool {
        isValidName(name, allowColon: false) && !name.hasPrefix("__")
    }

    private static func isValidName(_ name: String, allowColon: Bool) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "_" || (allowColon && scalar == ":")
        }
    }
}
