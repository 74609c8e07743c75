// SPDX-License-Identifier: Apache-2.0
internal import CZlib
public import Foundation

/// Streaming compression into the `deflate` (zlib) or `gzip` content coding.
///
/// Feed input with `update(_:)` and end the stream with `finish()`; each returns the compressed bytes that
/// became available. The deflater owns one `z_stream` and is not safe to use from two threads at once.
public final class Deflater {
    /// The coding being produced.
    public let coding: ContentCoding
    // zlib keeps pointers into the z_stream, so it lives at a fixed heap address.
    private let stream: UnsafeMutablePointer<z_stream>
    private var isFinished = false

    /// Creates a deflater.
    ///
    /// - Throws: `CompressionError` with code `zlibFailure` if zlib cannot allocate its state.
    public init(coding: ContentCoding, level: CompressionLevel = .default) throws {
        self.coding = coding
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = CZlib_deflateInit2(stream, level.value, Z_DEFLATED, coding.windowBits, 8, Z_DEFAULT_STRATEGY)
        guard status == Z_OK else {
            let error = CompressionError.zlibFailure(
                "deflateInit2", status: status, message: ZStreamBuffer.message(stream))
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw error
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `input` and returns the output zlib produced so far, which may be empty.
    public func update(_ input: UnsafeRawBufferPointer) throws -> Data {
        precondition(!isFinished, "Deflater.update called after finish()")
        var output = Data()
        try ZStreamBuffer.forEachSlice(of: input) { slice in
            ZStreamBuffer.setInput(stream, slice)
            defer { ZStreamBuffer.setInput(stream, UnsafeRawBufferPointer(start: nil, count: 0)) }
            repeat {
                _ = try run(flush: Z_NO_FLUSH, into: &output)
            } while stream.pointee.avail_in > 0
        }
        return output
    }

    /// Compresses the bytes of `input`.
    public func update(_ input: some ContiguousBytes) throws -> Data {
        try input.withUnsafeBytes { try update($0) }
    }

    /// Ends the stream and returns the remaining output, including the trailer.
    public func finish() throws -> Data {
        precondition(!isFinished, "Deflater.finish called twice")
        isFinished = true
        var output = Data()
        while try run(flush: Z_FINISH, into: &output) != Z_STREAM_END {}
        return output
    }

    /// Compresses `input` in one call.
    public static func compress(
        _ input: some ContiguousBytes, coding: ContentCoding, level: CompressionLevel = .default
    ) throws -> Data {
        let deflater = try Deflater(coding: coding, level: level)
        var output = try deflater.update(input)
        output.append(try deflater.finish())
        return output
    }

    /// Runs one `deflate` call with a fresh output chunk, appends what it wrote, and returns its status.
    private func run(flush: Int32, into output: inout Data) throws -> Int32 {
        var chunk = [UInt8](repeating: 0, count: ZStreamBuffer.chunkSize)
        let status = chunk.withUnsafeMutableBufferPointer { buffer in
            stream.pointee.next_out = buffer.baseAddress
            stream.pointee.avail_out = uInt(buffer.count)
            defer { stream.pointee.next_out = nil }
            return deflate(stream, flush)
        }
        // Z_BUF_ERROR only means no progress was possible in this call, which is not an error here.
        guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
            throw CompressionError.zlibFailure("deflate", status: status, message: ZStreamBuffer.message(stream))
        }
        output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.pointee.avail_out))])
        return status
    }
}
