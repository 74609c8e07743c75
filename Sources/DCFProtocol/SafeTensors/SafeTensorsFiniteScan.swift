// SPDX-License-Identifier: Apache-2.0
internal import Foundation

/// Finds NaN and infinity in the floating-point tensors of a safetensors file while its bytes arrive in
/// order, so a receiver checks an upload while each piece is still in the CPU cache instead of reading
/// the whole file again afterwards.
///
/// The scan trusts the header only to find the tensors; it does not validate the file. A caller acts on
/// `nonFiniteTensors` only after the complete file has passed `SafeTensors(bytes:)`, and then the header
/// the scan used is the one that passed.
public struct SafeTensorsFiniteScan: Sendable {
    private struct FloatRange: Sendable {
        let name: String
        let dtype: TensorDType
        /// Byte offsets in the data section.
        let begin: Int
        let end: Int
    }

    private enum Phase: Sendable {
        case length
        case header(size: Int)
        case data
        /// The header could not be read; nothing is scanned.
        case abandoned
    }

    private let maximumHeaderSize: Int
    private var phase = Phase.length
    private var pending: [UInt8] = []
    private var ranges: [FloatRange] = []
    /// Index of the first range not yet fully scanned.
    private var current = 0
    /// Bytes of the data section seen so far.
    private var position = 0
    /// The start of an element split between two pieces.
    private var carry: [UInt8] = []
    private var found: [String] = []

    /// - Parameter maximumHeaderSize: the largest header that is collected; a larger one stops the scan.
    public init(maximumHeaderSize: Int = SafeTensors.defaultMaximumHeaderSize) {
        self.maximumHeaderSize = maximumHeaderSize
    }

    /// The floating-point tensors holding NaN or infinity, in data order, once the header has been read;
    /// nil when the header is missing, malformed or larger than the limit, so the caller must check the
    /// values some other way.
    public var nonFiniteTensors: [String]? {
        guard case .data = phase else { return nil }
        return found
    }

    /// Scans the next bytes of the file.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        while !rest.isEmpty {
            switch phase {
            case .length:
                rest = collect(rest, upTo: 8)
                guard pending.count == 8 else { return }
                let size = pending.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                pending = []
                phase = size <= UInt64(maximumHeaderSize) ? .header(size: Int(size)) : .abandoned
            case .header(let size):
                rest = collect(rest, upTo: size)
                guard pending.count == size else { return }
                readHeader()
            case .data:
                scan(rest)
                return
            case .abandoned:
                return
            }
        }
    }

    private mutating func collect(_ bytes: UnsafeRawBufferPointer, upTo count: Int) -> UnsafeRawBufferPointer {
        let taken = min(count - pending.count, bytes.count)
        pending.append(contentsOf: bytes[..<taken])
        return UnsafeRawBufferPointer(rebasing: bytes[taken...])
    }

    private mutating func readHeader() {
        defer { pending = [] }
        guard let header = try? SafeTensorsHeader.decode(Data(pending)) else {
            phase = .abandoned
            return
        }
        ranges = header.entries
            .filter { $0.dtype.isFloatingPoint && $0.begin >= 0 && $0.end > $0.begin }
            .map { FloatRange(name: $0.name, dtype: $0.dtype, begin: $0.begin, end: $0.end) }
            .sorted { $0.begin < $1.begin }
        phase = .data
    }

    /// Checks the elements of `bytes`, which start at `position` in the data section.
    private mutating func scan(_ bytes: UnsafeRawBufferPointer) {
        let start = position
        position += bytes.count
        var offset = 0
        while offset < bytes.count, current < ranges.count {
            let range = ranges[current]
            let absolute = start + offset
            if absolute >= range.end {
                current += 1
                carry = []
                continue
            }
            if absolute < range.begin {
                offset += min(range.begin - absolute, bytes.count - offset)
                continue
            }
            let count = min(range.end - absolute, bytes.count - offset)
            check(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]), of: range)
            offset += count
        }
    }

    /// Checks a piece of `range`'s bytes, joining an element split across pieces through `carry`.
    private mutating func check(_ piece: UnsafeRawBufferPointer, of range: FloatRange) {
        if found.last == range.name { return }
        let size = range.dtype.byteSize
        var piece = piece
        if !carry.isEmpty {
            let taken = min(size - carry.count, piece.count)
            carry.append(contentsOf: piece[..<taken])
            piece = UnsafeRawBufferPointer(rebasing: piece[taken...])
            guard carry.count == size else { return }
            let finite = carry.withUnsafeBytes { range.dtype.allFinite($0) }
            carry = []
            guard finite else {
                found.append(range.name)
                return
            }
        }
        let whole = piece.count / size * size
        if !range.dtype.allFinite(UnsafeRawBufferPointer(rebasing: piece[..<whole])) {
            found.append(range.name)
            return
        }
        carry.append(contentsOf: piece[whole...])
    }
}
