// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The optional metrics file a training command writes at `DCF_METRICS_PATH`: one JSON object of numbers,
/// such as `{"num_examples": 600, "train_loss": 0.61, "eval_loss": 0.72, "eval_accuracy": 0.74,
/// "eval_examples": 100}`.
struct ExternalMetricsFile: Sendable {
    /// Largest accepted file; a metrics file is a few hundred bytes.
    static let maximumSize = 1 << 20

    /// The `num_examples` entry, when present.
    var numExamples: Int?
    /// Every other entry, reported as update metrics.
    var metrics: [String: Double]

    /// A JSON value that is kept only if it is a number.
    private struct NumberOrOther: Decodable {
        let number: Double?

        init(from decoder: any Decoder) throws {
            number = try? decoder.singleValueContainer().decode(Double.self)
        }
    }

    /// Reads the file at `url`; returns nil when it does not exist.
    ///
    /// - Throws: `AgentTrainerError` naming the file and the entry when it is not a JSON object of finite
    ///   numbers or `num_examples` is not a positive integer.
    static func read(_ url: URL) throws(AgentTrainerError) -> ExternalMetricsFile? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw AgentTrainerError("could not read the metrics file \(url.path): \(error)")
        }
        guard data.count <= maximumSize else {
            throw AgentTrainerError(
                "the metrics file \(url.path) has \(data.count) bytes; the limit is \(maximumSize)")
        }
        let entries: [String: NumberOrOther]
        do {
            entries = try JSONDecoder().decode([String: NumberOrOther].self, from: data)
        } catch {
            throw AgentTrainerError(
                "the metrics file \(url.path) is not a JSON object: \(error); write for example "
                    + "{\"num_examples\": 600, \"train_loss\": 0.5}")
        }
        var file = ExternalMetricsFile(numExamples: nil, metrics: [:])
        for (key, entry) in entries.sorted(by: { $0.key < $1.key }) {
            guard let value = entry.number, value.isFinite else {
                throw AgentTrainerError(
                    "the metrics file \(url.path) has \"\(key)\" that is not a finite number; "
                        + "write numbers only, and leave out a metric that has no value")
            }
            if key == ExternalUpdateReader.plainExampleCountKey {
                guard value >= 1, value == value.rounded(), let count = Int(exactly: value) else {
                    throw AgentTrainerError(
                        "the metrics file \(url.path) has \"num_examples\" \(value); expected a positive integer")
                }
                file.numExamples = count
            } else {
                file.metrics[key] = value
            }
        }
        return file
    }
}
