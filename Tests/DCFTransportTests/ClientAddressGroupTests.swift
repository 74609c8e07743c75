// SPDX-License-Identifier: Apache-2.0
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
