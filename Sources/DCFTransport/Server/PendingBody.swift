// SPDX-License-Identifier: Apache-2.0

/// Body bytes parsed from one input buffer and not yet passed to the handler.
///
/// A chunked body arrives as data ranges separated by chunk-size lines. Gathering the ranges of one buffer
/// lets the handler receive them in one call, so a body sent in one-byte chunks costs one handler call per
/// read and not one per chunk. Adjacent ranges are merged without copying, and bytes are copied only once a
/// gap separates two ranges.
struct PendingBody {
    /// The bytes as one range of the input, while no gap has been seen.
    private var range: Range<Int>?
    /// The bytes, copied out of the input once a gap was seen.
    private var copied: [UInt8] = []
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// Adds `added`, a range of `input` after every range added before.
    mutating func add(_ added: Range<Int>, of input: UnsafeRawBufferPointer) {
        count += added.count
        guard copied.isEmpty else {
            copied.append(contentsOf: input[added])
            return
        }
        guard let current = range else {
            range = added
            return
        }
        if current.upperBound == added.lowerBound {
            range = current.lowerBound..<added.upperBound
            return
        }
        copied.append(contentsOf: input[current])
        copied.append(contentsOf: input[added])
        range = nil
    }

    /// Calls `body` with all gathered bytes of `input`, then empties the gathered body.
    mutating func deliver(from input: UnsafeRawBufferPointer, to body: (UnsafeRawBufferPointer) -> Void) {
        defer { self = PendingBody() }
        if let range {
            body(UnsafeRawBufferPointer(rebasing: input[range]))
        } else {
            copied.withUnsafeBytes(body)
        }
    }
}
