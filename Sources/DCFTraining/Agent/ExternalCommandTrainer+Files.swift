// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The files of one round of the training command, in `<work directory>/round-<N>/`.
///
/// Only the latest round's directory is kept, so the files of a failed round stay for inspection until the
/// next round starts.
struct ExternalRoundFiles: Sendable {
    static let directoryPrefix = "round-"

    let directory: URL
    /// The global model the command trains from (`DCF_GLOBAL_MODEL`).
    var globalModel: URL { directory.appendingPathComponent("global-model.safetensors") }
    /// Path of the update the command writes (`DCF_UPDATE_PATH`).
    var update: URL { directory.appendingPathComponent("update.safetensors") }
    /// Path of the optional metrics file (`DCF_METRICS_PATH`).
    var metrics: URL { directory.appendingPathComponent("metrics.json") }

    /// Creates an empty directory for `round`, removing the directories of earlier rounds.
    ///
    /// - Throws: `AgentTrainerError` naming the directory when it cannot be created or cleaned.
    static func prepare(workDirectory: URL, round: Int) throws(AgentTrainerError) -> ExternalRoundFiles {
        let files = ExternalRoundFiles(
            directory: workDirectory.appendingPathComponent("\(directoryPrefix)\(round)", isDirectory: true))
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: workDirectory, withIntermediateDirectories: true)
            for name in try manager.contentsOfDirectory(atPath: workDirectory.path)
            where name.hasPrefix(directoryPrefix) {
                try manager.removeItem(at: workDirectory.appendingPathComponent(name))
            }
            try manager.createDirectory(at: files.directory, withIntermediateDirectories: false)
        } catch {
            throw AgentTrainerError(
                "could not prepare the round directory \(files.directory.path): \(error); "
                    + "check that the work directory is writable by the agent")
        }
        return files
    }
}
