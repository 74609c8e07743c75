// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
public import Foundation

/// One global model version as served: the serialized bytes and their compressed encodings, computed once
/// when the version is published and shared by every response.
public final class PublishedModel: Sendable {
    public let version: ModelVersion
    /// Bytes per coding; always contains `.identity`. Arrays, because the transport sends an array's storage
    /// without copying it.
    public let encodings: [ContentCoding: [UInt8]]

    /// Encodes `bytes` with every coding `coder` supports. A coding that fails is left out and the
    /// version is still served in the others.
    public init(version: ModelVersion, bytes: Data, coder: any PayloadCoder) {
        var encodings: [ContentCoding: [UInt8]] = [.identity: [UInt8](bytes)]
        for coding in coder.compressedCodings {
            if let encoded = try? coder.compress(bytes, as: coding) {
                encodings[coding] = [UInt8](encoded)
            }
        }
        self.version = version
        self.encodings = encodings
    }

    /// The uncompressed bytes.
    public var bytes: [UInt8] { encodings[.identity]! }

    /// The strong entity tag, `"v<version>"`; every coding shares it, and responses carry `Vary: Accept-Encoding`.
    public var entityTag: String { version.entityTag }

    /// Picks the coding for a client's `Accept-Encoding`, preferring the smallest available encoding.
    public func preferredCoding(acceptEncoding: String?) -> ContentCoding? {
        let available = encodings.sorted { $0.value.count < $1.value.count }.map(\.key)
        return ContentCoding.negotiate(acceptEncoding: acceptEncoding, preference: available)
    }
}
