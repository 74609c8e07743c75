// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Synchronization

/// Faults in, once per process, the heap memory that its workers' downloads will use together, so that the
/// measured rounds reuse pages instead of having the kernel zero new ones.
///
/// When a new global model is published, every waiting worker downloads it at the same time, so a process
/// needs one model-sized buffer per worker. Without this warm-up the first such wave of each run faults
/// in all of them while a measured round is under way. The warm-up runs on a thread of its own after the first
/// model arrives, while the first round is still open, and needs `MemoryTuning.keepFreedMemory` so that the
/// freed blocks stay in the heap.
final class HeapWarmup: Sendable {
    private let workerCount: Int
    /// The largest freed block the heap keeps, or nil when the allocator settings failed and nothing is kept.
    private let largestReused: Int?
    private let started = Atomic<Bool>(false)

    init(workerCount: Int, largestReused: Int?) {
        self.workerCount = workerCount
        self.largestReused = largestReused
    }

    /// Starts the warm-up for models of `bytes` bytes, the first time a worker of this process receives one.
    func modelReceived(bytes: Int) {
        guard let largestReused, bytes > 0, bytes <= largestReused else { return }
        guard !started.exchange(true, ordering: .relaxed) else { return }
        // A third of the machine's memory at most per process, so that several processes leave room for
        // the server and the page cache.
        let memory = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        let blocks = min(workerCount, memory / 3 / bytes)
        let thread = Thread { Self.touch(blocks: blocks, bytes: bytes) }
        thread.stackSize = 64 << 10
        thread.start()
    }

    /// Allocates `blocks` blocks of `bytes`, writes one byte per page so that the kernel maps each page in, and
    /// frees them, leaving the pages in the heap.
    static func touch(blocks: Int, bytes: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var allocated: [UnsafeMutableRawPointer] = []
        allocated.reserveCapacity(blocks)
        for _ in 0..<blocks {
            guard let block = malloc(bytes) else { break }
            for offset in stride(from: 0, to: bytes, by: page) {
                block.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self)
            }
            allocated.append(block)
        }
        for block in allocated {
            free(block)
        }
    }
}
