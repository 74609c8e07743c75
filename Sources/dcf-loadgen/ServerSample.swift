// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc

/// Figures of another process read from `/proc/PID`: memory, CPU time and bytes passed through `read`/`write`
/// (sockets included, TLS records as sent).
struct ServerSample: Sendable {
    var residentBytes = 0
    var peakResidentBytes = 0
    /// Anonymous resident memory (`RssAnon`): heap and stacks, without mapped files such as spooled updates.
    var anonymousResidentBytes = 0
    var cpuSeconds = 0.0
    var readBytes = 0
    var writtenBytes = 0

    /// Reads the figures of process `pid`, or returns nil when it has exited.
    static func read(pid: Int32) -> ServerSample? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        else { return nil }
        var sample = ServerSample()
        for line in status.split(separator: "\n") {
            if line.hasPrefix("VmRSS:") { sample.residentBytes = kilobytes(line) }
            if line.hasPrefix("VmHWM:") { sample.peakResidentBytes = kilobytes(line) }
            if line.hasPrefix("RssAnon:") { sample.anonymousResidentBytes = kilobytes(line) }
        }
        // Fields after the parenthesized command name start at field 3, so utime (14) and stime (15) are 11 and 12.
        if let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) {
                sample.cpuSeconds = (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
            }
        }
        if let io = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8) {
            for line in io.split(separator: "\n") {
                if line.hasPrefix("rchar:") { sample.readBytes = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) ?? 0 }
                if line.hasPrefix("wchar:") { sample.writtenBytes = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) ?? 0 }
            }
        }
        return sample
    }

    private static func kilobytes(_ line: Substring) -> Int {
        let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        return parts.count >= 2 ? (Int(parts[1]) ?? 0) * 1024 : 0
    }
}
