// SPDX-License-Identifier: Apache-2.0
public import Foundation
internal import CZlib

/// An error from inflating gzip data.
public struct GunzipError: Error, CustomStringConvertible, Sendable {
    /// A readable account of what failed and on which input.
    public let description: String

    static func corrupt(_ source: String, zlibCode: Int32, message: String?) -> GunzipError {
        let detail = message.map { ": \($0)" } ?? ""
        return GunzipError(description: "\(source) is not valid gzip data (zlib error \(zlibCode)\(detail))")
    }

    static func truncated(_ source: String) -> GunzipError {
        GunzipError(description: "\(source) ends before the end of its gzip stream; the file is truncated")
    }

    static func tooLarge(_ source: String, limit: Int) -> GunzipError {
        GunzipError(
            description: "\(source) inflates to more than \(limit) bytes; raise the output limit if the data is trusted"
        )
    }

    static func inputTooLarge(_ source: String, size: Int) -> GunzipError {
        GunzipError(description: "\(source) has \(size) compressed bytes; inputs over 4 GiB are not supported")
    }

    static func unreadable(_ path: String, _ underlying: any Error) -> GunzipError {
        GunzipError(description: "cannot read \(path): \(underlying.localizedDescription)")
    }
}

/// Inflates whole gzip files or buffers, with a limit on the inflated size.
///
/// Concatenated gzip members are inflated one after another, as the `gunzip` tool does.
public enum Gunzip {
    /// Reads the gzip file at `path` and returns its inflated bytes.
    ///
    /// - Throws: `GunzipError` when the file cannot be read, is not gzip, is truncated, or inflates to more
    ///   than `outputLimit` bytes.
    public static func inflateFile(atPath path: String, outputLimit: Int) throws -> [UInt8] {
        let compressed: Data
        do {
            compressed = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw GunzipError.unreadable(path, error)
        }
        return try inflate(compressed, outputLimit: outputLimit, source: path)
    }

    /// Inflates gzip `data`; `source` names the input in errors.
    ///
    /// - Throws: `GunzipError` when the data is not gzip, is truncated, or inflates to more than `outputLimit` bytes.
    public static func inflate(_ data: Data, outputLimit: Int, source: String = "input") throws -> [UInt8] {
        let stream = try InflateStream(source: source)
        return try data.withUnsafeBytes { raw in
            try stream.inflateAll(raw.bindMemory(to: UInt8.self), outputLimit: outputLimit)
        }
    }
}

/// Owns one zlib inflate state; the `z_stream` lives on the heap because zlib keeps its address.
private final class InflateStream {
    private let stream: UnsafeMutablePointer<z_stream>
    private let source: String

    init(source: String) throws {
        self.source = source
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 16 + MAX_WBITS makes zlib expect a gzip header and trailer instead of a zlib one.
        let status = CZlib_inflateInit2(stream, 16 + MAX_WBITS)
        guard status == Z_OK else {
            stream.deallocate()
            throw GunzipError.corrupt(source, zlibCode: status, message: "inflateInit2 failed")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    func inflateAll(_ input: UnsafeBufferPointer<UInt8>, outputLimit: Int) throws -> [UInt8] {
        guard let base = input.baseAddress, !input.isEmpty else { throw GunzipError.truncated(source) }
        guard input.count <= Int(UInt32.max) else { throw GunzipError.inputTooLarge(source, size: input.count) }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base)
        stream.pointee.avail_in = UInt32(clamping: input.count)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let status = try inflateChunk(into: &chunk, appendingTo: &output, outputLimit: outputLimit)
            if status == Z_STREAM_END {
                // Another gzip member may follow; anything else after the trailer is an error from inflate.
                guard stream.pointee.avail_in > 0 else { return output }
                inflateReset(stream)
            } else if stream.pointee.avail_in == 0 && status == Z_BUF_ERROR {
                throw GunzipError.truncated(source)
            }
        }
    }

    /// Runs one inflate call into `chunk`, appends what it produced, and returns zlib's status.
    private func inflateChunk(
        into chunk: inout [UInt8], appendingTo output: inout [UInt8], outputLimit: Int
    ) throws -> Int32 {
        let chunkSize = chunk.count
        let (status, produced) = chunk.withUnsafeMutableBufferPointer { buffer in
            stream.pointee.next_out = buffer.baseAddress
            stream.pointee.avail_out = UInt32(chunkSize)
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            return (status, chunkSize - Int(stream.pointee.avail_out))
        }
        switch status {
        case Z_OK, Z_STREAM_END, Z_BUF_ERROR:
            break
        default:
            let message = stream.pointee.msg.map { String(cString: $0) }
            throw GunzipError.corrupt(source, zlibCode: status, message: message)
        }
        guard output.count + produced <= outputLimit else { throw GunzipError.tooLarge(source, limit: outputLimit) }
        output.append(contentsOf: chunk[0..<produced])
        if status == Z_BUF_ERROR && produced == 0 && stream.pointee.avail_in > 0 {
            // No progress with input and output space left means zlib is stuck on bad data.
            throw GunzipError.corrupt(source, zlibCode: status, message: "no progress")
        }
        return status
    }
}
