// SPDX-License-Identifier: Apache-2.0
public import Foundation
import DCFProtocol

/// Settings of the FedAvg strategy on the server.
public struct FedAvgConfiguration: Sendable {
    /// Aggregate as soon as this many distinct workers have sent an update in the round
    /// (dc_federated's `update_lim`).
    public var updateLimit: Int = 10
    /// After `roundDeadline`, aggregate whatever arrived if at least this many updates did.
    public var minUpdates: Int = 1
    /// How long a round waits for `updateLimit` updates before `minUpdates` suffice; nil waits forever.
    public var roundDeadline: Duration?
    /// How many versions behind the current one an update's base version may be; 0 accepts only
    /// updates trained from the current version. Stale updates that are accepted count fully.
    public var maxStaleness: UInt64 = 0
    /// How many accepted updates are folded in one pass over the sums. Each pass reads and writes every sum, so
    /// larger batches move less memory per update. Updates wait in their files until a batch is full, and the
    /// round's last batch is folded when it closes. Files are read in 64 KiB blocks, so the size costs no memory.
    public var foldBatchSize: Int = 16
    /// How many of the newest model versions stay on disk; older ones are deleted after each round and at
    /// start-up. 0 keeps every version.
    public var keepVersions: Int = 0
    /// The safetensors file that becomes version 1 when the state directory contains no model yet.
    public var initialModel: URL?
    /// The config setting of `initialModel`, for messages.
    static let initialModelSetting = "fedavg.initial_model"
    /// Directory holding model versions, the open round's updates and the round history.
    public var stateDirectory: URL
    /// The public keys of the key list the server starts with (64 lowercase hex digits), or nil without one. The
    /// server applies the key list only when it opens the registry, after the open round is recovered, so the
    /// recovery counts a worker that came from the key list and is no longer on it as not registered.
    public var keyListKeys: Set<String>?

    public init(stateDirectory: URL) {
        self.stateDirectory = stateDirectory
    }

    /// Checks the settings against each other.
    ///
    /// - Throws: `FedAvgError` naming the setting and the allowed range.
    public func validate() throws {
        guard updateLimit >= 1 else { throw FedAvgError.invalidSetting("update_lim", "\(updateLimit)", "at least 1") }
        guard (1...updateLimit).contains(minUpdates) else {
            throw FedAvgError.invalidSetting("min_updates", "\(minUpdates)", "1 to update_lim (\(updateLimit))")
        }
        guard (1...64).contains(foldBatchSize) else {
            throw FedAvgError.invalidSetting("fold_batch", "\(foldBatchSize)", "1 to 64")
        }
        guard keepVersions >= 0 else {
            throw FedAvgError.invalidSetting("keep_versions", "\(keepVersions)", "0 (keep all) or more")
        }
        if let roundDeadline, roundDeadline <= .zero {
            throw FedAvgError.invalidSetting("round_deadline", "\(roundDeadline)", "a positive duration")
        }
    }
}

/// A FedAvg start-up or storage failure.
public struct FedAvgError: Error, Sendable, CustomStringConvertible {
    public let description: String

    static func invalidSetting(_ key: String, _ value: String, _ expected: String) -> FedAvgError {
        FedAvgError(description: "FedAvg setting \(key) is \(value); expected \(expected)")
    }

    static func noInitialModel(_ directory: URL) -> FedAvgError {
        FedAvgError(
            description: "no model version in \(directory.path) and no initial model configured; "
                + "set fedavg.initial_model (--initial-model) to a safetensors model file, which dcf-agent "
                + "init-model writes"
        )
    }

    /// - Parameter setting: the setting that names the file, such as `fedavg.initial_model`, or nil for a file
    ///   the server wrote itself.
    static func unreadableModel(_ path: String, _ detail: String, setting: String? = nil) -> FedAvgError {
        guard let setting else { return FedAvgError(description: "cannot use model \(path): \(detail)") }
        return FedAvgError(description: "cannot use \(setting) \(path): \(detail)")
    }

    static func damagedUpdate(_ path: String, worker: WorkerID, model: String, _ error: any Error) -> FedAvgError {
        FedAvgError(
            description: "the stored update \(path) of worker \(worker.short) in the open round cannot be used: "
                + "\(error). It passed every check when it was accepted, so this file or the model \(model) is "
                + "damaged. Restore the damaged file from a backup. Otherwise move the update out of the state "
                + "directory to drop it from the round; its worker was told it was accepted and does not send it again")
    }

    /// Returns the error for a newest stored version that cannot be served, where `problem` names the file and the
    /// defect. `previousStored` is whether `models/` still holds version `version - 1`, the only one to resume at.
    static func damagedModel(_ problem: String, version: UInt64, previousStored: Bool) -> FedAvgError {
        let start = "\(problem). The file is damaged. Restore it from a backup."
        guard version == 1 || previousStored else {
            return FedAvgError(
                description: start + " Without a backup there is no older version to resume at, because models/ no "
                    + "longer holds version \(version - 1) (keep_versions deletes old versions): move models/, rounds/, "
                    + "history.jsonl and history-pending.json out of the state directory to start a new federation from "
                    + "fedavg.initial_model")
        }
        let previous = version > 1 ? "version \(version - 1)" : "fedavg.initial_model"
        return FedAvgError(
            description: start + " Without a backup, move it out of the state directory and start the server again, "
                + "which then names what else to move to resume at \(previous)")
    }

    static func storage(_ action: String, _ path: String, _ detail: String) -> FedAvgError {
        FedAvgError(description: "cannot \(action) \(path): \(detail)")
    }

    static func nonFiniteAggregate(tensor: String) -> FedAvgError {
        FedAvgError(
            description: "the weighted sum of tensor \"\(tensor)\" is not finite, so no version is published; "
                + "this is a bug, because every update was checked before it was folded")
    }
}
