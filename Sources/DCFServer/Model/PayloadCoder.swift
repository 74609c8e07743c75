// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
public import Foundation

/// Compresses published models and inflates compressed uploads.
public protocol PayloadCoder: Sendable {
    /// The codings `compress` supports besides identity.
    var compressedCodings: [ContentCoding] { get }

    /// Returns `data` encoded with `coding`, which is one of `compressedCodings`.
    func compress(_ data: Data, as coding: ContentCoding) throws -> Data

    /// Returns `data` decoded from `coding`.
    ///
    /// - Throws: `DCFErrorResponse` with `inflated_too_large` once the output would pass `maximumSize` bytes,
    ///   or `bad_request` for corrupt input.
    func decompress(_ data: Data, from coding: ContentCoding, maximumSize: Int) throws -> Data
}

// TODO: add a PayloadCoder over DCFCompression (deflate, gzip) and make it DCFServer's default; until then
// the server serves models uncompressed.
/// A coder that supports only the identity coding: models are served uncompressed and compressed
/// uploads are rejected with `unsupported_encoding`.
public struct IdentityPayloadCoder: PayloadCoder {
    public init() {}

    public var compressedCodings: [ContentCoding] { [] }

    public func compress(_ data: Data, as coding: ContentCoding) throws -> Data {
        guard coding == .identity else { throw Self.unsupported(coding) }
        return data
    }

    public func decompress(_ data: Data, from coding: ContentCoding, maximumSize: Int) throws -> Data {
        guard coding == .identity else { throw Self.unsupported(coding) }
        return data
    }

    private static func unsupported(_ coding: ContentCoding) -> DCFErrorResponse {
        DCFErrorResponse(.unsupportedEncoding, "this server does not support Content-Encoding \(coding.rawValue)")
    }
}
