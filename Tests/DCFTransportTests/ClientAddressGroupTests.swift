// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Testing

@testable import DCFTransport

@Suite struct ClientAddressGroupTests {
    /// Returns an accepted-peer address for a numeric IPv4 or IPv6 `host`, as `accept4` fills it.
    /// `scope` is the interface index in `sin6_scope_id`, which only IPv6 addresses have.
    private static func peerAddress(_ host: String, port: UInt16 = 40000, scope: UInt32 = 0) throws -> sockaddr_storage {
        var storage = sockaddr_storage()
        let parsed = withUnsafeMutablePointer(to: &storage) { pointer -> Bool in
            if host.contains(":") {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    address.pointee.sin6_family = sa_family_t(AF_INET6)
                    address.pointee.sin6_port = port.bigEndian
                    address.pointee.sin6_scope_id = scope
                    return inet_pton(AF_INET6, host, &address.pointee.sin6_addr) == 1
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                address.pointee.sin_family = sa_family_t(AF_INET)
                address.pointee.sin_port = port.bigEndian
                return inet_pton(AF_INET, host, &address.pointee.sin_addr) == 1
            }
        }
        try #require(parsed, "invalid test address \(host)")
        return storage
    }

    private static func group(_ host: String, port: UInt16 = 40000, scope: UInt32 = 0) throws -> ClientAddressGroup? {
        ClientAddressGroup(try peerAddress(host, port: port, scope: scope))
    }

    @Test func ipv4IsItsOwnGroup() throws {
        let group = try #require(try Self.group("192.0.2.7"))
        #expect(group.description == "192.0.2.7")
        #expect(try Self.group("192.0.2.7", port: 50000) == group)
        #expect(try Self.group("192.0.2.8") != group)
        #expect(try Self.group("10.0.2.7") != group)
    }

    @Test func ipv6GroupsByPrefix64() throws {
        let group = try #require(try Self.group("2001:db8:1:2::1"))
        #expect(group.description == "2001:db8:1:2::/64")
        #expect(try Self.group("2001:db8:1:2:ffff:ffff:ffff:ffff") == group)
        #expect(try Self.group("2001:db8:1:2:a:b:c:d", port: 1) == group)
        #expect(try Self.group("2001:db8:1:3::1") != group)
        #expect(try Self.group("2001:db8:2:2::1") != group)
        #expect(try Self.group("2001:db9:1:2::1") != group)
    }

    @Test func ipv6LoopbackGroup() throws {
        let group = try #require(try Self.group("::1"))
        #expect(group.description == "::/64")
        #expect(try Self.group("::2") == group)
    }

    @Test func ipv4MappedCountsAsIPv4() throws {
        let mapped = try #require(try Self.group("::ffff:192.0.2.7"))
        #expect(mapped == (try Self.group("192.0.2.7")))
        #expect(mapped.description == "192.0.2.7")
        #expect(try Self.group("::ffff:192.0.2.8") != mapped)
    }

    /// A NAT64 gateway reports IPv4 clients inside 64:ff9b::/96, so each counts as its IPv4 address rather than all of
    /// them as one /64.
    @Test func nat64CountsAsIPv4() throws {
        let translated = try #require(try Self.group("64:ff9b::192.0.2.7"))
        #expect(translated == (try Self.group("192.0.2.7")))
        #expect(translated.description == "192.0.2.7")
        #expect(try Self.group("64:ff9b::192.0.2.8") != translated)
        // Outside the /96, the /64 groups as usual.
        let outside = try #require(try Self.group("64:ff9b::1:c000:207"))
        #expect(outside != translated)
        #expect(outside.description == "64:ff9b::/64")
    }

    /// Every host on a link has an address in fe80::/64, so link-local clients count by their whole address.
    @Test func linkLocalCountsByAddress() throws {
        let group = try #require(try Self.group("fe80::1:2:3:4"))
        #expect(group.description == "fe80::1:2:3:4")
        #expect(try Self.group("fe80::1:2:3:4", port: 1) == group)
        #expect(try Self.group("fe80::1:2:3:5") != group)
        #expect(try Self.group("febf::1:2:3:4") != group)
        #expect(try Self.group("fec0::1") == (try Self.group("fec0::2")))
    }

    /// The same link-local address on two interfaces belongs to two hosts on two links.
    @Test func linkLocalGroupIncludesInterface() throws {
        let first = try #require(try Self.group("fe80::1", scope: 2))
        #expect(try Self.group("fe80::1", port: 1, scope: 2) == first)
        #expect(try Self.group("fe80::1", scope: 3) != first)
        #expect(try Self.group("fe80::2", scope: 2) != first)
    }

    /// A log line names the interface of a link-local group, by name when the interface exists.
    @Test func linkLocalDescriptionNamesInterface() throws {
        let loopbackIndex = if_nametoindex("lo")
        try #require(loopbackIndex != 0, "no loopback interface named lo")
        let named = try #require(try Self.group("fe80::1", scope: loopbackIndex))
        #expect(named.description == "fe80::1%lo")
        // No interface has this index, so the description falls back to the number.
        let numbered = try #require(try Self.group("fe80::1", scope: 4_000_000))
        #expect(numbered.description == "fe80::1%4000000")
    }

    /// A scope id outside fe80::/10 does not split a /64 group: only link-local addresses depend on the link.
    @Test func globalGroupIgnoresScope() throws {
        let group = try #require(try Self.group("2001:db8:1:2::1", scope: 2))
        #expect(group == (try Self.group("2001:db8:1:2::1", scope: 3)))
        #expect(group.description == "2001:db8:1:2::/64")
    }

    /// An address that only looks like a mapped one elsewhere in its prefix stays an IPv6 /64.
    @Test func nearlyMappedStaysIPv6() throws {
        let group = try #require(try Self.group("::fffe:192.0.2.7"))
        #expect(group != (try Self.group("192.0.2.7")))
        #expect(group.description == "::/64")
        #expect(try Self.group("1::ffff:192.0.2.7") != (try Self.group("192.0.2.7")))
    }

    @Test func ipv4AndIPv6NeverShareGroup() throws {
        // 0.0.0.1 and ::1 have the same low bits, in different families.
        #expect(try Self.group("0.0.0.1") != (try Self.group("::1")))
        #expect(try Self.group("0.0.0.0") != (try Self.group("::")))
    }

    private static func network(_ host: String, scope: UInt32 = 0) throws -> ClientAddressGroup? {
        try group(host, scope: scope)?.network
    }

    @Test func ipv4NetworkIsPrefix24() throws {
        let network = try #require(try Self.network("198.51.100.7"))
        #expect(network.description == "198.51.100.0/24")
        #expect(try Self.network("198.51.100.0") == network)
        #expect(try Self.network("198.51.100.255") == network)
        #expect(try Self.network("198.51.101.7") != network)
        #expect(try Self.network("199.51.100.7") != network)
        #expect(network != (try Self.group("198.51.100.0")))
    }

    @Test func ipv6NetworkIsPrefix48() throws {
        let network = try #require(try Self.network("2001:db8:1:2::1"))
        #expect(network.description == "2001:db8:1::/48")
        #expect(try Self.network("2001:db8:1:ffff:ffff:ffff:ffff:ffff") == network)
        #expect(try Self.network("2001:db8:1::") == network)
        #expect(try Self.network("2001:db8:2:2::1") != network)
        #expect(try Self.network("2001:db9:1:2::1") != network)
        #expect(network != (try Self.group("2001:db8:1::1")))
    }

    /// IPv4-mapped and NAT64 addresses count in the /24 of their IPv4 address, not in an IPv6 /48.
    @Test func mappedAndNAT64NetworkIsIPv4Prefix24() throws {
        let network = try #require(try Self.network("198.51.100.7"))
        #expect(try Self.network("::ffff:198.51.100.200") == network)
        #expect(try Self.network("64:ff9b::198.51.100.9") == network)
        #expect(try Self.network("::ffff:198.51.101.7") != network)
        #expect(try Self.network("64:ff9b::198.51.101.7") != network)
        #expect(try Self.network("::ffff:198.51.100.7")?.description == "198.51.100.0/24")
    }

    /// A link-local address gets no wider group: its network is the address with its interface.
    @Test func linkLocalNetworkIsItsAddress() throws {
        let group = try #require(try Self.group("fe80::1:2:3:4", scope: 2))
        #expect(group.network == group)
        #expect(try Self.network("fe80::1:2:3:5", scope: 2) != group.network)
        #expect(try Self.network("fe80::1:2:3:4", scope: 3) != group.network)
    }

    /// A network group is its own network, so taking the network twice changes nothing.
    @Test func networkOfNetworkIsSame() throws {
        let ipv4 = try #require(try Self.network("198.51.100.7"))
        #expect(ipv4.network == ipv4)
        let ipv6 = try #require(try Self.network("2001:db8:1:2::1"))
        #expect(ipv6.network == ipv6)
    }

    @Test func unixPeerHasNoGroup() {
        var storage = sockaddr_storage()
        storage.ss_family = sa_family_t(AF_UNIX)
        #expect(ClientAddressGroup(storage) == nil)
    }

    @Test func unknownFamilyHasNoGroup() {
        var storage = sockaddr_storage()
        #expect(ClientAddressGroup(storage) == nil)
        storage.ss_family = sa_family_t(AF_PACKET)
        #expect(ClientAddressGroup(storage) == nil)
    }
}

@Suite struct AddressConnectionCountsTests {
    private static let first = ClientAddressGroup.ipv4(0xC000_0207)
    private static let second = ClientAddressGroup.ipv6Network(0x2001_0db8_0001_0002)

    @Test func acquireStopsAtLimit() {
        let counts = AddressConnectionCounts()
        #expect(counts.acquire(Self.first, limit: 2))
        #expect(counts.acquire(Self.first, limit: 2))
        #expect(!counts.acquire(Self.first, limit: 2))
        #expect(counts.count(of: Self.first) == 2)
        #expect(counts.acquire(Self.second, limit: 2))
        #expect(counts.count(of: Self.second) == 1)
    }

    @Test func releaseFreesSlotAndForgetsEmptyGroup() {
        let counts = AddressConnectionCounts()
        #expect(counts.acquire(Self.first, limit: 1))
        #expect(!counts.acquire(Self.first, limit: 1))
        counts.release(Self.first)
        #expect(counts.count(of: Self.first) == 0)
        #expect(counts.groupCount == 0)
        #expect(counts.acquire(Self.first, limit: 1))
        #expect(counts.groupCount == 1)
    }
}

/// `ServerContext.acquireGroupCounts` and `releaseConnection`, which count a connection under both the
/// per-address and the per-network limit, or under neither.
@Suite struct ConnectionGroupCountTests {
    private static let first = ClientAddressGroup.ipv4(0xC633_6407)  // 198.51.100.7
    private static let second = ClientAddressGroup.ipv4(0xC633_6408)  // 198.51.100.8
    private static let network = ClientAddressGroup.ipv4Network(0xC633_6400)  // 198.51.100.0/24

    private static func context(perAddress: Int, perNetwork: Int) -> ServerContext {
        var limits = HTTPServerLimits()
        limits.maxConnectionsPerAddress = perAddress
        limits.maxConnectionsPerNetwork = perNetwork
        let logger = Logger(component: "t", sink: .standardError(level: .error))
        return ServerContext(handler: echoHandler(), limits: limits, logger: logger, tls: nil, loopCount: 1)
    }

    @Test func networkLimitCountsAcrossAddresses() {
        let context = Self.context(perAddress: 2, perNetwork: 3)
        let counted = CountedGroups(address: Self.first, network: Self.network)
        #expect(context.acquireGroupCounts(for: Self.first) == .admitted(counted))
        #expect(context.acquireGroupCounts(for: Self.first) == .admitted(counted))
        #expect(context.acquireGroupCounts(for: Self.first) == .overAddressLimit(Self.first, limit: 2))
        #expect(context.acquireGroupCounts(for: Self.second) == .admitted(CountedGroups(address: Self.second, network: Self.network)))
        #expect(context.acquireGroupCounts(for: Self.second) == .overNetworkLimit(Self.network, limit: 3))
        #expect(context.connectionsPerAddress.count(of: Self.first) == 2)
        #expect(context.connectionsPerAddress.count(of: Self.second) == 1)
        #expect(context.connectionsPerNetwork.count(of: Self.network) == 3)
    }

    /// A connection rejected by the network limit keeps no count of its address, and one rejected by the address
    /// limit keeps no count of its network.
    @Test func rejectionLeavesNoCount() {
        let context = Self.context(perAddress: 1, perNetwork: 1)
        #expect(context.acquireGroupCounts(for: Self.first) == .admitted(CountedGroups(address: Self.first, network: Self.network)))
        #expect(context.acquireGroupCounts(for: Self.second) == .overNetworkLimit(Self.network, limit: 1))
        #expect(context.connectionsPerAddress.count(of: Self.second) == 0)
        #expect(context.connectionsPerAddress.groupCount == 1)
        #expect(context.acquireGroupCounts(for: Self.first) == .overAddressLimit(Self.first, limit: 1))
        #expect(context.connectionsPerNetwork.count(of: Self.network) == 1)
    }

    @Test func releaseGivesBackBothCounts() {
        let context = Self.context(perAddress: 1, perNetwork: 1)
        let counted = CountedGroups(address: Self.first, network: Self.network)
        context.metrics.openConnections.add(1, ordering: .relaxed)
        #expect(context.acquireGroupCounts(for: Self.first) == .admitted(counted))
        context.releaseConnection(counted)
        #expect(context.connectionsPerAddress.groupCount == 0)
        #expect(context.connectionsPerNetwork.groupCount == 0)
        #expect(context.metrics.openConnections.load(ordering: .relaxed) == 0)
        #expect(context.acquireGroupCounts(for: Self.second) == .admitted(CountedGroups(address: Self.second, network: Self.network)))
    }

    /// A limit of 0 counts nothing at its level, and a peer without a group (a Unix socket) is never counted.
    @Test func limitOfZeroCountsNothing() {
        let networkOnly = Self.context(perAddress: 0, perNetwork: 1)
        #expect(networkOnly.acquireGroupCounts(for: Self.first) == .admitted(CountedGroups(address: nil, network: Self.network)))
        #expect(networkOnly.acquireGroupCounts(for: Self.second) == .overNetworkLimit(Self.network, limit: 1))
        #expect(networkOnly.connectionsPerAddress.groupCount == 0)

        let addressOnly = Self.context(perAddress: 1, perNetwork: 0)
        #expect(addressOnly.acquireGroupCounts(for: Self.first) == .admitted(CountedGroups(address: Self.first, network: nil)))
        #expect(addressOnly.acquireGroupCounts(for: Self.second) == .admitted(CountedGroups(address: Self.second, network: nil)))
        #expect(addressOnly.connectionsPerNetwork.groupCount == 0)

        #expect(addressOnly.acquireGroupCounts(for: nil) == .admitted(CountedGroups(address: nil, network: nil)))
    }
}
