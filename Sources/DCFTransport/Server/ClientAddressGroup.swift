// SPDX-License-Identifier: Apache-2.0
import Glibc

/// The client addresses that share one count under `HTTPServerLimits.maxConnectionsPerAddress`.
///
/// An IPv4 address is a group of its own. IPv6 addresses group by their /64 prefix, because a network usually
/// assigns a whole /64 to one host, which can pick a new address in it for every connection. An IPv4-mapped
/// IPv6 address (`::ffff:192.0.2.7`, as a dual-stack socket reports an IPv4 client) belongs to the group of its
/// IPv4 address, and so does an address in the NAT64 prefix 64:ff9b::/96, which a NAT64 gateway gives the IPv4
/// hosts behind it. A link-local address (fe80::/10) with its interface is a group of its own, because every
/// host on a link has one in the same /64, and hosts on two links may use the same address.
///
/// `network` returns the wider group that shares one count under `HTTPServerLimits.maxConnectionsPerNetwork`:
/// an IPv4 /24 or an IPv6 /48, because a provider often assigns that much to one customer.
enum ClientAddressGroup: Hashable, Sendable, CustomStringConvertible {
    /// An IPv4 address in host byte order.
    case ipv4(UInt32)
    /// The first 64 bits of an IPv6 address in host byte order.
    case ipv6Network(UInt64)
    /// A whole link-local IPv6 address, its first and last 64 bits in host byte order, and the index of the
    /// interface it was received on (`sin6_scope_id`).
    case ipv6Address(UInt64, UInt64, scope: UInt32)
    /// An IPv4 /24 network: its address in host byte order, with the last 8 bits zero.
    case ipv4Network(UInt32)
    /// An IPv6 /48 network: the first 64 bits of its address in host byte order, with the last 16 of them zero.
    case ipv6Network48(UInt64)

    /// The group of this group's network: the /24 of an IPv4 address, the /48 of an IPv6 /64, and a link-local
    /// address itself, because a link-local address does not identify the network behind it. A network group is
    /// its own network.
    var network: ClientAddressGroup {
        switch self {
        case .ipv4(let address):
            return .ipv4Network(address & 0xFFFF_FF00)
        case .ipv6Network(let prefix):
            return .ipv6Network48(prefix & 0xFFFF_FFFF_FFFF_0000)
        case .ipv6Address, .ipv4Network, .ipv6Network48:
            return self
        }
    }

    /// The group of an accepted peer address, or nil when its family is neither IPv4 nor IPv6 (a Unix socket).
    init?(_ storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let address = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            }
            self = .ipv4(UInt32(bigEndian: address))
        case AF_INET6:
            let (bytes, scope) = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    (withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }, pointer.pointee.sin6_scope_id)
                }
            }
            self.init(ipv6: bytes, scope: scope)
        default:
            return nil
        }
    }

    /// Creates the group of a 16-byte IPv6 address in network byte order, received on the interface with index
    /// `scope`. Only a link-local group keeps `scope`.
    private init(ipv6 bytes: [UInt8], scope: UInt32) {
        let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        // ::ffff:0:0/96 contains the IPv4-mapped addresses, and 64:ff9b::/96 the NAT64 ones.
        let mapped = high == 0 && low >> 32 == 0xFFFF
        let translated = high == 0x0064_FF9B_0000_0000 && low >> 32 == 0
        if mapped || translated {
            self = .ipv4(UInt32(truncatingIfNeeded: low))
        } else if high >> 54 == 0x3FA {
            // fe80::/10: the first 10 bits are 1111 1110 10.
            self = .ipv6Address(high, low, scope: scope)
        } else {
            self = .ipv6Network(high)
        }
    }

    /// The address as `192.0.2.7` or `fe80::1%eth0`, or the network as `198.51.100.0/24`, `2001:db8:1:2::/64` or
    /// `2001:db8:1::/48`. A link-local address carries its interface name, or the interface index when no
    /// interface has that index.
    var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch self {
        case .ipv4(let address):
            var raw = in_addr(s_addr: address.bigEndian)
            inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
            return Self.string(text)
        case .ipv6Network(let prefix):
            var raw = Self.ipv6(high: prefix, low: 0)
            inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
            return Self.string(text) + "/64"
        case .ipv4Network(let address):
            var raw = in_addr(s_addr: address.bigEndian)
            inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
            return Self.string(text) + "/24"
        case .ipv6Network48(let prefix):
            var raw = Self.ipv6(high: prefix, low: 0)
            inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
            return Self.string(text) + "/48"
        case .ipv6Address(let high, let low, let scope):
            var raw = Self.ipv6(high: high, low: low)
            inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
            return Self.string(text) + Self.zone(scope)
        }
    }

    /// Returns the zone suffix of RFC 4007, section 11: `%` and the interface name, `%` and the index when no
    /// interface has that index, or nothing for index 0 (no interface known).
    private static func zone(_ scope: UInt32) -> String {
        guard scope != 0 else { return "" }
        var name = [CChar](repeating: 0, count: Int(IF_NAMESIZE))
        guard if_indextoname(scope, &name) != nil else { return "%\(scope)" }
        return "%" + string(name)
    }

    /// Returns the IPv6 address in network byte order whose first and last 64 bits are `high` and `low`.
    private static func ipv6(high: UInt64, low: UInt64) -> in6_addr {
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { bytes in
            for index in 0..<8 {
                bytes[index] = UInt8(truncatingIfNeeded: high >> (56 - 8 * index))
                bytes[8 + index] = UInt8(truncatingIfNeeded: low >> (56 - 8 * index))
            }
        }
        return raw
    }

    private static func string(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
