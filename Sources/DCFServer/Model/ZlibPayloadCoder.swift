// SPDX-License-Identifier: Apache-2.0
public import DCFCompression
public import DCFProtocol
public import Foundation

/// The `deflate` and `gzip` content codings through zlib, with a hard limit on inflated output.
public struct ZlibPayloadCoder: PayloadCoder {
    /// Bytes read from an upload file per inflate step, which bounds the memory one upload uses.
    static let fileChunkSize = 256 * 1024

    private let level: CompressionLevel
    /// Receives the size of each inflated slice written by `decompress(file:from:to:maximumSize:)`, so tests
    /// can check that the memory per step stays bounded.
    let sliceObserver: (@Sendable (Int) -> Void)?

    /// - Parameter level: the deflate level for published models; they are compressed once per version.
    public init(level: CompressionLevel = .default) {
        self.init(level: level, sliceObserver: nil)
    }

    init(level: CompressionLevel = .default, sliceObserver: (@Sendable (Int) -> Void)?) {
        self.level = level
        self.sliceObserver = sliceObserver
    }

    public var compressedCodings: [DCFProtocol.ContentCoding] { [.deflate, .gzip] }

    public func compress(_ data: Data, as coding: DCFProtocol.ContentCoding) throws -> Data {
        guard let zlibCoding = Self.zlibCoding(coding) else { return data }
        return try Deflater.compress(data, coding: zlibCoding, level: level)
    }

    public func decompress(_ data: Data, from coding: DCFProtocol.ContentCoding, maximumSize: Int) throws -> Data {
        guard let zlibCoding = Self.zlibCoding(coding) else {
            guard data.count <= maximumSize else { throw Self.tooLarge(coding, maximumSize) }
            return data
        }
        do {
            return try Inflater.decompress(data, coding: zlibCoding, maxOutputBytes: maximumSize)
        } catch let error as CompressionError {
            throw Self.translate(error, coding, maximumSize)
        }
    }

    public func decompress(
        file input: URL, from coding: DCFProtocol.ContentCoding, to output: URL, maximumSize: Int
    ) throws -> Int {
        guard let zlibCoding = Self.zlibCoding(coding) else {
            try FileManager.default.copyItem(at: input, to: output)
            return try output.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0
        }
        let reader = try FileHandle(forReadingFrom: input)
        defer { try? reader.close() }
        guard FileManager.default.createFile(atPath: output.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: output.path])
        }
        let writer = try FileHandle(forWritingTo: output)
        defer { try? writer.close() }
        let inflater = try Inflater(coding: zlibCoding, maxOutputBytes: maximumSize)
        do {
            while let chunk = try reader.read(upToCount: Self.fileChunkSize), !chunk.isEmpty {
                // Writing each bounded slice as zlib produces it keeps a highly compressible chunk from
                // inflating into one buffer of hundreds of megabytes.
                try chunk.withUnsafeBytes { input in
                    try inflater.update(input) { slice in
                        sliceObserver?(slice.count)
                        try writer.write(contentsOf: slice)
                    }
                }
            }
            try inflater.finish()
        } catch let error as CompressionError {
            throw Self.translate(error, coding, maximumSize)
        }
        return inflater.outputByteCount
    }

    private static func zlibCoding(_ coding: DCFProtocol.ContentCoding) -> DCFCompression.ContentCoding? {
        DCFCompression.ContentCoding(rawValue: coding.rawValue)
    }

    private static func translate(
        _ error: CompressionError, _ coding: DCFProtocol.ContentCoding, _ maximumSize: Int
    ) -> DCFErrorResponse {
        if error.code == .outputLimitExceeded { return tooLarge(coding, maximumSize) }
        return DCFErrorResponse(.badRequest, "the \(coding.rawValue) body cannot be decoded: \(error)")
    }

    private static func tooLarge(_ coding: DCFProtocol.ContentCoding, _ maximumSize: Int) -> DCFErrorResponse {
        DCFErrorResponse(
            .inflatedTooLarge,
            "the \(coding.rawValue) body inflates to more than the limit of \(maximumSize) bytes; "
                + "send a smaller update, or raise max_inflated_update_bytes in [limits] of the server's config")
    }
}
