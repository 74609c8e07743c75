// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// A parsed, validated safetensors file.
///
/// The file format: an 8-byte little-endian header length N, N bytes of JSON header that map each tensor
/// name to its `dtype`, `shape` and `data_offsets` (plus an optional `__metadata__` object of strings),
/// then the data section. Parsing checks every rule of the format and keeps the bytes without copying,
/// so `tensor(named:)` hands out views into the original buffer.
public struct SafeTensors: Sendable {
    /// Default maximum header size in bytes, the limit the safetensors package itself enforces.
    public static let defaultMaximumHeaderSize = 100_000_000

    /// Tensors in the order of their data, first to last.
    public let tensors: [TensorInfo]
    /// The `__metadata__` strings; empty when the header has none.
    public let metadata: [String: String]

    private let storage: Data
    /// Position of the data section, counted from `storage.startIndex`.
    private let dataStart: Int
    private let indexByName: [String: Int]

    /// Parses and validates `bytes` as a safetensors file.
    ///
    /// - Parameters:
    ///   - bytes: The whole file. It is retained, not copied; pass `Data(bytesNoCopy:...)` to parse a
    ///     memory-mapped file.
    ///   - maximumHeaderSize: Largest accepted JSON header in bytes, which bounds the memory used to parse
    ///     an untrusted file.
    /// - Throws: `SafeTensorsError` whose `code` names the rule the file breaks.
    public init(bytes: Data, maximumHeaderSize: Int = defaultMaximumHeaderSize) throws {
        guard bytes.count >= 8 else { throw SafeTensorsError.fileTooShort(size: bytes.count) }
        let declaredSize = bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard declaredSize <= UInt64(maximumHeaderSize) else {
            throw SafeTensorsError.headerTooLarge(size: declaredSize, limit: maximumHeaderSize, file: bytes)
        }
        let headerSize = Int(declaredSize)
        guard headerSize <= bytes.count - 8 else {
            throw SafeTensorsError.headerOutOfBounds(size: headerSize, fileSize: bytes.count, file: bytes)
        }
        let headerStart = bytes.startIndex + 8
        let header = try SafeTensorsHeader.decode(bytes[headerStart..<headerStart + headerSize])
        let dataSize = bytes.count - 8 - headerSize
        tensors = try SafeTensorsLayout.validate(header.entries, dataSize: dataSize)
        metadata = header.metadata
        storage = bytes
        dataStart = 8 + headerSize
        indexByName = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    /// Tensor names in the order of their data.
    public var names: [String] { tensors.map(\.name) }

    /// Returns a view of the tensor called `name`, or nil if the file has none.
    public func tensor(named name: String) -> TensorView? {
        guard let index = indexByName[name] else { return nil }
        let info = tensors[index]
        let start = dataStart + info.dataOffsets.lowerBound
        return TensorView(info: info, storage: storage, byteRange: start..<start + info.byteCount)
    }

    /// Returns views of every tensor, in the order of their data.
    public func allTensors() -> [TensorView] {
        tensors.compactMap { tensor(named: $0.name) }
    }
}
