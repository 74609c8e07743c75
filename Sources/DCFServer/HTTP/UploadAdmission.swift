// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// Lets at most `limit` update bodies be received at once; the others wait in arrival order.
///
/// A waiting upload's body stays with its client: the server sends `100 Continue` and reads the body only when
/// the upload is admitted. So the kernel buffers at most `limit` bodies in flight, however many workers upload
/// at once. Without the limit each connection fills a receive buffer, and thousands of simultaneous uploads run
/// past `net.ipv4.tcp_mem`, where the kernel drops packets.
final class UploadAdmission: Sendable {
    private struct State {
        var active = 0
        /// Waiting uploads in arrival order from `head`; entries before `head` were admitted or withdrawn.
        var queue: [(ticket: UInt64, grant: @Sendable () -> Void)?] = []
        var head = 0
        var waiting: [UInt64: Int] = [:]
        var nextTicket: UInt64 = 0
        var admittedTotal: UInt64 = 0
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        precondition(limit >= 1, "the upload limit must be at least 1")
        self.limit = limit
    }

    /// Uploads receiving their body now.
    var activeCount: Int { state.withLock { $0.active } }
    /// Uploads waiting for their turn.
    var waitingCount: Int { state.withLock { $0.waiting.count } }
    /// Uploads admitted since the server started.
    var admittedTotal: UInt64 { state.withLock { $0.admittedTotal } }

    /// Queues an upload and calls `grant` once it may receive its body, at once when fewer than `limit` are
    /// active. `grant` runs after the lock is released, on this thread or on the one that freed the place. The
    /// returned slot must be released when the upload ends, however it ends.
    func enter(_ grant: @escaping @Sendable () -> Void) -> UploadSlot {
        let (ticket, grantNow) = state.withLock { state -> (UInt64, Bool) in
            state.nextTicket += 1
            let ticket = state.nextTicket
            if state.active < limit {
                state.active += 1
                state.admittedTotal += 1
                return (ticket, true)
            }
            state.waiting[ticket] = state.queue.count
            state.queue.append((ticket, grant))
            return (ticket, false)
        }
        let slot = UploadSlot(admission: self, ticket: ticket)
        if grantNow { grant() }
        return slot
    }

    /// Withdraws the upload with `ticket` if it still waits; otherwise frees its place, handing it to the oldest
    /// waiting upload.
    fileprivate func release(ticket: UInt64) {
        let next = state.withLock { state -> (@Sendable () -> Void)? in
            if let index = state.waiting.removeValue(forKey: ticket) {
                state.queue[index] = nil
                Self.compact(&state)
                return nil
            }
            while state.head < state.queue.count {
                let entry = state.queue[state.head]
                state.queue[state.head] = nil
                state.head += 1
                guard let entry else { continue }
                state.waiting[entry.ticket] = nil
                state.admittedTotal += 1
                Self.compact(&state)
                return entry.grant
            }
            state.active -= 1
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
