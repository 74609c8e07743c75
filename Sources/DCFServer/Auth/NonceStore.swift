// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
public import DCFProtocol
import Synchronization

/// Single-use nonces that workers put in signed requests, so a captured request cannot be replayed.
///
/// Nonces live in memory only: a restart invalidates them and each worker asks for a new one.
///
/// Each worker has two pools of at most `maximumPerWorker` nonces, one per `Origin`; issuing one more into a
/// full pool evicts that pool's oldest, so a worker that lost its nonces is never locked out. `POST /dcf/nonce`
/// is unauthenticated, so anyone who knows a worker's id can fill its `.request` pool; the separate
/// `.signedResponse` pool keeps the nonce the worker got in `DCF-Next-Nonce` from being evicted that way.
public final class NonceStore: Sendable {
    /// The outcome of consuming a nonce.
    public enum Consumption: Sendable, Equatable {
        case accepted
        /// Never issued to this worker, or already used.
        case unknown
        case expired
    }

    /// How a nonce reached the worker, which picks the pool it is kept in.
    public enum Origin: Sendable, Hashable, CaseIterable {
        /// The body of `POST /dcf/nonce`, which any client may request for any allowed worker id.
        case request
        /// `DCF-Next-Nonce` of a response to a request that the worker signed.
        case signedResponse
    }

    fileprivate struct IssuedEntry {
        let nonce: String
        var expiry: ContinuousClock.Instant
        /// Held by an upload whose signed head was verified in time: it does not expire and is not evicted
        /// until the upload consumes or releases it.
        var isHeld = false

        func isLive(at now: ContinuousClock.Instant) -> Bool { isHeld || expiry > now }
    }

    private struct Pool: Hashable {
        let worker: WorkerID
        let origin: Origin
    }

    private struct State {
        var byPool: [Pool: [IssuedEntry]] = [:]
        var total = 0
    }

    /// Random bytes drawn from OpenSSL in blocks, so issuing a nonce does not call `RAND_bytes` each time.
    private struct RandomPool {
        static let blockSize = 4096
        var bytes: [UInt8] = []
        var offset = 0

        mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
            if offset + count > bytes.count {
                bytes = try SecureRandom.bytes(count: Self.blockSize)
                offset = 0
            }
            defer { offset += count }
            return bytes[offset..<offset + count]
        }
    }

    private static let nonceByteCount = 16

    public let lifetime: Duration
    /// Bound on the nonces of one worker in each pool.
    public let maximumPerWorker: Int
    /// Bound on nonces across all workers when issuing into a `.request` pool, which matters in unsafe mode
    /// where any key may ask. `.signedResponse` pools are not refused: only authenticated workers fill them,
    /// and each holds at most `maximumPerWorker`.
    public let maximumTotal: Int
    private let clock: any ServerClock
    private let state = Mutex(State())
    private let randomPool = Mutex(RandomPool())

    public init(lifetime: Duration, maximumPerWorker: Int, maximumTotal: Int, clock: any ServerClock) {
        precondition(maximumPerWorker >= 1 && maximumTotal >= 1, "nonce limits must be at least 1")
        self.lifetime = lifetime
        self.maximumPerWorker = maximumPerWorker
        self.maximumTotal = maximumTotal
        self.clock = clock
    }

    /// The number of unexpired and expired nonces not yet consumed or swept.
    public var outstandingCount: Int { state.withLock { $0.total } }

    /// Issues a fresh nonce for `worker` into the pool of `origin`.
    ///
    /// - Throws: `too_many_nonces` when `origin` is `.request` and the store is full even after dropping
    ///   expired nonces.
    public func issue(for worker: WorkerID, origin: Origin = .request) throws -> String {
        let nonce = Hex.encode(try randomPool.withLock { try $0.take(Self.nonceByteCount) })
        let now = clock.now
        let pool = Pool(worker: worker, origin: origin)
        try state.withLock { state throws(DCFErrorResponse) in
            if state.total >= maximumTotal { Self.sweep(&state, now: now) }
            // Evicting before the capacity check keeps a worker at its limit from being rejected.
            let evicts = (state.byPool[pool]?.count ?? 0) >= maximumPerWorker
            guard origin == .signedResponse || state.total - (evicts ? 1 : 0) < maximumTotal else {
                throw DCFErrorResponse(
                    .tooManyNonces, "the server holds \(maximumTotal) outstanding nonces; retry after \(lifetime)")
            }
            // Mutating the array in place through the default subscript avoids copying it on every issue.
            state.byPool[pool, default: []].appendEvictingOldest(
                IssuedEntry(nonce: nonce, expiry: now + lifetime), evicts: evicts)
            state.total += evicts ? 0 : 1
        }
        return nonce
    }

    /// Consumes `nonce` for `worker` from either pool; whatever the outcome, the nonce cannot be used again.
    public func consume(_ nonce: String, for worker: WorkerID) -> Consumption {
        let now = clock.now
        return state.withLock { state in
            for origin in Origin.allCases {
                let pool = Pool(worker: worker, origin: origin)
                guard var issued = state.byPool[pool], let index = issued.firstIndex(where: { $0.nonce == nonce })
                else { continue }
                let entry = issued.remove(at: index)
                state.byPool[pool] = issued.isEmpty ? nil : issued
                state.total -= 1
                return entry.isLive(at: now) ? .accepted : .expired
            }
            return .unknown
        }
    }

    /// Returns whether `nonce` is outstanding for `worker` and unexpired, without consuming it.
    public func isOutstanding(_ nonce: String, for worker: WorkerID) -> Bool {
        peek(nonce, for: worker) == .accepted
    }

    /// Returns what `consume(_:for:)` would return now, without consuming the nonce.
    public func peek(_ nonce: String, for worker: WorkerID) -> Consumption {
        let now = clock.now
        return state.withLock { state in
            for origin in Origin.allCases {
                guard let entry = state.byPool[Pool(worker: worker, origin: origin)]?.first(where: { $0.nonce == nonce })
                else { continue }
                return entry.isLive(at: now) ? .accepted : .expired
            }
            return .unknown
        }
    }

    /// Holds `nonce` for `worker` when it is outstanding and unexpired, and returns what `peek(_:for:)` returned
    /// before. A held nonce neither expires nor is evicted until `consume(_:for:)` or `release(_:for:)`, so an
    /// upload whose signed head arrived in time keeps its nonce while the body waits its turn and arrives.
    public func hold(_ nonce: String, for worker: WorkerID) -> Consumption {
        let now = clock.now
        return state.withLock { state in
            for origin in Origin.allCases {
                let pool = Pool(worker: worker, origin: origin)
                guard let index = state.byPool[pool]?.firstIndex(where: { $0.nonce == nonce }) else { continue }
                guard state.byPool[pool]![index].isLive(at: now) else { return .expired }
                state.byPool[pool]![index].isHeld = true
                return .accepted
            }
            return .unknown
        }
    }

    /// Ends a hold that `hold(_:for:)` placed and gives the nonce a full lifetime from now, so the worker may
    /// send the request again with it. Does nothing when the nonce was consumed meanwhile.
    public func release(_ nonce: String, for worker: WorkerID) {
        let now = clock.now
        state.withLock { state in
            for origin in Origin.allCases {
                let pool = Pool(worker: worker, origin: origin)
                guard let index = state.byPool[pool]?.firstIndex(where: { $0.nonce == nonce }),
                    state.byPool[pool]![index].isHeld
                else { continue }
                state.byPool[pool]![index].isHeld = false
                state.byPool[pool]![index].expiry = now + lifetime
                return
            }
        }
    }

    /// Drops every expired nonce.
    public func removeExpired() {
        let now = clock.now
        state.withLock { Self.sweep(&$0, now: now) }
    }

    /// Drops every nonce of `worker`, for example when an admin removes it.
    public func removeAll(for worker: WorkerID) {
        state.withLock { state in
            for origin in Origin.allCases {
                state.total -= state.byPool.removeValue(forKey: Pool(worker: worker, origin: origin))?.count ?? 0
            }
        }
    }

    private static func sweep(_ state: inout State, now: ContinuousClock.Instant) {
        for (pool, issued) in state.byPool {
            let live = issued.filter { $0.isLive(at: now) }
            state.total -= issued.count - live.count
            state.byPool[pool] = live.isEmpty ? nil : live
        }
    }
}

extension Array where Element == NonceStore.IssuedEntry {
    /// Appends `element`, first removing the oldest element not held by an upload (the oldest of all when every
    /// one is held) when `evicts` is true.
    fileprivate mutating func appendEvictingOldest(_ element: Element, evicts: Bool) {
        if evicts { remove(at: firstIndex { !$0.isHeld } ?? startIndex) }
        append(element)
    }
}
