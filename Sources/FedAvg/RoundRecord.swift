// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// The server's record of one aggregation round, written as one JSON line of the history file.
public struct RoundRecord: Codable, Sendable, Equatable {
    /// An update that was rejected during the round, with the reason sent back to the worker.
    public struct Rejection: Codable, Sendable, Equatable {
        public var workerID: String
        public var reason: String

        public init(workerID: String, reason: String) {
            self.workerID = workerID
            self.reason = reason
        }

        enum CodingKeys: String, CodingKey {
            case workerID = "worker_id"
            case reason
        }
    }

    /// The global model version this round produced.
    public var version: Int
    /// The version the round's updates were trained from.
    public var baseVersion: Int
    public var updatesUsed: Int
    /// The round's first rejections; `rejectedTotal` counts them all.
    public var rejected: [Rejection]
    /// Every rejection of the round; nil in records written before the count existed.
    public var rejectedTotal: Int?
    /// Evaluation loss of the base version on the workers' held-out data, weighted by their example counts.
    public var evaluationLoss: Double?
    /// Evaluation accuracy (0...1) of the base version, weighted like `evaluationLoss`.
    public var evaluationAccuracy: Double?
    /// Mean training loss reported by the workers, weighted by training examples.
    public var trainingLoss: Double?
    public var trainingExamples: Int
    /// Bytes the server received during the round (all requests), or the update payload bytes when the
    /// strategy has no transfer counter.
    public var bytesIn: Int
    /// Bytes the server sent during the round (all responses), or 0 without a transfer counter.
    public var bytesOut: Int
    public var aggregationSeconds: Double
    /// Time from the start of the round (the previous version's publication) to this version's publication.
    public var roundSeconds: Double
    /// Publication time of this version.
    public var finishedAt: Date

    public init(
        version: Int, baseVersion: Int, updatesUsed: Int, rejected: [Rejection], evaluationLoss: Double?,
        evaluationAccuracy: Double?, trainingLoss: Double?, trainingExamples: Int, bytesIn: Int, bytesOut: Int,
        aggregationSeconds: Double, roundSeconds: Double, finishedAt: Date
    ) {
        self.version = version
        self.baseVersion = baseVersion
        self.updatesUsed = updatesUsed
        self.rejected = rejected
        self.rejectedTotal = rejected.count
        self.evaluationLoss = evaluationLoss
        self.evaluationAccuracy = evaluationAccuracy
        self.trainingLoss = trainingLoss
        self.trainingExamples = trainingExamples
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.aggregationSeconds = aggregationSeconds
        self.roundSeconds = roundSeconds
        self.finishedAt = finishedAt
    }

    enum CodingKeys: String, CodingKey {
        case version
        case baseVersion = "base_version"
        case updatesUsed = "updates_used"
        case rejected
        case rejectedTotal = "rejected_total"
        case evaluationLoss = "evaluation_loss"
        case evaluationAccuracy = "evaluation_accuracy"
        case trainingLoss = "training_loss"
        case trainingExamples = "training_examples"
        case bytesIn = "bytes_in"
        case bytesOut = "bytes_out"
        case aggregationSeconds = "aggregation_seconds"
        case roundSeconds = "round_seconds"
        case finishedAt = "finished_at"
    }
}
