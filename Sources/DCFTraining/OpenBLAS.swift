// SPDX-License-Identifier: Apache-2.0
internal import CBLAS

/// Process-wide settings of OpenBLAS, the library that computes the trainer's matrix products.
public enum OpenBLAS {
    /// The number of threads OpenBLAS uses.
    ///
    /// OpenBLAS starts with the value of `OPENBLAS_NUM_THREADS`, or one thread per core when it is unset. For
    /// small batches one thread is often faster, and on a loaded machine more threads than free cores can
    /// slow training many times over, because OpenBLAS's idle worker threads wait by spinning.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of threads for every later matrix product in this process.
    ///
    /// - Precondition: `count` is at least 1.
    public static func setThreadCount(_ count: Int) {
        precondition(count >= 1, "OpenBLAS thread count must be at least 1, got \(count)")
        openblas_set_num_threads(Int32(clamping: count))
    }

    /// The library's build description, such as its version and the CPU kernel it selected.
    public static var configuration: String {
        openblas_get_config().map { String(cString: $0) } ?? "unknown"
    }
}
