// SPDX-License-Identifier: Apache-2.0
import DCFTransport
import Synchronization

/// Lets at most `limit` update bodies be received at once; the others wait in arrival order.
///
/// A waiting upload's body stays with its client: the server sends `100 Continue` and reads the body only when
/// the upload is admitted. So the kernel buffers at most `limit` bodies in flight, however many workers upload
/// at once. Without the limit each connection fills a receive buffer, and thousands of simultaneous uploads run
/// past `net.ipv4.tcp_mem`, where the kernel drops packets.
final class UploadAdmission: Sendable {
    private struct State {
        /// Tickets of the uploads receiving their body now.
        var active: Set<UInt64> = []
        /// Waiting uploads in arrival order from `head`; entries before `head` were admitted or withdrawn.
        var queue: [Waiting?] = []
        var head = 0
        var waiting: [UInt64: Int] = [:]
        var nextTicket: UInt64 = 0
        var admittedTotal: UInt64 = 0
        /// Set by `rejectWaiting()`: no upload waits any more, and new ones are rejected at once.
        var isClosed = false
    }

    private struct Waiting {
        let ticket: UInt64
        let grant: @Sendable () -> Void
        let reject: @Sendable () -> Void
    }

    let limit: Int
    private let state = Mutex(State())
    private let slowKept = Atomic<Int>(0)
    private let chunkHold = Mutex<(@Sendable (HTTPBodyDemand) -> Void)?>(nil)

    init(limit: Int) {
        precondition(limit >= 1, "the upload limit must be at least 1")
        self.limit = limit
    }

    /// Uploads receiving their body now.
    var activeCount: Int { state.withLock { $0.active.count } }
    /// Uploads waiting for their turn.
    var waitingCount: Int { state.withLock { $0.waiting.count } }
    /// Uploads admitted since the server started.
    var admittedTotal: UInt64 { state.withLock { $0.admittedTotal } }
    /// Pace checks that found a body below the minimum rate but kept it, because the server had not read all
    /// that had arrived.
    var slowUploadsKept: Int { slowKept.load(ordering: .relaxed) }

    /// Sets a test hook that receives the demand for an admitted upload's next body chunk in place of requesting
    /// it, so the server stops reading that body while its client's bytes wait in the socket. nil ends the hold
    /// for later chunks, and the caller requests more through each demand it received.
    func holdBodyChunks(_ hold: (@Sendable (HTTPBodyDemand) -> Void)?) {
        chunkHold.withLock { $0 = hold }
    }

    /// Requests the next body chunk through `demand`, unless a test hook set by `holdBodyChunks` takes it.
    func requestNextChunk(_ demand: HTTPBodyDemand) {
        guard let hold = chunkHold.withLock({ $0 }) else {
            demand.requestMore()
            return
        }
        hold(demand)
    }

    /// Counts one pace check of `slowUploadsKept`.
    func recordSlowUploadKept() {
        slowKept.add(1, ordering: .relaxed)
    }

    /// Queues an upload and calls `grant` once it may receive its body, at once when fewer than `limit` are
    /// active, or `reject` when `rejectWaiting()` ends the wait first. Each runs after the lock is released, on
    /// this thread or on the one that freed the place or rejected. The returned slot must be released when the
    /// upload ends, however it ends.
    func enter(
        _ grant: @escaping @Sendable () -> Void, reject: @escaping @Sendable () -> Void = {}
    ) -> UploadSlot {
        enum Outcome { case granted, waiting, rejected }
        let (ticket, outcome) = state.withLock { state -> (UInt64, Outcome) in
            state.nextTicket += 1
            let ticket = state.nextTicket
            if state.active.count < limit {
                state.active.insert(ticket)
                state.admittedTotal += 1
                return (ticket, .granted)
            }
            if state.isClosed { return (ticket, .rejected) }
            state.waiting[ticket] = state.queue.count
            state.queue.append(Waiting(ticket: ticket, grant: grant, reject: reject))
            return (ticket, .waiting)
        }
        let slot = UploadSlot(admission: self, ticket: ticket)
        switch outcome {
        case .granted: grant()
        case .rejected: reject()
        case .waiting: break
        }
        return slot
    }

    /// Empties the queue, calling each waiting upload's `reject`, and rejects every later upload that would have
    /// to wait, because a draining server cannot promise it a place before it stops. Active uploads go on.
    func rejectWaiting() {
        let rejected = state.withLock { state -> [Waiting] in
            state.isClosed = true
            let waiting = state.queue[state.head...].compactMap { $0 }
            state.queue = []
            state.head = 0
            state.waiting = [:]
            return waiting
        }
        for entry in rejected { entry.reject() }
    }

    /// Withdraws the upload with `ticket` if it still waits; otherwise frees its place, if it has one, handing it
    /// to the oldest waiting upload. A rejected upload has neither.
    fileprivate func release(ticket: UInt64) {
        let next = state.withLock { state -> (@Sendable () -> Void)? in
            if let index = state.waiting.removeValue(forKey: ticket) {
                state.queue[index] = nil
                Self.compact(&state)
                return nil
            }
            guard state.active.remove(ticket) != nil else { return nil }
            while state.head < state.queue.count {
                let entry = state.queue[state.head]
                state.queue[state.head] = nil
                state.head += 1
                guard let entry else { continue }
                state.waiting[entry.ticket] = nil
                state.active.insert(entry.ticket)
                state.admittedTotal += 1
                Self.compact(&state)
                return entry.grant
            }
            Self.compact(&state)
            return nil
        }
        next?()
    }

    /// Drops the admitted and withdrawn entries at the front once they are most of the queue, so its storage
    /// stays proportional to the uploads waiting.
    private static func compact(_ state: inout State) {
        guard state.head > 1024, state.head * 2 > state.queue.count else { return }
        state.queue.removeFirst(state.head)
        state.head = 0
        for (index, entry) in state.queue.enumerated() {
            if let entry { state.waiting[entry.ticket] = index }
        }
    }

}

/// One upload's place in `UploadAdmission`, waiting or admitted; `release()` gives it back once.
final class UploadSlot: Sendable {
    private let admission: UploadAdmission
    private let ticket: UInt64
    private let released = Atomic<Bool>(false)

    fileprivate init(admission: UploadAdmission, ticket: UInt64) {
        self.admission = admission
        self.ticket = ticket
    }

    /// Frees the place, or leaves the queue if the upload is still waiting. Calling it again changes nothing.
    func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        admission.release(ticket: ticket)
    }
}
