// SPDX-License-Identifier: Apache-2.0
import DCFServer
import DCFSupport
import FedAvg
import Foundation

extension Serverd {
    /// Checks, before the registry is opened, that a missing or empty registry database does not hide state
    /// that the state directory shows existed.
    ///
    /// Opening a missing or empty database creates an empty registry. The start would then delete every update
    /// of the open round as that of an unknown worker, although each was acknowledged and its worker does not
    /// send it again, so that case stops the start like other damaged state. Without an open round nothing
    /// acknowledged is lost, and a registry created anew after version 1 only gets a warning.
    ///
    /// - Throws: `StartupError` (exit status 78) when the database is missing or empty and the open round
    ///   contains updates.
    static func checkRegistryPresent(
        stateDirectory: URL, strategy: FedAvgStrategy, logger: Logger
    ) throws {
        guard WorkerRegistry.databaseIsMissing(stateDirectory: stateDirectory) else { return }
        let database = WorkerRegistry.databaseFile(stateDirectory: stateDirectory).path
        let state = FileManager.default.fileExists(atPath: database) ? "is empty" : "is missing"
        let round = strategy.openRound
        if round.updates > 0 {
            throw StartupError(
                RegistryResetError(
                    description: "the worker registry \(database) \(state), but the open round in "
                        + "\(round.directory.path) contains \(round.updates) acknowledged updates, which a start with "
                        + "an empty registry would delete as those of unknown workers. Restore the registry from a "
                        + "backup. Without a backup, move \(round.directory.path) out of the state directory to "
                        + "drop those updates and start again. Workers then register again, and keys added with "
                        + "\"dcfctl add\" must be added again"),
                exitCode: .config)
        }
        guard strategy.currentVersion.rawValue > 1 else { return }
        logger.warning(
            "the worker registry \(state), so this start creates an empty one although models/ contains versions "
                + "up to \(strategy.currentVersion): every worker must register again, and keys added with "
                + "\"dcfctl add\" must be added again. If the file was lost, stop the server and restore it from a "
                + "backup",
            [("file", database)])
    }
}

/// A worker registry that was reset while the state directory shows it was in use.
struct RegistryResetError: Error, CustomStringConvertible {
    let description: String
}
