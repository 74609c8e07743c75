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
    ///   `bad_request` for corrupt input, or `unsupported_encoding` for a coding the coder lacks.
    func decompress(_ data: Data, from coding: ContentCoding, maximumSize: Int) throws -> Data

    /// Decodes the file `input` from `coding` into the new file `output` and returns the decoded size.
    ///
    /// The default implementation reads `input` whole; coders for large uploads stream instead.
    /// - Throws: as `decompress(_:from:maximumSize:)`, or a file error. `output` may exist after a throw.
    func decompress(file input: URL, from coding: ContentCoding, to output: URL, maximumSize: Int) throws -> Int
}

extension PayloadCoder {
    public func decompress(file input: URL, from coding: ContentCoding, to output: URL, maximumSize: Int) throws -> Int {
        let decoded = try decompress(try Data(contentsOf: input), from: coding, maximumSize: maximumSize)
        try decoded.write(to: output)
        return decoded.count
    }
}

/// A coder that supports only the identity coding: models are served uncompressed and compressed
/// uploads are rejected with `unsupported_encoding`. `ZlibPayloadCoder` is the default.
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
