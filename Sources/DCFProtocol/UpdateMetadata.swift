// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The facts an update carries in its safetensors `__metadata__`, so the request signature covers them.
public struct UpdateMetadata: Sendable, Hashable {
    /// `__metadata__` key of the number of training examples, a decimal integer.
    public static let numExamplesKey = "dcf.num_examples"
    /// `__metadata__` key of the global model version the update was trained from.
    public static let baseVersionKey = "dcf.base_version"
    /// `__metadata__` key of the agent's metrics, a JSON object of numbers.
    public static let metricsKey = "dcf.metrics"

    public var numExamples: Int
    public var baseVersion: ModelVersion
    public var metrics: [String: Double]

    public init(numExamples: Int, baseVersion: ModelVersion, metrics: [String: Double] = [:]) {
        self.numExamples = numExamples
        self.baseVersion = baseVersion
        self.metrics = metrics
    }

    /// Reads the dcf keys from a safetensors `__metadata__` map; other keys are ignored.
    ///
    /// - Throws: `DCFErrorResponse` with code `bad_request`, naming the missing or invalid key.
    public init(safetensorsMetadata metadata: [String: String]) throws(DCFErrorResponse) {
        let examples = try Self.value(metadata, Self.numExamplesKey)
        guard let numExamples = Int(examples), numExamples >= 0 else {
            throw Self.invalid(Self.numExamplesKey, examples, "a non-negative integer")
        }
        let base = try Self.value(metadata, Self.baseVersionKey)
        guard let baseVersion = ModelVersion(base) else {
            throw Self.invalid(Self.baseVersionKey, base, "a model version (decimal integer)")
        }
        self.init(numExamples: numExamples, baseVersion: baseVersion, metrics: try Self.metrics(metadata))
    }

    /// The dcf keys as a `__metadata__` map, to merge into the one the codec writes.
    public var safetensorsMetadata: [String: String] {
        var result = [Self.numExamplesKey: String(numExamples), Self.baseVersionKey: baseVersion.description]
        if !metrics.isEmpty, let json = try? Self.sortedEncoder.encode(metrics) {
            result[Self.metricsKey] = String(decoding: json, as: UTF8.self)
        }
        return result
    }

    private static let sortedEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    private static func value(_ metadata: [String: String], _ key: String) throws(DCFErrorResponse) -> String {
        guard let value = metadata[key] else {
            throw DCFErrorResponse(.badRequest, "the update's safetensors metadata has no \"\(key)\" entry")
        }
        return value
    }

    private static func metrics(_ metadata: [String: String]) throws(DCFErrorResponse) -> [String: Double] {
        guard let text = metadata[metricsKey] else { return [:] }
        do {
            return try JSONDecoder().decode([String: Double].self, from: Data(text.utf8))
        } catch {
            throw invalid(metricsKey, text, "a JSON object of numbers")
        }
    }

    private static func invalid(_ key: String, _ value: String, _ expected: String) -> DCFErrorResponse {
        DCFErrorResponse(.badRequest, "the update's metadata \"\(key)\" is \"\(value)\"; expected \(expected)")
    }
}
