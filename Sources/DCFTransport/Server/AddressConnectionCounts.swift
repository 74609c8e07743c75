// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// Open connections per `ClientAddressGroup`, shared by every loop of a server. A server keeps one table of
/// address groups and one of their networks.
///
/// The loop that accepts a connection acquires its group's count, and the loop that serves it releases the
/// count when the connection closes, so the count lives behind a lock. A group is removed when its count
/// returns to zero, so the table holds only groups with open connections.
final class AddressConnectionCounts: Sendable {
    private let counts = Mutex<[ClientAddressGroup: Int]>([:])

    /// Counts one more connection of `group` and returns true, or returns false without counting when the group
    /// already has `limit` open connections.
    func acquire(_ group: ClientAddressGroup, limit: Int) -> Bool {
        counts.withLock { counts in
            let open = counts[group, default: 0]
            guard open < limit else { return false }
            counts[group] = open + 1
            return true
        }
    }

    /// Gives back one connection of `group` that `acquire` counted.
    func release(_ group: ClientAddressGroup) {
        counts.withLock { counts in
            guard let open = counts[group] else {
                assertionFailure("released a connection of \(group) that was never counted")
                return
            }
            counts[group] = open > 1 ? open - 1 : nil
        }
    }

    /// Returns the number of open connections of `group`.
    func count(of group: ClientAddressGroup) -> Int {
        counts.withLock { $0[group, default: 0] }
    }

    /// The number of groups with at least one open connection.
    var groupCount: Int {
        counts.withLock { $0.count }
    }

    /// A copy of the counts of every group with open connections.
    var snapshot: [ClientAddressGroup: Int] {
        counts.withLock { $0 }
    }
}
