// SPDX-License-Identifier: Apache-2.0

/// A global model version: a counter the strategy increases each time it publishes a model.
/// Versions are immutable, so a version identifies one exact byte sequence.
public struct ModelVersion: Sendable, Hashable, Comparable, Codable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    public let rawValue: UInt64

    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public init(integerLiteral value: UInt64) { self.rawValue = value }

    /// Parses the decimal form used in URLs, query strings and `DCF-Base-Version`.
    public init?(_ text: some StringProtocol) {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isWholeNumber }), let value = UInt64(text) else { return nil }
        self.rawValue = value
    }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static func < (lhs: ModelVersion, rhs: ModelVersion) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }

    /// The strong HTTP entity tag of this version's bytes, quotes included: `"v7"`.
    public var entityTag: String { "\"v\(rawValue)\"" }
}
