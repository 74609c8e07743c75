// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Testing

@Suite struct PrometheusTextWriterTests {
    @Test func outputParsesBack() throws {
        var writer = PrometheusTextWriter()
        writer.counter(
            "dcf_updates_received_total", help: "Model updates received.\nPer worker; backslash \\ kept.",
            samples: [
                ([("worker", "ab\"c\\d\ne")], 3),
                ([("worker", "plain"), ("status", "accepted")], 1e20),
            ]
        )
        writer.gauge("dcf_global_model_version", help: "Current version.", value: 42)
        writer.gauge("dcf_ratio", help: "A ratio.", samples: [([], 0.25), ([("kind", "inf")], .infinity)])
        let stats = try ProcessStats.current()
        writer.appendProcessMetrics(stats, startTimeSeconds: 1_700_000_000.5)

        let families = try PrometheusTextParser.parse(writer.text)
        let updates = try #require(families["dcf_updates_received_total"])
        #expect(updates.type == "counter")
        #expect(updates.help == "Model updates received.\nPer worker; backslash \\ kept.")
        #expect(updates.samples.count == 2)
        #expect(updates.samples[0].labels == ["worker": "ab\"c\\d\ne"])
        #expect(updates.samples[0].value == 3)
        #expect(updates.samples[1].labels == ["worker": "plain", "status": "accepted"])
        #expect(updates.samples[1].value == 1e20)
        #expect(families["dcf_global_model_version"]?.samples.first?.value == 42)
        #expect(families["dcf_ratio"]?.samples.map(\.value) == [0.25, .infinity])
        #expect(families["process_resident_memory_bytes"]?.samples.first?.value == Double(stats.residentBytes))
        #expect(families["process_start_time_seconds"]?.samples.first?.value == 1_700_000_000.5)
        #expect(families["process_cpu_seconds_total"]?.type == "counter")
        #expect(writer.text.contains(#"dcf_updates_received_total{worker="ab\"c\\d\ne"} 3"#))
        #expect(writer.text.hasSuffix("\n"))
    }
}

/// A strict reader of the text exposition format, enough to check the writer's output.
enum PrometheusTextParser {
    struct Family {
        var help: String?
        var type: String?
        var samples: [(labels: [String: String], value: Double)] = []
    }

    struct ParseError: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ text: String) throws -> [String: Family] {
        var families: [String: Family] = [:]
        for (number, line) in text.split(separator: "\n").enumerated() {
            let fail = { (message: String) in ParseError(description: "line \(number + 1) \"\(line)\": \(message)") }
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                guard parts.count == 2 else { throw fail("missing metric name or text") }
                let name = String(parts[0])
                if line.hasPrefix("# HELP ") {
                    guard families[name]?.help == nil else { throw fail("second HELP") }
                    families[name, default: Family()].help = try unescape(parts[1], quotes: false)
                } else {
                    guard ["counter", "gauge", "untyped", "histogram", "summary"].contains(parts[1]) else {
                        throw fail("unknown type")
                    }
                    guard families[name]?.type == nil, families[name]?.samples.isEmpty ?? true else {
                        throw fail("TYPE repeated or after samples")
                    }
                    families[name, default: Family()].type = String(parts[1])
                }
                continue
            }
            let (name, labels, rest) = try splitSample(line, fail)
            guard families[name]?.type != nil else { throw fail("sample before TYPE") }
            guard let value = parseValue(rest) else { throw fail("invalid value \(rest)") }
            if families[name]?.type == "counter", value < 0 { throw fail("negative counter") }
            families[name]!.samples.append((labels, value))
        }
        return families
    }

    private static func splitSample(_ line: Substring, _ fail: (String) -> ParseError) throws
        -> (String, [String: String], Substring)
    {
        let nameEnd = line.firstIndex { $0 == "{" || $0 == " " } ?? line.endIndex
        let name = String(line[..<nameEnd])
        guard !name.isEmpty, !name.first!.isNumber else { throw fail("invalid metric name") }
        var labels: [String: String] = [:]
        var index = nameEnd
        if index < line.endIndex, line[index] == "{" {
            index = line.index(after: index)
            while line[index] != "}" {
                guard let equals = line[index...].firstIndex(of: "="), line[line.index(after: equals)] == "\"" else {
                    throw fail("invalid label")
                }
                let labelName = String(line[index..<equals])
                var cursor = line.index(equals, offsetBy: 2)
                var raw = ""
                while line[cursor] != "\"" {
                    if line[cursor] == "\\" {
                        raw.append("\\")
                        cursor = line.index(after: cursor)
                    }
                    raw.append(line[cursor])
                    cursor = line.index(after: cursor)
                }
                labels[labelName] = try unescape(Substring(raw), quotes: true)
                index = line.index(after: cursor)
                if line[index] == "," { index = line.index(after: index) }
            }
            index = line.index(after: index)
        }
        guard index < line.endIndex, line[index] == " " else { throw fail("missing space before value") }
        return (name, labels, line[line.index(after: index)...])
    }

    private static func unescape(_ text: Substring, quotes: Bool) throws -> String {
        var result = ""
        var escaping = false
        for character in text {
            if escaping {
                switch character {
                case "\\": result.append("\\")
                case "n": result.append("\n")
                case "\"" where quotes: result.append("\"")
                default: throw ParseError(description: "invalid escape \\\(character)")
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                guard !(quotes && character == "\"") else { throw ParseError(description: "unescaped quote") }
                result.append(character)
            }
        }
        return result
    }

    private static func parseValue(_ text: Substring) -> Double? {
        switch text {
        case "+Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: Double(text)
        }
    }
}
