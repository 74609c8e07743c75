// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import FedAvg
import Foundation

/// FedAvg fold throughput: float32 update bytes folded into the float64 sums per second, for several
/// numbers of updates folded per pass, as a ratio to the single-thread read bandwidth.
enum FedAvgBench {
    static func run(modelMegabytes: Int, updates updateCount: Int, batches: [Int]) throws {
        print("\n== FedAvg fold (one thread) ==")
        let shapes = modelShapes(elementCount: modelMegabytes * 250_000)
        let modelBytes = shapes.reduce(0) { $0 + $1.reduce(1, *) * 4 }
        let tensors = shapes.enumerated().map { (name: "layer\($0.offset)", dtype: TensorDType.float32, shape: $0.element) }
        print("model: \(modelBytes) bytes float32 in \(shapes.count) tensors \(shapes); \(updateCount) updates")

        // Each update is its own buffer, so no update is read from cache after another was folded.
        let updates = (0..<updateCount).map { makeUpdate(shapes: shapes, seed: $0) }
        defer { for update in updates { for tensor in update { tensor.deallocate() } } }
        let raw = updates.map { $0.map { UnsafeRawBufferPointer($0) } }
        let weights = (0..<updateCount).map { Double(100 + $0 * 7) }

        let readRate = MemoryBandwidth.readBytesPerSecond()
        let copyRate = MemoryBandwidth.copyBytesPerSecond()
        print(String(format: "memory read (SIMD sum of 512 MiB float32): %.2f GB/s", readRate / 1e9))
        print(String(format: "memory copy (memcpy 256 MiB, bytes copied): %.2f GB/s", copyRate / 1e9))

        for batch in batches where batch <= updateCount {
            let accumulator = FedAvgAccumulator(tensors: tensors)
            // One untimed round first, so the sums' pages are resident.
            fold(raw, weights, batch: batch, into: accumulator)
            let seconds = BenchMachine.bestSeconds(repeats: 3) {
                fold(raw, weights, batch: batch, into: accumulator)
            }
            let rate = Double(modelBytes * updateCount) / seconds
            print(String(
                format: "fold %2d updates per pass: %.2f GB/s of float32 updates, %.3f s per round, ratio to read %.2f",
                batch, rate / 1e9, seconds, rate / readRate))
        }
    }

    private static func fold(
        _ updates: [[UnsafeRawBufferPointer]], _ weights: [Double], batch: Int, into accumulator: FedAvgAccumulator
    ) {
        var start = 0
        while start < updates.count {
            let end = min(start + batch, updates.count)
            accumulator.fold(rawTensors: Array(updates[start..<end]), weights: Array(weights[start..<end]))
            start = end
        }
    }

    /// Two weight matrices with 1,000 columns and their biases, together `elementCount` elements or just under.
    private static func modelShapes(elementCount: Int) -> [[Int]] {
        let rows = max(1, (elementCount - 2000) / 2000)
        return [[rows, 1000], [1000], [rows, 1000], [1000]]
    }

    private static func makeUpdate(shapes: [[Int]], seed: Int) -> [UnsafeMutableBufferPointer<Float>] {
        shapes.map { shape in
            let count = shape.reduce(1, *)
            let tensor = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            for index in 0..<count {
                tensor.initializeElement(at: index, to: Float((index &* 2_654_435_761 &+ seed) & 0xFFFF) / 65536 - 0.5)
            }
            return tensor
        }
    }
}
