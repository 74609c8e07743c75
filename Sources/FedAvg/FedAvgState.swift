// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation

/// Everything `FedAvgStrategy` guards with its lock: the current version and the open round.
struct FedAvgState {
    var version: UInt64
    let layouts: [TensorLayout]
    let accumulator: FedAvgAccumulator
    var round = OpenRound()
    var registeredWorkers: Set<WorkerID> = []
    /// Workers unregistered since they last registered. An update of theirs still being checked when that
    /// happened is refused once it reaches the lock, instead of entering the round after the drop.
    var unregisteredWorkers: Set<WorkerID> = []
    /// Each worker's newest update that a published version contains: the version and the body's SHA-256. An
    /// update that joined the round but got a 503 because its directory flush failed stays counted, so its resend
    /// can arrive after the round closed and must not join the next round as a second copy.
    var aggregatedBodies: [WorkerID: (version: UInt64, bodySHA256: String)] = [:]

    init(version: UInt64, layouts: [TensorLayout]) {
        self.version = version
        self.layouts = layouts
        accumulator = FedAvgAccumulator(layouts: layouts)
    }
}

/// The round that builds the version after the current one.
struct OpenRound {
    var startedAt = Date()
    var entries: [WorkerID: AcceptedUpdate] = [:]
    /// Accepted and stored updates not folded yet. They are folded together once `foldBatchSize` wait,
    /// because one pass over the sums for several updates moves far less memory than one pass each.
    var pending: [WorkerID] = []
    /// The first `maximumRecordedRejections` rejections of the round, for its record.
    var rejections: [RoundRecord.Rejection] = []
    var rejectedCount = 0
    /// How often each worker replaced its update in this round; each replacement folds the round again.
    var replacements: [WorkerID: Int] = [:]
    /// True once the deadline passed without `minUpdates` updates; reported by the round status.
    var deadlinePassed = false
    var bytesIn = 0
    /// The server's byte counters when the round started, if a transfer counter is set.
    var transferAtStart: (bytesIn: Int, bytesOut: Int)?

    /// Rejections kept per round record; a worker sending invalid updates in a loop must not grow it without end.
    static let maximumRecordedRejections = 100

    mutating func recordRejection(_ rejection: RoundRecord.Rejection) {
        rejectedCount += 1
        if rejections.count < Self.maximumRecordedRejections { rejections.append(rejection) }
    }
}

/// An update that was stored and folded into the open round.
struct AcceptedUpdate {
    var url: URL
    var metadata: UpdateMetadata
    var payloadBytes: Int
    /// Where each tensor starts in the stored file, for folding it block by block.
    var tensorOffsets: StoredUpdateFold.TensorOffsets
    /// The SHA-256 of the request body as hex, so a resend of the same bytes is recognised. An update recovered
    /// after a restart has the digest stored with its file, or an empty one when the file has none.
    var bodySHA256 = ""

    var weight: Double { Double(metadata.numExamples) }
}
