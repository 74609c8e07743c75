// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
public import DCFTransport
public import Foundation

/// One global model version as served: the serialized bytes and their compressed encodings, computed once
/// when the version is published and shared by every response.
public final class PublishedModel: Sendable {
    public let version: ModelVersion
    /// Bytes per compressed coding, and `.identity` unless `identityFile` is set. Arrays, because the
    /// transport sends an array's storage without copying it.
    public let encodings: [ContentCoding: [UInt8]]
    /// The version's file, open, when the uncompressed form is sent from it rather than from memory.
    public let identityFile: HTTPFileRegion?
    /// The size of the uncompressed form.
    public let identityByteCount: Int
    /// The length of the safetensors header, or nil when the bytes are not a safetensors file.
    public let safetensorsHeaderByteCount: Int?

    /// The largest compressed size kept, as a fraction of the uncompressed size. Trained float32 weights
    /// shrink only by a few percent under deflate, and every kept encoding costs one more model size of
    /// memory per cached version, so encodings that save less are dropped.
    public static let maximumKeptRatio = 0.9

    /// Encodes `bytes` with every coding `coder` supports. A coding that fails, or that saves less than
    /// `1 - maximumKeptRatio` of the size, is left out and the version is served in the others.
    ///
    /// The encoding runs before the new version is announced. A model larger than the sample is first judged by
    /// one compression of the sample, and when that saves too little, no coding is tried on the whole model.
    ///
    /// - Parameter file: a file holding exactly `bytes`; when it can be opened, the uncompressed form is sent
    ///   from it and not kept in memory.
    public init(version: ModelVersion, bytes: Data, file: URL? = nil, coder: any PayloadCoder) {
        var encodings: [ContentCoding: [UInt8]] = [:]
        identityFile = file.flatMap { try? HTTPFileRegion(path: $0.path) }.flatMap { $0.length == bytes.count ? $0 : nil }
        identityByteCount = bytes.count
        safetensorsHeaderByteCount = UpdateHeaderLimit.safetensorsHeaderByteCount(of: bytes)
        if identityFile == nil { encodings[.identity] = [UInt8](bytes) }
        var codings = coder.compressedCodings
        // The sample comes from the tensor data only. A safetensors header is JSON, which deflate shrinks well, so
        // in the first slice it could pass a model whose data does not shrink enough. A 100 MB model of 25 tensors
        // sampled at 0.89 of its size but compressed whole only to 0.91, and was compressed twice per version.
        let data = safetensorsHeaderByteCount.map { bytes.dropFirst(8 + $0) } ?? bytes
        if let first = codings.first, let sample = Self.sample(of: data),
            !Self.savesEnough(try? coder.compress(sample, as: first), of: sample.count)
        {
            codings = []
        }
        for coding in codings {
            guard let encoded = try? coder.compress(bytes, as: coding), Self.savesEnough(encoded, of: bytes.count)
            else { continue }
            encodings[coding] = [UInt8](encoded)
        }
        self.version = version
        self.encodings = encodings
    }

    /// Slices in a sample.
    static let sampleSlices = 8
    /// Bytes in each slice of a sample.
    static let sampleSliceBytes = 8 * 1024

    /// Returns slices spread evenly over `bytes`, joined, or nil when `bytes` is no larger than the sample.
    /// Unlike a prefix, spread slices also see a compressible part in the middle or at the end: any part longer
    /// than a seventh of the model contains a whole slice.
    static func sample(of bytes: Data) -> Data? {
        let total = sampleSlices * sampleSliceBytes
        guard bytes.count > total else { return nil }
        var sample = Data(capacity: total)
        for index in 0..<sampleSlices {
            // Multiplying first puts the last slice exactly at the end.
            let start = bytes.startIndex + index * (bytes.count - sampleSliceBytes) / (sampleSlices - 1)
            sample.append(bytes[start..<(start + sampleSliceBytes)])
        }
        return sample
    }

    private static func savesEnough(_ encoded: Data?, of size: Int) -> Bool {
        guard let encoded else { return false }
        return Double(encoded.count) <= Double(size) * maximumKeptRatio
    }

    /// The strong entity tag, `"v<version>"`; every coding shares it, and responses carry `Vary: Accept-Encoding`.
    public var entityTag: String { version.entityTag }

    /// Picks the coding for a client's `Accept-Encoding`, preferring the smallest available encoding.
    public func preferredCoding(acceptEncoding: String?) -> ContentCoding? {
        var sizes = encodings.mapValues(\.count)
        sizes[.identity] = identityByteCount
        let available = sizes.sorted { $0.value < $1.value }.map(\.key)
        return ContentCoding.negotiate(acceptEncoding: acceptEncoding, preference: available)
    }
}
