// SPDX-License-Identifier: Apache-2.0
import DCFProtocol

/// The state machine behind `GET /dcf/model/wait`: parked requests, at most one per worker, each waiting
/// until the global model differs from the version the worker holds.
///
/// It performs no I/O and reads no clock: every method takes the time and returns the requests to
/// complete, so the caller runs the responders outside its lock and tests drive it with any instants.
struct LongPollTable<Responder> {
    /// A request to answer, and the answer.
    struct Completion {
        let responder: Responder
        let response: ModelWaitResponse
    }

    private struct Poll {
        let knownVersion: ModelVersion?
        let connectionID: UInt64
        let deadline: ContinuousClock.Instant
        let responder: Responder
        let peerAddress: String?
    }

    let hold: Duration
    private(set) var currentVersion: ModelVersion?
    private var polls: [WorkerID: Poll] = [:]

    init(hold: Duration, currentVersion: ModelVersion?) {
        self.hold = hold
        self.currentVersion = currentVersion
    }

    var parkedCount: Int { polls.count }

    /// The earliest hold deadline, when the caller should next run `expire(now:)`.
    var nextDeadline: ContinuousClock.Instant? { polls.values.map(\.deadline).min() }

    /// Parks a poll, or completes it at once when the worker's version is already stale.
    /// A poll the same worker parked before is completed with "no change", because its connection is
    /// either gone or about to be reused.
    mutating func park(
        worker: WorkerID, knownVersion: ModelVersion?, connectionID: UInt64, now: ContinuousClock.Instant,
        responder: Responder, peerAddress: String? = nil
    ) -> [Completion] {
        var completions: [Completion] = []
        if let replaced = polls.removeValue(forKey: worker) {
            completions.append(Completion(responder: replaced.responder, response: unchanged))
        }
        if knownVersion != currentVersion, currentVersion != nil {
            completions.append(Completion(responder: responder, response: changed))
            return completions
        }
        polls[worker] = Poll(
            knownVersion: knownVersion, connectionID: connectionID, deadline: now + hold, responder: responder,
            peerAddress: peerAddress)
        return completions
    }

    /// Returns the client address of `worker`'s parked poll, or nil when it has none or the address is unknown.
    func parkedPeerAddress(of worker: WorkerID) -> String? {
        polls[worker]?.peerAddress
    }

    /// Records a new global model version and completes every poll waiting for a different one.
    mutating func publish(_ version: ModelVersion) -> [Completion] {
        currentVersion = version
        var completions: [Completion] = []
        completions.reserveCapacity(polls.count)
        // Building the still-waiting polls anew avoids copying the whole dictionary, which removing entries
        // while iterating it would do.
        var waiting: [WorkerID: Poll] = [:]
        for (worker, poll) in polls {
            if poll.knownVersion != version {
                completions.append(Completion(responder: poll.responder, response: changed))
            } else {
                waiting[worker] = poll
            }
        }
        polls = waiting
        return completions
    }

    /// Completes with "no change" every poll whose hold ended at or before `now`.
    mutating func expire(now: ContinuousClock.Instant) -> [Completion] {
        var completions: [Completion] = []
        for (worker, poll) in polls where poll.deadline <= now {
            completions.append(Completion(responder: poll.responder, response: unchanged))
            polls[worker] = nil
        }
        return completions
    }

    /// Drops the poll parked on a closed connection without answering it; returns whether one was parked.
    mutating func cancel(connectionID: UInt64) -> Bool {
        guard let worker = polls.first(where: { $0.value.connectionID == connectionID })?.key else { return false }
        polls[worker] = nil
        return true
    }

    /// Drops a worker's poll without answering it, for example when the worker is unregistered.
    mutating func cancel(worker: WorkerID) -> Responder? {
        polls.removeValue(forKey: worker)?.responder
    }

    /// Removes and returns every parked responder, for shutdown.
    mutating func drain() -> [Responder] {
        defer { polls.removeAll() }
        return polls.values.map(\.responder)
    }

    private var changed: ModelWaitResponse { ModelWaitResponse(changed: true, version: currentVersion) }
    private var unchanged: ModelWaitResponse { ModelWaitResponse(changed: false, version: currentVersion) }
}
