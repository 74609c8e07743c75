// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFTransport
import Dispatch
import Synchronization

/// A thread-safe `LongPollTable` whose holds end on a timer.
///
/// Responders run outside the lock, on the calling thread or the timer's queue, and must not block. The
/// responses they send over HTTP leave together, one transport task per event loop.
final class LongPollRegistry: Sendable {
    typealias Responder = @Sendable (LongPollOutcome) -> Void

    private struct State {
        var table: LongPollTable<Responder>
        /// The deadline the pending timer fires at, if one is scheduled.
        var scheduledWakeUp: ContinuousClock.Instant?
    }

    private let state: Mutex<State>
    /// The JSON responses last encoded, at most one for "changed" and one for "no change", so a publish that
    /// completes many polls encodes each body once.
    private let encoded = Mutex<[ModelWaitResponse: ServerResponse]>([:])
    private let clock: any ServerClock
    private let hold: Duration
    private let timerQueue: DispatchQueue
    /// False in tests that drive expiry with `expireDue()` and a manual clock.
    private let usesTimer: Bool
    /// Closed while the responses of a wake-up are written, so new requests wait instead of competing with them.
    let gate: WakeGate?

    init(
        hold: Duration, currentVersion: ModelVersion?, clock: any ServerClock, usesTimer: Bool = true,
        gate: WakeGate? = nil
    ) {
        self.gate = gate
        self.state = Mutex(State(table: LongPollTable(hold: hold, currentVersion: currentVersion)))
        self.clock = clock
        self.hold = hold
        self.usesTimer = usesTimer
        self.timerQueue = DispatchQueue(label: "dcf.long-poll-holds")
    }

    var parkedCount: Int { state.withLock { $0.table.parkedCount } }

    /// Parks `worker`'s poll, replacing one it parked before. Returns the client address of the replaced poll
    /// when it differs from `peerAddress`, because then two agents share one key.
    @discardableResult
    func park(
        worker: WorkerID, knownVersion: ModelVersion?, connectionID: UInt64, peerAddress: String? = nil,
        responder: @escaping Responder
    ) -> String? {
        let now = clock.now
        let (completions, replacedPeer) = state.withLock { state in
            let replacedPeer = state.table.parkedPeerAddress(of: worker)
            let completions = state.table.park(
                worker: worker, knownVersion: knownVersion, connectionID: connectionID, now: now,
                responder: responder, peerAddress: peerAddress)
            return (completions, replacedPeer)
        }
        run(completions)
        scheduleWakeUp(before: now + hold)
        guard let replacedPeer, let peerAddress, replacedPeer != peerAddress else { return nil }
        return replacedPeer
    }

    func publish(_ version: ModelVersion) {
        run(state.withLock { $0.table.publish(version) })
    }

    /// Answers every poll whose hold has ended.
    func expireDue() {
        let now = clock.now
        run(state.withLock { $0.table.expire(now: now) })
    }

    func connectionClosed(_ connectionID: UInt64) -> Bool {
        state.withLock { $0.table.cancel(connectionID: connectionID) }
    }

    func cancel(worker: WorkerID) -> Responder? {
        state.withLock { $0.table.cancel(worker: worker) }
    }

    func drain() -> [Responder] {
        state.withLock { $0.table.drain() }
    }

    /// Returns `wait` as a JSON response, encoding it only when it differs from the last one with the same
    /// `changed` value.
    func jsonResponse(for wait: ModelWaitResponse) -> ServerResponse {
        if let response = encoded.withLock({ $0[wait] }) { return response }
        let response = ServerResponse.json(wait)
        encoded.withLock { cache in
            cache = cache.filter { $0.key.changed != wait.changed }
            cache[wait] = response
        }
        return response
    }

    private func run(_ completions: [LongPollTable<Responder>.Completion]) {
        guard !completions.isEmpty else { return }
        HTTPResponder.batchingResponses(whenWritten: gate?.close()) {
            for completion in completions {
                completion.responder(.answered(completion.response))
            }
        }
    }

    /// Keeps one timer pending no later than `deadline`; a timer that fires reschedules itself for the
    /// earliest deadline left.
    ///
    /// A park passes the new poll's deadline instead of scanning every poll, which would make parking
    /// `n` polls cost `n²`.
    private func scheduleWakeUp(before deadline: ContinuousClock.Instant?) {
        guard usesTimer, let deadline else { return }
        let wakeUp: ContinuousClock.Instant? = state.withLock { state in
            if let scheduled = state.scheduledWakeUp, scheduled <= deadline { return nil }
            state.scheduledWakeUp = deadline
            return deadline
        }
        guard let wakeUp else { return }
        let delay = clock.now.duration(to: wakeUp)
        let nanoseconds = max(0, delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000)
        timerQueue.asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) { [self] in
            state.withLock { $0.scheduledWakeUp = nil }
            expireDue()
            scheduleWakeUp(before: state.withLock { $0.table.nextDeadline })
        }
    }
}

/// The way a parked long poll ends.
enum LongPollOutcome: Sendable {
    case answered(ModelWaitResponse)
    /// The worker was unregistered or the server is stopping.
    case rejected(DCFErrorResponse)
}
