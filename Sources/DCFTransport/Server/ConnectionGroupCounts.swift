// SPDX-License-Identifier: Apache-2.0

/// The groups whose counts include an accepted connection until it closes. Each is nil when its limit is off or
/// the peer is neither IPv4 nor IPv6.
struct CountedGroups: Sendable, Equatable {
    /// The client address group, counted under `maxConnectionsPerAddress`.
    var address: ClientAddressGroup?
    /// The network of the client address group, counted under `maxConnectionsPerNetwork`.
    var network: ClientAddressGroup?
}

/// The outcome of `ServerContext.acquireGroupCounts`.
enum GroupCountAdmission: Equatable {
    /// The connection is counted in these groups.
    case admitted(CountedGroups)
    /// The address group already has `limit` open connections, and the connection is counted nowhere.
    case overAddressLimit(ClientAddressGroup, limit: Int)
    /// The network already has `limit` open connections, and the connection is counted nowhere.
    case overNetworkLimit(ClientAddressGroup, limit: Int)
}

extension ServerContext {
    /// Counts a new connection from `group` under the per-address and the per-network limit, or under neither
    /// when one of them is reached. `releaseConnection` gives back what the admitted result lists.
    func acquireGroupCounts(for group: ClientAddressGroup?) -> GroupCountAdmission {
        guard let group else { return .admitted(CountedGroups()) }
        let addressLimit = limits.maxConnectionsPerAddress
        let networkLimit = limits.maxConnectionsPerNetwork
        let address = addressLimit > 0 ? group : nil
        let network = networkLimit > 0 ? group.network : nil
        // The address comes first, so an address over its own limit never takes a place of its network.
        if let address, !connectionsPerAddress.acquire(address, limit: addressLimit) {
            return .overAddressLimit(address, limit: addressLimit)
        }
        if let network, !connectionsPerNetwork.acquire(network, limit: networkLimit) {
            // NOTE: until this release, another loop may find the address count one too high and reject a
            // connection of the same address, which only happens while its network is full.
            if let address { connectionsPerAddress.release(address) }
            return .overNetworkLimit(network, limit: networkLimit)
        }
        return .admitted(CountedGroups(address: address, network: network))
    }
}
