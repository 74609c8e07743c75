// SPDX-License-Identifier: Apache-2.0
import CLinux
import Glibc

/// Settings of glibc's allocator for programs that handle model-sized buffers.
public enum MemoryTuning {
    /// Serves every allocation of 1 MiB or more with its own mapping, returned to the system when freed.
    /// glibc otherwise raises this threshold after each large free, so model-sized buffers (decoded
    /// updates, serialized versions) end up in heaps that are never given back, and the resident size
    /// grows round after round. Fewer arenas also bound the heaps that many handler threads create.
    public static func apply() {
        _ = CLinux_set_mmap_threshold(1 << 20)
        _ = CLinux_set_arena_max(4)
    }

    /// Keeps freed memory in the process for later allocations: blocks up to `largestReused` bytes come from the
    /// heap instead of their own `mmap`, and heaps are trimmed only past `trimAbove` free bytes at their top. For
    /// a process that allocates and frees buffers of the same large size over and over, which otherwise faults
    /// in and zeroes fresh pages for each one. The opposite of `apply()`, so never for the server.
    public static func keepFreedMemory(largestReused: Int32, trimAbove: Int32) {
        _ = CLinux_set_mmap_threshold(largestReused)
        _ = CLinux_set_trim_threshold(trimAbove)
    }

    /// Returns free heap memory to the system; the server calls it after each new version, the moment
    /// it has freed the most.
    public static func trim() {
        _ = malloc_trim(0)
    }
}
