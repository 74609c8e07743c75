// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Synchronization

/// The fresh nonce the server sent last in `DCF-Next-Nonce`, kept for the worker's next signed request.
///
/// The server issues nonces per worker id, so the slot remembers which id its nonce belongs to.
/// A nonce is handed out by `take(for:)` at most once. One held longer than `usableFor` is dropped instead,
/// because the server would reject it as expired; the caller then asks `POST /dcf/nonce` for a new one.
final class NonceSlot: Sendable {
    private struct Held {
        let nonce: String
        let workerID: WorkerID
        let receivedAt: ContinuousClock.Instant
    }

    private let held = Mutex<Held?>(nil)
    private let lifetime = Mutex<Duration>(.seconds(120))

    /// How long a held nonce is offered: the server's nonce lifetime minus a margin for clock drift
    /// and time in flight.
    var usableFor: Duration {
        let full = lifetime.withLock { $0 }
        return full - min(full / 4, .seconds(15))
    }

    /// Stores the lifetime the server stated in its last `POST /dcf/nonce` reply.
    func learnLifetime(seconds: Int) {
        guard seconds > 0 else { return }
        lifetime.withLock { $0 = .seconds(seconds) }
    }

    /// Keeps `nonce`, issued to `workerID`, for the next request, replacing any nonce held before.
    func store(_ nonce: String, for workerID: WorkerID, receivedAt: ContinuousClock.Instant = .now) {
        held.withLock { $0 = Held(nonce: nonce, workerID: workerID, receivedAt: receivedAt) }
    }

    /// Removes and returns the held nonce when it was issued to `workerID` and is young enough to use;
    /// otherwise drops it and returns nil.
    func take(for workerID: WorkerID, now: ContinuousClock.Instant = .now) -> String? {
        let usable = usableFor
        return held.withLock { held -> String? in
            defer { held = nil }
            guard let entry = held, entry.workerID == workerID, now - entry.receivedAt < usable else { return nil }
            return entry.nonce
        }
    }

    /// Drops the held nonce, for example after the worker's id changed.
    func clear() {
        held.withLock { $0 = nil }
    }
}
