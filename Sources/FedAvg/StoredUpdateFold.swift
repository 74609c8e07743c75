// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation

/// Folds stored update files into the sums by reading them block by block with `pread`, so folding a
/// batch needs one block buffer per update instead of whole update files mapped into memory.
struct StoredUpdateFold {
    /// Where each tensor's bytes start in a stored update file, by tensor name.
    typealias TensorOffsets = [String: Int]

    /// Returns the absolute file offset of every tensor of a parsed safetensors file: the 8-byte length
    /// prefix, the JSON header, then each tensor's `data_offsets`.
    static func tensorOffsets(of payload: Data, file: SafeTensors) -> TensorOffsets {
        let headerLength = payload.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let dataStart = 8 + headerLength
        return Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, dataStart + $0.dataOffsets.lowerBound) })
    }

    let accumulator: FedAvgAccumulator

    /// Folds `updates` (file, tensor offsets, weight) in one pass over the sums.
    ///
    /// - Throws: `FedAvgError` when a file cannot be opened or is shorter than its tensors.
    func fold(_ updates: [(url: URL, offsets: TensorOffsets, weight: Double)]) throws {
        let descriptors = try updates.map { update in
            let descriptor = open(update.url.path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw FedAvgError.storage("open stored update", update.url.path, String(cString: strerror(errno)))
            }
            return descriptor
        }
        defer { descriptors.forEach { close($0) } }
        let blockBytes = FedAvgAccumulator.blockElements * 8
        let buffers = updates.map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: blockBytes, alignment: 16) }
        defer { buffers.forEach { $0.deallocate() } }
        let weights = updates.map(\.weight)

        for (tensorIndex, layout) in accumulator.layouts.enumerated() {
            let elementSize = layout.kind.byteCount
            var start = 0
            while start < layout.elementCount {
                let count = min(FedAvgAccumulator.blockElements, layout.elementCount - start)
                var sources: [UnsafeRawBufferPointer] = []
                for (index, update) in updates.enumerated() {
                    guard let base = update.offsets[layout.name] else {
                        throw FedAvgError.storage("fold stored update", update.url.path, "no tensor \(layout.name)")
                    }
                    let slice = UnsafeMutableRawBufferPointer(rebasing: buffers[index][..<(count * elementSize)])
                    try Self.readFully(descriptors[index], into: slice, at: base + start * elementSize, path: update.url.path)
                    sources.append(UnsafeRawBufferPointer(slice))
                }
                accumulator.foldBlock(tensorIndex: tensorIndex, start: start, count: count, sources: sources, weights: weights)
                start += count
            }
        }
        accumulator.record(weights)
    }

    /// Returns the first floating-point tensor of `layouts` that holds NaN or infinity in the file, reading
    /// it block by block, or nil when every value is finite.
    static func firstNonFiniteTensor(in url: URL, offsets: TensorOffsets, layouts: [TensorLayout]) throws -> String? {
        try firstTensor(in: url, offsets: offsets, layouts: layouts.filter(\.kind.isFloatingPoint)) { block, layout in
            !ElementKernels.isFinite(block, kind: layout.kind)
        }
    }

    /// Returns the first float64 tensor of `layouts` with a value whose magnitude is above `limit`, reading it
    /// block by block, or nil when there is none.
    static func firstFloat64Tensor(
        in url: URL, offsets: TensorOffsets, layouts: [TensorLayout], above limit: Double
    ) throws -> String? {
        try firstTensor(in: url, offsets: offsets, layouts: layouts.filter { $0.kind == .float64 }) { block, _ in
            ElementKernels.largestMagnitude(float64: block) > limit
        }
    }

    /// Returns the first tensor of `layouts` for which `fails` is true of one of its blocks in the file, or of
    /// which the file has no offset.
    private static func firstTensor(
        in url: URL, offsets: TensorOffsets, layouts: [TensorLayout],
        failing fails: (UnsafeRawBufferPointer, TensorLayout) -> Bool
    ) throws -> String? {
        guard !layouts.isEmpty else { return nil }
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw FedAvgError.storage("open update", url.path, String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        let blockBytes = FedAvgAccumulator.blockElements * 8
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockBytes, alignment: 16)
        defer { buffer.deallocate() }
        for layout in layouts {
            guard let base = offsets[layout.name] else { return layout.name }
            var start = 0
            while start < layout.elementCount {
                let count = min(FedAvgAccumulator.blockElements, layout.elementCount - start)
                let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[..<(count * layout.kind.byteCount)])
                try readFully(descriptor, into: slice, at: base + start * layout.kind.byteCount, path: url.path)
                if fails(UnsafeRawBufferPointer(slice), layout) { return layout.name }
                start += count
            }
        }
        return nil
    }

    private static func readFully(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < buffer.count {
            let count = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason = count == 0 ? "file ends before its tensors" : String(cString: strerror(errno))
                throw FedAvgError.storage("read stored update", path, reason)
            }
            done += count
        }
    }
}
