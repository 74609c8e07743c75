// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization

/// The signatures of the nonce requests accepted while their timestamps are still valid, so a copy of a signed
/// `POST /dcf/nonce` cannot be sent again to push out the nonces of the worker that signed it.
final class SeenNonceRequests: Sendable {
    private struct State {
        /// Signature hex to the Unix second after which its timestamp is rejected anyway.
        var expiries: [String: Int] = [:]
        var nextSweep = 0
    }

    private let state = Mutex(State())

    /// Records `signature` until `expiry` (Unix seconds) and returns true, or returns false when it was already
    /// recorded. Entries whose expiry has passed are dropped at most once a minute.
    func firstUse(of signature: String, until expiry: Int) -> Bool {
        let now = Int(Date().timeIntervalSince1970)
        return state.withLock { state in
            if now >= state.nextSweep {
                state.expiries = state.expiries.filter { $0.value > now }
                state.nextSweep = now + 60
            }
            if let recorded = state.expiries[signature], recorded > now { return false }
            state.expiries[signature] = expiry
            return true
        }
    }
}
