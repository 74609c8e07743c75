// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// The largest safetensors header an update may have, derived from the global model's header.
///
/// An update lists the same tensors as the global model, so its header needs about as many bytes, plus its
/// metadata. Parsing a header costs about ten times its size in memory: a 59 MB header took 28 s and peaked at
/// 620 MB in a debug build of dcf-serverd. Up to `max_concurrent_uploads` bodies are scanned at once, so headers
/// past this bound are not parsed.
public enum UpdateHeaderLimit {
    /// Bytes allowed for an update's `__metadata__` besides the tensor entries: its example count, base version
    /// and metrics take a few hundred.
    public static let metadataAllowance = 1 << 20

    /// The bound for updates to a global model whose header has `globalHeaderByteCount` bytes: twice that, for
    /// another order of the entries or longer offsets, plus `metadataAllowance`.
    public static func maximumByteCount(globalHeaderByteCount: Int) -> Int {
        2 * globalHeaderByteCount + metadataAllowance
    }

    /// The header length that a safetensors file's first 8 bytes declare, or nil when `bytes` has fewer than 8.
    public static func declaredByteCount(of bytes: Data) -> UInt64? {
        guard bytes.count >= 8 else { return nil }
        return bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// The header length of `bytes` when they look like a safetensors file (a declared length that fits, then
    /// a JSON object), else nil.
    static func safetensorsHeaderByteCount(of bytes: Data) -> Int? {
        guard let declared = declaredByteCount(of: bytes), declared <= UInt64(bytes.count - 8),
            bytes[bytes.startIndex + 8] == UInt8(ascii: "{")
        else { return nil }
        return Int(declared)
    }
}
