// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Synchronization

/// The workers with an update upload in flight, so one worker id cannot hold many spooling connections.
final class UploadGate: Sendable {
    private struct State {
        var inFlight: [WorkerID: UInt64] = [:]
        var nextTicket: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Marks an upload of `worker` as in flight and returns its ticket, or nil when one already is.
    func enter(_ worker: WorkerID) -> UInt64? {
        state.withLock { state in
            guard state.inFlight[worker] == nil else { return nil }
            state.nextTicket += 1
            state.inFlight[worker] = state.nextTicket
            return state.nextTicket
        }
    }

    /// Ends the upload that `enter(_:)` admitted with `ticket`. Calling it again, or after a later upload of
    /// the same worker entered, changes nothing.
    func leave(_ worker: WorkerID, ticket: UInt64) {
        state.withLock { state in
            if state.inFlight[worker] == ticket { state.inFlight[worker] = nil }
        }
    }

    /// The error response for a second upload while `worker` has one in flight.
    static func busy(_ worker: WorkerID) -> DCFErrorResponse {
        DCFErrorResponse(
            .conflict,
            "worker \(worker.short) already has an update upload in progress; wait for its response before "
                + "sending another")
    }
}

/// One upload's place in an `UploadGate`: taken once the upload's head has proved the worker's key, and given
/// back when the upload ends, however it ends.
final class UploadPass: Sendable {
    private let gate: UploadGate
    private let worker: WorkerID
    private let ticket = Mutex<UInt64?>(nil)

    init(gate: UploadGate, worker: WorkerID) {
        self.gate = gate
        self.worker = worker
    }

    /// Enters the gate; throws `UploadGate.busy` when the worker has another upload in flight.
    func take() throws(DCFErrorResponse) {
        guard let entered = gate.enter(worker) else { throw UploadGate.busy(worker) }
        ticket.withLock { $0 = entered }
    }

    /// Leaves the gate if `take()` entered it; calling it again changes nothing.
    func giveBack() {
        guard let entered = ticket.withLock({ $0 }) else { return }
        gate.leave(worker, ticket: entered)
    }
}
