// SPDX-License-Identifier: Apache-2.0
import Foundation

/// CPU time used by the threads of one process, grouped by thread name, read from
/// `/proc/PID/task/TID/schedstat` (nanoseconds on the CPU, first field) and `comm`.
///
/// A thread that exits between two snapshots drops out of the second, so take both while the threads of
/// interest run.
struct ThreadCPU {
    /// One thread's name and scheduler times.
    struct Sample {
        let name: String
        /// Nanoseconds on a CPU.
        let running: UInt64
        /// Nanoseconds runnable but waiting for a CPU.
        let waiting: UInt64
    }

    /// The samples by thread id.
    private(set) var threads: [Int: Sample] = [:]

    /// Reads every thread of process `pid` (`"self"` for this process).
    init(process pid: String = "self") {
        let directory = "/proc/\(pid)/task"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for tid in entries {
            guard let id = Int(tid),
                let stat = try? String(contentsOfFile: "\(directory)/\(tid)/schedstat", encoding: .utf8),
                let name = try? String(contentsOfFile: "\(directory)/\(tid)/comm", encoding: .utf8)
            else { continue }
            let fields = stat.split(separator: " ").compactMap { UInt64($0) }
            guard fields.count >= 2 else { continue }
            threads[id] = Sample(
                name: name.trimmingCharacters(in: .whitespacesAndNewlines), running: fields[0], waiting: fields[1])
        }
    }

    /// Returns the milliseconds each group of threads ran and waited for a CPU since `earlier`.
    ///
    /// `group` maps a thread's name and id to its group. Threads that started after `earlier` count in full.
    func milliseconds(
        since earlier: ThreadCPU, group: (String, Int) -> String
    ) -> [String: (running: Double, waiting: Double)] {
        var totals: [String: (running: Double, waiting: Double)] = [:]
        for (tid, thread) in threads {
            let before = earlier.threads[tid]
            let key = group(thread.name, tid)
            let total = totals[key] ?? (0, 0)
            totals[key] = (
                total.running + Double(thread.running &- (before?.running ?? 0)) / 1e6,
                total.waiting + Double(thread.waiting &- (before?.waiting ?? 0)) / 1e6
            )
        }
        return totals
    }
}
