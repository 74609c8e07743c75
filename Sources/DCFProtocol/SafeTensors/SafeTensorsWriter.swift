// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// Builds a safetensors file from tensors and metadata.
///
/// The output matches the safetensors package (version 0.8). Tensors are laid out by descending dtype
/// rank (larger elements first), then by name. The header is compact JSON padded with spaces to a
/// multiple of 8 bytes, so the data section is 8-byte aligned. Metadata keys are written sorted, but the
/// package writes them in hash order, so its output matches ours byte for byte only with at most one key.
public struct SafeTensorsWriter: Sendable {
    private struct Entry: Sendable {
        let name: String
        let dtype: TensorDType
        let shape: [Int]
        let bytes: Data
    }

    /// Strings written as `__metadata__`; omitted from the header when empty.
    public var metadata: [String: String]
    private var entries: [String: Entry] = [:]

    /// Creates a writer with no tensors.
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds a tensor from its raw little-endian bytes, which are copied.
    ///
    /// - Throws: `SafeTensorsError` if the name is empty, `__metadata__` or already added, if the shape
    ///   has a negative dimension, or if the byte count is not the element count times the dtype size.
    public mutating func add(name: String, dtype: TensorDType, shape: [Int], bytes: some ContiguousBytes) throws {
        guard !name.isEmpty, name != SafeTensorsHeader.metadataKey else {
            throw SafeTensorsError.invalidTensorName(name)
        }
        guard entries[name] == nil else { throw SafeTensorsError.duplicateTensorName(name) }
        guard let expected = TensorInfo.checkedByteCount(shape, dtype) else {
            throw SafeTensorsError.invalidShape(name, shape)
        }
        let data = bytes.withUnsafeBytes { Data($0) }
        guard data.count == expected else {
            throw SafeTensorsError.sizeMismatch(
                name, dtype: dtype, shape: shape, expected: expected, actual: data.count)
        }
        entries[name] = Entry(name: name, dtype: dtype, shape: shape, bytes: data)
    }

    /// Adds a tensor from `Float` values, stored as F32, or narrowed to F16 or BF16 (rounded to nearest even),
    /// or widened to F64.
    ///
    /// - Throws: `SafeTensorsError` as `add(name:dtype:shape:bytes:)` does, and `unsupportedConversion` if
    ///   `dtype` is not a floating-point type.
    public mutating func add(name: String, shape: [Int], values: [Float], as dtype: TensorDType = .float32) throws {
        let bytes: [UInt8]
        switch dtype {
        case .float32: bytes = ElementEncoding.littleEndian(values.map(\.bitPattern))
        case .float64: bytes = ElementEncoding.littleEndian(values.map { Double($0).bitPattern })
        case .float16: bytes = ElementEncoding.littleEndian(values.map(HalfPrecision.half(from:)))
        case .bfloat16: bytes = ElementEncoding.littleEndian(values.map(HalfPrecision.bfloat16(from:)))
        default: throw SafeTensorsError.unsupportedConversion(name, dtype: dtype, target: "Float values")
        }
        try add(name: name, dtype: dtype, shape: shape, bytes: bytes)
    }

    /// Adds a tensor from `Double` values, stored as F64.
    public mutating func add(name: String, shape: [Int], values: [Double]) throws {
        try add(
            name: name, dtype: .float64, shape: shape, bytes: ElementEncoding.littleEndian(values.map(\.bitPattern)))
    }

    /// Adds a copy of a tensor from a parsed file, under its own name or `name`.
    public mutating func add(_ tensor: TensorView, name: String? = nil) throws {
        try tensor.withUnsafeBytes { bytes in
            try add(name: name ?? tensor.info.name, dtype: tensor.info.dtype, shape: tensor.info.shape, bytes: bytes)
        }
    }

    /// Returns the complete file.
    public func serialize() -> Data {
        let ordered = entries.values.sorted { Self.precedes(($0.name, $0.dtype), ($1.name, $1.dtype)) }
        let prefix = Self.prefix(ordered.map { ($0.name, $0.dtype, $0.shape, $0.bytes.count) }, metadata: metadata)
        var file = Data(capacity: prefix.count + ordered.reduce(0) { $0 + $1.bytes.count })
        file.append(prefix)
        for entry in ordered {
            file.append(entry.bytes)
        }
        return file
    }

    /// Plans a file whose tensor bytes the caller writes itself, one tensor at a time, so a large model
    /// never sits in memory twice: returns the bytes before the data (length prefix and padded header)
    /// and the order in which the tensors' bytes must follow.
    ///
    /// - Precondition: names are distinct and valid, and each byte count matches its shape and dtype.
    public static func streamingPlan(
        tensors: [(name: String, dtype: TensorDType, shape: [Int])], metadata: [String: String]
    ) -> (prefix: Data, order: [String]) {
        let ordered = tensors.sorted { precedes(($0.name, $0.dtype), ($1.name, $1.dtype)) }
        let withSizes = ordered.map { tensor in
            (tensor.name, tensor.dtype, tensor.shape, tensor.shape.reduce(1, *) * tensor.dtype.byteSize)
        }
        return (prefix(withSizes, metadata: metadata), ordered.map(\.name))
    }

    /// The file order: larger elements first, then by name, as the safetensors package writes it.
    private static func precedes(_ lhs: (name: String, dtype: TensorDType), _ rhs: (name: String, dtype: TensorDType)) -> Bool {
        if lhs.dtype.serializationRank != rhs.dtype.serializationRank {
            return lhs.dtype.serializationRank > rhs.dtype.serializationRank
        }
        return lhs.name < rhs.name
    }

    private static func prefix(_ ordered: [(String, TensorDType, [Int], Int)], metadata: [String: String]) -> Data {
        var header = headerJSON(ordered, metadata: metadata)
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))
        var prefix = Data(capacity: 8 + header.count)
        prefix.append(contentsOf: ElementEncoding.littleEndian([UInt64(header.count)]))
        prefix.append(contentsOf: header)
        return prefix
    }

    private static func headerJSON(_ ordered: [(String, TensorDType, [Int], Int)], metadata: [String: String]) -> [UInt8] {
        var json = HeaderJSONWriter()
        json.beginObject()
        if !metadata.isEmpty {
            json.key(SafeTensorsHeader.metadataKey)
            json.beginObject()
            for key in metadata.keys.sorted() {
                json.key(key)
                json.string(metadata[key] ?? "")
            }
            json.endObject()
        }
        var offset = 0
        for (name, dtype, shape, byteCount) in ordered {
            json.key(name)
            json.beginObject()
            json.key("dtype")
            json.string(dtype.rawValue)
            json.key("shape")
            json.integers(shape)
            json.key("data_offsets")
            json.integers([offset, offset + byteCount])
            json.endObject()
            offset += byteCount
        }
        json.endObject()
        return json.bytes
    }
}

/// Writes numbers as little-endian bytes.
enum ElementEncoding {
    static func littleEndian<Raw: FixedWidthInteger>(_ values: [Raw]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * MemoryLayout<Raw>.size)
        for value in values {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }
}
