// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Figures of one round: from the first upload trained from `baseVersion` to the moment the last worker
/// holds a newer global model.
struct RoundRecord: Sendable {
    let baseVersion: UInt64
    var startTime: UInt64
    var endTime: UInt64 = 0
    var uploadsDone = 0
    var workersHoldingNewModel = 0
    var errors = 0
    var uploadedBytes = 0
    var downloadedBytes = 0
    var serverAtStart: ServerSample?
    var serverAtEnd: ServerSample?
    /// CPU seconds the worker processes had used when the round started and when it ended.
    var loadGeneratorCPUAtStart: Double?
    var loadGeneratorCPUAtEnd: Double?
    var serverPeakResidentBytes = 0
    var serverPeakAnonymousBytes = 0

    var isComplete: Bool { endTime != 0 }
    var seconds: Double { Double(endTime &- startTime) / 1e9 }
}

/// Folds worker events into rounds.
struct RoundTally {
    let workerCount: Int
    private(set) var rounds: [RoundRecord] = []
    /// Latest version each worker holds, 0 before its first model.
    private var held: [Int: UInt64] = [:]
    private(set) var errors = 0
    private(set) var errorMessages: [String] = []

    init(workerCount: Int) { self.workerCount = workerCount }

    var completedRounds: Int { rounds.filter(\.isComplete).count }
    var workersWithModel: Int { held.count }

    /// Applies `event`; returns the index of a round it started or completed, so the caller can sample the server.
    mutating func apply(_ event: WorkerEvent) -> (started: Int?, completed: Int?) {
        switch event.kind {
        case .uploadStart:
            if rounds.firstIndex(where: { $0.baseVersion == event.version }) == nil {
                rounds.append(RoundRecord(baseVersion: event.version, startTime: event.time))
                return (rounds.count - 1, nil)
            }
        case .uploadDone:
            if let index = rounds.firstIndex(where: { $0.baseVersion == event.version }) {
                rounds[index].uploadsDone += 1
                rounds[index].uploadedBytes += event.bytes
            }
        case .model:
            return (nil, receive(event))
        case .error:
            errors += 1
            if errorMessages.count < 20 { errorMessages.append("worker \(event.worker): \(event.message)") }
            if let index = rounds.lastIndex(where: { !$0.isComplete }) { rounds[index].errors += 1 }
        }
        return (nil, nil)
    }

    private mutating func receive(_ event: WorkerEvent) -> Int? {
        let previous = held[event.worker] ?? 0
        held[event.worker] = max(previous, event.version)
        var completed: Int?
        for index in rounds.indices
        where rounds[index].baseVersion >= previous && rounds[index].baseVersion < event.version {
            rounds[index].workersHoldingNewModel += 1
            rounds[index].downloadedBytes += event.bytes
            if rounds[index].workersHoldingNewModel == workerCount {
                rounds[index].endTime = event.time
                completed = index
            }
        }
        return completed
    }

    /// Drops every round after the first `count`. Rounds complete in the order they start, so this keeps the
    /// first `count` complete rounds and drops one that finished while the workers were being stopped.
    mutating func keepFirstRounds(_ count: Int) {
        if rounds.count > count { rounds.removeSubrange(count...) }
    }

    /// Returns the seconds between the end of the round before `index` and the end of round `index`, which is
    /// how often a new global model reaches every worker. Rounds overlap, because the first workers to get a
    /// new model upload their next update while the others still download it, so a round's own `seconds` is
    /// longer than this. Returns nil for the first round and when either round is incomplete.
    func interval(before index: Int) -> Double? {
        guard index > 0, rounds[index].isComplete, rounds[index - 1].isComplete else { return nil }
        return Double(rounds[index].endTime &- rounds[index - 1].endTime) / 1e9
    }

    mutating func record(start sample: ServerSample?, loadGeneratorCPU: Double, round index: Int) {
        rounds[index].serverAtStart = sample
        rounds[index].loadGeneratorCPUAtStart = loadGeneratorCPU
    }

    mutating func record(end sample: ServerSample?, loadGeneratorCPU: Double, round index: Int) {
        rounds[index].serverAtEnd = sample
        rounds[index].loadGeneratorCPUAtEnd = loadGeneratorCPU
    }

    /// Raises the peak resident size of every open round to `sample`'s, if larger.
    mutating func observe(_ sample: ServerSample) {
        for index in rounds.indices where !rounds[index].isComplete {
            rounds[index].serverPeakResidentBytes = max(rounds[index].serverPeakResidentBytes, sample.residentBytes)
            rounds[index].serverPeakAnonymousBytes = max(
                rounds[index].serverPeakAnonymousBytes, sample.anonymousResidentBytes)
        }
    }
}
