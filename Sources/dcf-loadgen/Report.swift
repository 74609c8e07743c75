// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Prints the per-round table and writes the results as JSON for the benchmark scripts.
struct Report {
    let settings: Coordinator.Settings
    let tally: RoundTally
    let finalSample: ServerSample?
    /// The signal that stopped the run early, if one did.
    var interruptedBy: Int32? = nil

    private static let megabyte = 1_000_000.0

    func printTable() {
        print("\(settings.label): \(settings.workerCount) workers, \(settings.rounds) rounds, server pid \(settings.serverPID)")
        print("round  base  seconds  interval_s  server_cpu_s  server_peak_rss_MB  peak_anon_MB  server_in_MB  server_out_MB  loadgen_cpu_s  uploads  errors")
        for (number, round) in tally.rounds.enumerated() where round.isComplete {
            let (cpu, read, written) = deltas(round)
            let interval = tally.interval(before: number).map { String(format: "%.3f", $0) } ?? "-"
            let head = String(format: "%5d %5d %8.3f ", number + 1, round.baseVersion, round.seconds)
            let tail = String(
                format: " %13.2f %19.1f %13.1f %13.1f %14.1f %14.2f %8d %7d", cpu,
                Double(round.serverPeakResidentBytes) / Self.megabyte,
                Double(round.serverPeakAnonymousBytes) / Self.megabyte, Double(read) / Self.megabyte,
                Double(written) / Self.megabyte, loadGeneratorCPU(round), round.uploadsDone, round.errors)
            print(head + String(repeating: " ", count: max(0, 11 - interval.count)) + interval + tail)
        }
        let complete = tally.completedRounds
        print("complete rounds \(complete)/\(settings.rounds), errors \(tally.errors)"
            + ", server VmHWM \(String(format: "%.1f", Double(finalSample?.peakResidentBytes ?? 0) / Self.megabyte)) MB")
        for message in tally.errorMessages { print("  error: \(message)") }
    }

    func writeJSON(to path: String) throws {
        let rounds: [[String: Any]] = tally.rounds.indices.filter { tally.rounds[$0].isComplete }.map { index in
            let round = tally.rounds[index]
            let (cpu, read, written) = deltas(round)
            var entry: [String: Any] = [
                "base_version": round.baseVersion, "seconds": round.seconds, "server_cpu_seconds": cpu,
                "server_peak_rss_bytes": round.serverPeakResidentBytes,
                "server_peak_anon_bytes": round.serverPeakAnonymousBytes, "server_read_bytes": read,
                "server_written_bytes": written, "uploads": round.uploadsDone, "errors": round.errors,
                "uploaded_bytes": round.uploadedBytes, "downloaded_bytes": round.downloadedBytes,
                "loadgen_cpu_seconds": loadGeneratorCPU(round),
            ]
            if let interval = tally.interval(before: index) { entry["interval_seconds"] = interval }
            return entry
        }
        let object: [String: Any] = [
            "label": settings.label, "workers": settings.workerCount, "rounds_requested": settings.rounds,
            "rounds_complete": tally.completedRounds, "errors": tally.errors, "rounds": rounds,
            "server_vmhwm_bytes": finalSample?.peakResidentBytes ?? 0,
            "error_messages": tally.errorMessages,
            "interrupted_by_signal": interruptedBy.map { Int($0) } ?? 0,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// Returns the CPU seconds the worker processes used during the round.
    private func loadGeneratorCPU(_ round: RoundRecord) -> Double {
        guard let start = round.loadGeneratorCPUAtStart, let end = round.loadGeneratorCPUAtEnd else { return 0 }
        return end - start
    }

    private func deltas(_ round: RoundRecord) -> (cpu: Double, read: Int, written: Int) {
        guard let start = round.serverAtStart, let end = round.serverAtEnd else { return (0, 0, 0) }
        return (end.cpuSeconds - start.cpuSeconds, end.readBytes - start.readBytes,
                end.writtenBytes - start.writtenBytes)
    }
}
