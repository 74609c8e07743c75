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
    /// heap instead of their own `mmap`, the heap is never trimmed, and all threads share the main arena, which
    /// only the trim threshold shrinks. For a process that allocates and frees buffers of the same large size
    /// over and over, which otherwise faults in and zeroes fresh pages for each one. The opposite of `apply()`,
    /// so never for the server. Returns false when glibc rejected a setting.
    public static func keepFreedMemory(largestReused: Int32) -> Bool {
        // -1 becomes SIZE_MAX in glibc: no free top of the heap is large enough to be trimmed.
        CLinux_set_mmap_threshold(largestReused) == 1 && CLinux_set_trim_threshold(-1) == 1
            && CLinux_set_arena_max(1) == 1
    }

    /// Returns free heap memory to the system; the server calls it after each new version, the moment
    /// it has freed the most.
    public static func trim() {
        _ = malloc_trim(0)
    }
}
