// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Synchronization

/// The signatures of the nonce requests accepted while their timestamps are still valid, so a copy of a signed
/// `POST /dcf/nonce` cannot be sent again to push out the nonces of the worker that signed it.
///
/// Signatures are compared in lowercase, because the hex decoder takes either case and a copy with other letter
/// case is the same signature. Each worker may hold `maximumPerWorker` entries, so one key holder sending many
/// fresh requests cannot grow the table without bound. The table lives in memory: after a restart, a copy of a
/// request signed before it is accepted once more while its timestamp is valid.
final class SeenNonceRequests: Sendable {
    /// The result of comparing a nonce request's signature with those seen before.
    enum Outcome: Equatable {
        case firstUse
        case replayed
        /// The worker already has `maximumPerWorker` requests whose timestamps are still valid, or all workers
        /// together have `maximumTotal`.
        case tooMany
    }

    private struct State {
        /// Lowercase signature hex to the signer and the Unix second after which its timestamp is rejected anyway.
        var expiries: [String: (worker: WorkerID, expiry: Int)] = [:]
        var countsByWorker: [WorkerID: Int] = [:]
        var nextSweep = 0
    }

    /// Far more than a worker needs: every response carries its next nonce, so a worker requests one only when it
    /// starts and after a failed request.
    let maximumPerWorker: Int
    /// The bound over all workers, which matters in unsafe mode, where every fresh key is a worker.
    let maximumTotal: Int
    private let state = Mutex(State())

    init(maximumPerWorker: Int = 256, maximumTotal: Int = 100_000) {
        self.maximumPerWorker = maximumPerWorker
        self.maximumTotal = maximumTotal
    }

    /// Records `signature` of `worker`'s request until `expiry` (Unix seconds) unless it was recorded before or the
    /// worker has `maximumPerWorker` live entries. Expired entries are dropped at most once a minute, and a
    /// worker at its bound drops its own expired entries at once.
    func record(_ signature: String, of worker: WorkerID, until expiry: Int) -> Outcome {
        let key = signature.lowercased()
        let now = Int(Date().timeIntervalSince1970)
        return state.withLock { state in
            if now >= state.nextSweep {
                Self.sweep(&state, now: now) { _ in true }
                state.nextSweep = now + 60
            }
            if let recorded = state.expiries[key], recorded.expiry > now { return .replayed }
            if state.countsByWorker[worker, default: 0] >= maximumPerWorker {
                Self.sweep(&state, now: now) { $0 == worker }
                guard state.countsByWorker[worker, default: 0] < maximumPerWorker else { return .tooMany }
            }
            if state.expiries.count >= maximumTotal {
                Self.sweep(&state, now: now) { _ in true }
                guard state.expiries.count < maximumTotal else { return .tooMany }
            }
            state.expiries[key] = (worker, expiry)
            state.countsByWorker[worker, default: 0] += 1
            return .firstUse
        }
    }

    private static func sweep(_ state: inout State, now: Int, of workers: (WorkerID) -> Bool) {
        for (key, entry) in state.expiries where entry.expiry <= now && workers(entry.worker) {
            state.expiries[key] = nil
            let left = state.countsByWorker[entry.worker, default: 1] - 1
            state.countsByWorker[entry.worker] = left > 0 ? left : nil
        }
    }
}
