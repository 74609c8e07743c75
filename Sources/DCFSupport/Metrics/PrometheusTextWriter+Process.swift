// SPDX-License-Identifier: Apache-2.0

extension PrometheusTextWriter {
    /// Appends the conventional `process_*` metrics for `stats`, with the process start time in Unix seconds.
    public mutating func appendProcessMetrics(_ stats: ProcessStats, startTimeSeconds: Double) {
        counter(
            "process_cpu_seconds_total", help: "User and system CPU time spent, in seconds.", value: stats.cpuSeconds)
        gauge(
            "process_resident_memory_bytes", help: "Resident memory size, in bytes.", value: Double(stats.residentBytes)
        )
        gauge(
            "process_resident_memory_peak_bytes", help: "Peak resident memory size, in bytes.",
            value: Double(stats.peakResidentBytes)
        )
        gauge("process_virtual_memory_bytes", help: "Virtual memory size, in bytes.", value: Double(stats.virtualBytes))
        gauge("process_open_fds", help: "Open file descriptors.", value: Double(stats.openFileDescriptors))
        gauge("process_threads", help: "Operating system threads.", value: Double(stats.threads))
        gauge(
            "process_start_time_seconds", help: "Start time of the process since the Unix epoch, in seconds.",
            value: startTimeSeconds)
    }
}
