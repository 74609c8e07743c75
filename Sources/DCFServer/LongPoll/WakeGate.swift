// SPDX-License-Identifier: Apache-2.0
import Dispatch
import Synchronization

/// Holds back the handling of new requests while the responses of a long-poll wake-up are being written.
///
/// Workers that got a response send their next request at once. Its signature check takes a tenth to a quarter of a
/// millisecond of CPU, so a thousand of them compete with the event loops that are still writing the other
/// responses. Requests that arrive during a wake-up wait here until every loop has written its responses, or
/// until the maximum hold has passed, whichever comes first.
final class WakeGate: Sendable {
    private struct State {
        /// Wake-ups whose responses are not all written yet.
        var openWakeUps: Set<UInt64> = []
        var nextWakeUp: UInt64 = 0
        var held: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())
    private let queue: DispatchQueue
    private let maximumHold: DispatchTimeInterval

    /// - Parameters:
    ///   - queue: where held work runs once the gate opens.
    ///   - maximumHold: the longest a request waits, so a loop that never runs its batch cannot stop request
    ///     handling.
    init(queue: DispatchQueue, maximumHold: DispatchTimeInterval = .milliseconds(250)) {
        self.queue = queue
        self.maximumHold = maximumHold
    }

    /// Closes the gate for one wake-up and returns the call that opens it again.
    func close() -> @Sendable () -> Void {
        let wakeUp = state.withLock { state in
            state.nextWakeUp += 1
            state.openWakeUps.insert(state.nextWakeUp)
            return state.nextWakeUp
        }
        queue.asyncAfter(deadline: .now() + maximumHold) { [self] in finish(wakeUp) }
        return { [self] in finish(wakeUp) }
    }

    /// Runs `work` on `queue` now, or once no wake-up is being written.
    func submit(_ work: @escaping @Sendable () -> Void) {
        let runsNow = state.withLock { state in
            guard !state.openWakeUps.isEmpty else { return true }
            state.held.append(work)
            return false
        }
        if runsNow { queue.async(execute: work) }
    }

    /// Ends one wake-up; the second call for the same wake-up (responses written, then the time limit) does
    /// nothing.
    private func finish(_ wakeUp: UInt64) {
        let released = state.withLock { state -> [@Sendable () -> Void] in
            guard state.openWakeUps.remove(wakeUp) != nil, state.openWakeUps.isEmpty else { return [] }
            defer { state.held = [] }
            return state.held
        }
        for work in released { queue.async(execute: work) }
    }
}
