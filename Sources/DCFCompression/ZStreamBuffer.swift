// SPDX-License-Identifier: Apache-2.0
internal import CZlib

/// Helpers shared by `Deflater` and `Inflater` for driving a `z_stream`.
enum ZStreamBuffer {
    /// Size of each output chunk handed to zlib.
    static let chunkSize = 64 * 1024
    /// Largest input slice given to zlib at once, because `avail_in` is 32 bits.
    static let maximumInputSlice = 1 << 30

    /// Calls `body` for consecutive slices of `input` no longer than `maximumInputSlice`.
    static func forEachSlice(
        of input: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        var start = 0
        repeat {
            let end = min(start + maximumInputSlice, input.count)
            try body(UnsafeRawBufferPointer(rebasing: input[start..<end]))
            start = end
        } while start < input.count
    }

    /// Points the stream's input at `slice`; zlib never writes through `next_in`.
    static func setInput(_ stream: UnsafeMutablePointer<z_stream>, _ slice: UnsafeRawBufferPointer) {
        stream.pointee.next_in = slice.baseAddress.map {
            UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self))
        }
        stream.pointee.avail_in = uInt(slice.count)
    }

    /// Returns zlib's message for the last error, if it set one.
    static func message(_ stream: UnsafeMutablePointer<z_stream>) -> String? {
        stream.pointee.msg.map { String(cString: $0) }
    }
}
