// SPDX-License-Identifier: Apache-2.0

/// An inclusive range of wire-protocol versions, as sent by `GET /dcf/protocol` (`{"min":1,"max":1}`).
public struct ProtocolVersionRange: Sendable, Hashable, Codable, CustomStringConvertible {
    public let min: Int
    public let max: Int

    /// The versions this build of dcf speaks.
    public static let supported = ProtocolVersionRange(uncheckedMin: 1, max: 1)

    /// Creates a range; `min` must be at least 1 and not above `max`.
    public init?(min: Int, max: Int) {
        guard min >= 1, min <= max else { return nil }
        self.min = min
        self.max = max
    }

    private init(uncheckedMin min: Int, max: Int) {
        self.min = min
        self.max = max
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let min = try container.decode(Int.self, forKey: .min)
        let max = try container.decode(Int.self, forKey: .max)
        guard min >= 1, min <= max else {
            throw DecodingError.dataCorruptedError(
                forKey: .max, in: container, debugDescription: "invalid protocol version range \(min)...\(max)")
        }
        self.init(uncheckedMin: min, max: max)
    }

    public var description: String { min == max ? "\(min)" : "\(min)-\(max)" }

    public func contains(_ version: Int) -> Bool { version >= min && version <= max }

    /// Returns the highest version both ranges contain, or nil when they do not overlap.
    public func highestCommonVersion(with other: ProtocolVersionRange) -> Int? {
        let candidate = Swift.min(max, other.max)
        return candidate >= Swift.max(min, other.min) ? candidate : nil
    }

    /// Returns the message for a peer whose versions do not overlap this range, naming both ranges.
    ///
    /// - Parameter peer: the version or range the other side speaks.
    public func mismatchMessage(peer: String, peerRole: String) -> String {
        "protocol version mismatch: the \(peerRole) speaks version \(peer) but this server speaks \(description); "
            + "upgrade the side with the older version"
    }
}

/// The body of `GET /dcf/protocol`: the versions the server speaks and its software version.
public struct ProtocolInfo: Sendable, Hashable, Codable {
    public let min: Int
    public let max: Int
    /// The server's software name and version, for logs and error messages.
    public let server: String

    public init(range: ProtocolVersionRange, server: String) {
        self.min = range.min
        self.max = range.max
        self.server = server
    }

    /// The advertised range, or nil when the server sent an invalid one.
    public var range: ProtocolVersionRange? { ProtocolVersionRange(min: min, max: max) }
}
