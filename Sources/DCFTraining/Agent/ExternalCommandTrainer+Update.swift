// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation

/// Reads what the training command wrote (update and optional metrics file) and turns it into the
/// payload the agent sends.
struct ExternalUpdateReader {
    /// Bytes an update may exceed the global model by, for its header and metadata.
    static let headerAllowance = 16 << 20
    /// `__metadata__` key of the example count that plain safetensors users write.
    static let plainExampleCountKey = "num_examples"

    let files: ExternalRoundFiles
    let globalModel: SafeTensors
    let globalModelSize: Int
    let version: ModelVersion

    /// Returns the update with the round's `UpdateMetadata` merged into its `__metadata__`.
    ///
    /// - Throws: `AgentTrainerError` when the update is missing, too large, not safetensors, does not match
    ///   the global model, or its example count is missing, invalid or contradicted by the metrics file.
    func payload() throws(AgentTrainerError) -> (payload: Data, metadata: UpdateMetadata) {
        let update = try readUpdate()
        do {
            try UpdateLayoutCheck(globalModel: globalModel).check(update)
        } catch {
            throw AgentTrainerError("\(error) (update \(files.update.path))")
        }
        let metricsFile = try ExternalMetricsFile.read(files.metrics)
        var metrics = try metadataMetrics(update)
        metrics.merge(metricsFile?.metrics ?? [:]) { _, fromFile in fromFile }
        let examples = try exampleCount(update: update, metricsFile: metricsFile)
        let metadata = UpdateMetadata(numExamples: examples, baseVersion: version, metrics: metrics)

        var writer = SafeTensorsWriter(metadata: update.metadata.merging(metadata.safetensorsMetadata) { $1 })
        do {
            for tensor in update.allTensors() {
                try writer.add(tensor)
            }
        } catch {
            throw AgentTrainerError("could not copy the update's tensors: \(error)")
        }
        return (writer.serialize(), metadata)
    }

    private func readUpdate() throws(AgentTrainerError) -> SafeTensors {
        let path = files.update.path
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = (attributes?[.size] as? NSNumber)?.intValue else {
            throw AgentTrainerError(
                "the command wrote no update at \(path); it must save the trained model there as safetensors "
                    + "(the path is in DCF_UPDATE_PATH)")
        }
        let limit = globalModelSize + Self.headerAllowance
        guard size <= limit else {
            throw AgentTrainerError(
                "the update \(path) has \(size) bytes, more than the global model's \(globalModelSize) plus "
                    + "\(Self.headerAllowance) for metadata; save only the global model's tensors")
        }
        do {
            return try SafeTensors(bytes: try Data(contentsOf: files.update))
        } catch {
            throw AgentTrainerError("the update \(path) is not a valid safetensors file: \(error)")
        }
    }

    private func metadataMetrics(_ update: SafeTensors) throws(AgentTrainerError) -> [String: Double] {
        guard let text = update.metadata[UpdateMetadata.metricsKey] else { return [:] }
        guard let metrics = try? JSONDecoder().decode([String: Double].self, from: Data(text.utf8)) else {
            throw AgentTrainerError(
                "the update's metadata \"\(UpdateMetadata.metricsKey)\" is \"\(text)\"; expected a JSON object "
                    + "of numbers")
        }
        return metrics
    }

    /// Returns the example count from the update's metadata or the metrics file; every source given must agree.
    private func exampleCount(
        update: SafeTensors, metricsFile: ExternalMetricsFile?
    ) throws(AgentTrainerError) -> Int {
        var sources: [(source: String, count: Int)] = []
        for key in [UpdateMetadata.numExamplesKey, Self.plainExampleCountKey] {
            guard let text = update.metadata[key] else { continue }
            guard let count = Int(text), count > 0 else {
                throw AgentTrainerError(
                    "the update's metadata \"\(key)\" is \"\(text)\"; expected a positive integer, the number "
                        + "of examples trained on")
            }
            sources.append(("the update's metadata \"\(key)\"", count))
        }
        if let count = metricsFile?.numExamples {
            sources.append(("\"\(Self.plainExampleCountKey)\" in \(files.metrics.path)", count))
        }
        guard let first = sources.first else {
            throw AgentTrainerError(
                "the command reported no example count; write \"\(UpdateMetadata.numExamplesKey)\" or "
                    + "\"\(Self.plainExampleCountKey)\" into the update's metadata, or \"num_examples\" into "
                    + "the metrics file (DCF_METRICS_PATH)")
        }
        if let other = sources.first(where: { $0.count != first.count }) {
            throw AgentTrainerError(
                "the example counts disagree: \(first.source) is \(first.count) but \(other.source) is "
                    + "\(other.count); report one number")
        }
        return first.count
    }
}
