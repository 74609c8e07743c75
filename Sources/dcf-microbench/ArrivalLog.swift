// SPDX-License-Identifier: Apache-2.0
import Glibc
import Synchronization

/// When each worker received its response, per round, in `CLOCK_MONOTONIC` nanoseconds, and the failures.
///
/// The monotonic clock is one clock for the whole machine on Linux, so instants recorded by a client process
/// compare directly with the instant the server process published a version.
final class ArrivalLog: Sendable {
    private let state: Mutex<(instants: [[UInt64]], failures: [String])>

    init(rounds: Int) {
        state = Mutex((Array(repeating: [], count: rounds), []))
    }

    /// The current `CLOCK_MONOTONIC` time in nanoseconds.
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    func record(round: Int, at instant: UInt64) {
        state.withLock { state in
            guard state.instants.indices.contains(round) else { return }
            state.instants[round].append(instant)
        }
    }

    func recordFailure(_ message: String) { state.withLock { $0.failures.append(message) } }

    func count(_ round: Int) -> Int { state.withLock { $0.instants[round].count } }

    func instants(_ round: Int) -> [UInt64] { state.withLock { $0.instants[round] } }

    var failureCount: Int { state.withLock { $0.failures.count } }

    var firstFailure: String? { state.withLock { $0.failures.first } }
}
