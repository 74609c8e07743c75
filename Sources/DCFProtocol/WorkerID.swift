// SPDX-License-Identifier: Apache-2.0

/// A worker's identifier: lowercase hex. In safe mode it is the worker's Ed25519 public key;
/// in unsafe mode the server assigns a fresh one at each registration.
public struct WorkerID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// The maximum length accepted, so a header cannot carry an arbitrarily long id.
    public static let maximumLength = 128

    /// Accepts 8 to 128 hex digits and normalizes them to lowercase; returns nil otherwise.
    public init?(_ text: some StringProtocol) {
        guard (8...Self.maximumLength).contains(text.count), text.allSatisfy(Self.isASCIIHexDigit) else { return nil }
        self.rawValue = text.lowercased()
    }

    static func isASCIIHexDigit(_ character: Character) -> Bool { character.isASCII && character.isHexDigit }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = WorkerID(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "invalid worker id \"\(text)\"")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static func < (lhs: WorkerID, rhs: WorkerID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The first 8 hex digits, for log lines.
    public var short: String { String(rawValue.prefix(8)) }

    public var description: String { rawValue }
}
