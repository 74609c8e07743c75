// SPDX-License-Identifier: Apache-2.0
internal import CZlib
public import Foundation

/// Streaming decompression of the `deflate` (zlib) or `gzip` content coding, with a hard output limit.
///
/// Feed input with `update(_:)` and call `finish()` after the last input. Every call checks the total
/// output against `maxOutputBytes`, so a small malicious payload cannot expand without bound. After any
/// error the inflater rejects further input. It owns one `z_stream` and is not safe to use from two
/// threads at once.
public final class Inflater {
    private enum State {
        case running
        case streamEnded
        case failed(CompressionError)
    }

    /// The coding being read.
    public let coding: ContentCoding
    /// Largest total number of decompressed bytes accepted.
    public let maxOutputBytes: Int
    /// Whether a gzip stream may consist of several members one after another, as RFC 1952 allows and
    /// `cat a.gz b.gz` produces; false rejects anything after the first member as trailing input.
    public let allowsConcatenatedMembers: Bool
    /// Decompressed bytes returned so far.
    public private(set) var outputByteCount = 0
    /// Compressed bytes consumed so far.
    public private(set) var inputByteCount = 0
    // zlib keeps pointers into the z_stream, so it lives at a fixed heap address.
    private let stream: UnsafeMutablePointer<z_stream>
    private var state = State.running
    /// Output buffer reused by every `inflate` call; `emit` sees only the bytes one call produced.
    private var chunk = [UInt8](repeating: 0, count: ZStreamBuffer.chunkSize)

    /// Creates an inflater that throws once the output would pass `maxOutputBytes`.
    ///
    /// - Throws: `CompressionError` with code `zlibFailure` if zlib cannot allocate its state.
    public init(coding: ContentCoding, maxOutputBytes: Int, allowsConcatenatedMembers: Bool = false) throws {
        precondition(maxOutputBytes >= 0, "Inflater: negative maxOutputBytes \(maxOutputBytes)")
        self.coding = coding
        self.maxOutputBytes = maxOutputBytes
        self.allowsConcatenatedMembers = allowsConcatenatedMembers && coding == .gzip
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = CZlib_inflateInit2(stream, coding.windowBits)
        guard status == Z_OK else {
            let error = CompressionError.zlibFailure(
                "inflateInit2", status: status, message: ZStreamBuffer.message(stream))
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw error
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Whether the end of the compressed stream has been read.
    public var isComplete: Bool {
        if case .streamEnded = state { return true }
        return false
    }

    /// Decompresses `input` and returns the output it yields, which may be empty.
    ///
    /// - Throws: `CompressionError` if the output passes `maxOutputBytes` (`outputLimitExceeded`), the
    ///   input is invalid (`corruptInput`), or bytes follow the end of the stream (`trailingInput`).
    public func update(_ input: UnsafeRawBufferPointer) throws -> Data {
        var output = Data()
        try update(input) { output.append(contentsOf: $0) }
        return output
    }

    /// Decompresses `input` and passes the output to `emit` in slices of at most `maximumSliceBytes`, so the
    /// caller can write a large output away without holding it in memory.
    ///
    /// Each slice is valid only during its `emit` call. An error that `emit` throws is rethrown as is and
    /// does not mark the inflater as failed.
    ///
    /// - Throws: `CompressionError`, as `update(_:)` does, or the error `emit` threw.
    public func update(
        _ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try checkUsable()
        do {
            try ZStreamBuffer.forEachSlice(of: input) { slice in try inflate(slice, emit: emit) }
        } catch let error as CompressionError {
            state = .failed(error)
            throw error
        }
    }

    /// The largest slice `update(_:emit:)` passes to `emit`.
    public static var maximumSliceBytes: Int { ZStreamBuffer.chunkSize }

    /// Decompresses the bytes of `input`.
    public func update(_ input: some ContiguousBytes) throws -> Data {
        try input.withUnsafeBytes { try update($0) }
    }

    /// Checks that the stream ended.
    ///
    /// - Throws: `CompressionError` with code `truncatedInput` if the input stopped before the end of the
    ///   compressed stream, or the error that an earlier call threw.
    public func finish() throws {
        switch state {
        case .streamEnded: return
        case .failed(let error): throw error
        case .running:
            let error = CompressionError.truncatedInput(coding, consumed: inputByteCount)
            state = .failed(error)
            throw error
        }
    }

    /// Decompresses `input` in one call; the input must contain exactly one complete stream, or several
    /// gzip members when `allowsConcatenatedMembers` is true.
    ///
    /// - Throws: `CompressionError`, as `update(_:)` and `finish()` do.
    public static func decompress(
        _ input: some ContiguousBytes, coding: ContentCoding, maxOutputBytes: Int, allowsConcatenatedMembers: Bool = false
    ) throws -> Data {
        let inflater = try Inflater(
            coding: coding, maxOutputBytes: maxOutputBytes, allowsConcatenatedMembers: allowsConcatenatedMembers)
        let output = try inflater.update(input)
        try inflater.finish()
        return output
    }

    private func checkUsable() throws {
        if case .failed(let error) = state { throw error }
    }

    private func inflate(_ slice: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        if isComplete {
            guard slice.count > 0 else { return }
            guard allowsConcatenatedMembers else { throw CompressionError.trailingInput(coding, count: slice.count) }
            // The previous member ended exactly at the end of the previous input; this input starts the next.
            inflateReset(stream)
            state = .running
        }
        ZStreamBuffer.setInput(stream, slice)
        defer {
            inputByteCount += slice.count - Int(stream.pointee.avail_in)
            ZStreamBuffer.setInput(stream, UnsafeRawBufferPointer(start: nil, count: 0))
        }
        while true {
            let (status, filledChunk) = try run(emit: emit)
            if status == Z_STREAM_END {
                let left = Int(stream.pointee.avail_in)
                if left > 0 && allowsConcatenatedMembers {
                    inflateReset(stream)
                    continue
                }
                state = .streamEnded
                if left > 0 { throw CompressionError.trailingInput(coding, count: left) }
                return
            }
            // With input left or a full chunk, zlib may have more to do; otherwise it needs more input.
            if stream.pointee.avail_in == 0 && !filledChunk { return }
        }
    }

    /// Runs one `inflate` call into a fresh chunk sized so the limit is detected, passes the output to `emit`,
    /// and returns the status and whether the chunk was filled.
    private func run(emit: (UnsafeRawBufferPointer) throws -> Void) throws -> (Int32, Bool) {
        // One byte more than the limit allows shows that the limit is exceeded without decompressing more.
        let remaining = maxOutputBytes - outputByteCount
        let size = remaining >= ZStreamBuffer.chunkSize ? ZStreamBuffer.chunkSize : remaining + 1
        let stream = stream
        let status = chunk.withUnsafeMutableBufferPointer { buffer in
            stream.pointee.next_out = buffer.baseAddress
            stream.pointee.avail_out = uInt(size)
            defer { stream.pointee.next_out = nil }
            return CZlib.inflate(stream, Z_NO_FLUSH)
        }
        let produced = size - Int(stream.pointee.avail_out)
        switch status {
        case Z_OK, Z_STREAM_END, Z_BUF_ERROR: break
        case Z_DATA_ERROR: throw CompressionError.corruptInput(coding, ZStreamBuffer.message(stream) ?? "data error")
        case Z_NEED_DICT: throw CompressionError.corruptInput(coding, "the stream requires a preset dictionary")
        default: throw CompressionError.zlibFailure("inflate", status: status, message: ZStreamBuffer.message(stream))
        }
        outputByteCount += produced
        if outputByteCount > maxOutputBytes {
            throw CompressionError.outputLimitExceeded(coding, limit: maxOutputBytes)
        }
        if produced > 0 {
            try chunk.withUnsafeBytes { try emit(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
        }
        return (status, produced == size)
    }
}
