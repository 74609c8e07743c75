// SPDX-License-Identifier: Apache-2.0
import CLinux

/// Early writeback of file data that will be flushed with `fsync` later.
public enum Writeback {
    /// Asks the kernel to start writing `count` bytes at `offset` of the open file `descriptor` to disk
    /// and returns without waiting. A later `fsync` then finds most of the data already written, so a file
    /// received over minutes does not cost its whole disk write at the moment it must be durable.
    ///
    /// It is only a hint: the result is ignored, and a file system without support loses nothing but speed.
    public static func start(descriptor: Int32, offset: Int, count: Int) {
        _ = CLinux_start_writeback(descriptor, Int64(offset), Int64(count))
    }
}
