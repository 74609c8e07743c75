// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Machine facts and timing helpers shared by the benchmark parts.
enum BenchMachine {
    static var summary: String {
        let memoryGiB = Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30)
        return "\(cpuModel()), \(ProcessInfo.processInfo.activeProcessorCount) cores, "
            + String(format: "%.1f GiB memory", memoryGiB)
    }

    /// The 1-, 5- and 15-minute load averages from /proc/loadavg, such as "3.52 4.01 4.40".
    static var loadAverage: String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    static func cpuModel() -> String {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
        let line = info.split(separator: "\n").first { $0.hasPrefix("model name") }
        return line.map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) }
            ?? "unknown CPU"
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        seconds(ContinuousClock.now - start)
    }

    /// Runs `body` `repeats` times and returns the shortest time in seconds, the figure least disturbed by
    /// other processes on a shared machine.
    static func bestSeconds(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            try body()
            best = min(best, seconds(since: start))
        }
        return best
    }
}
