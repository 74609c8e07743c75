// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Resource usage of the current process, read from `/proc/self` (Linux only).
public struct ProcessStats: Sendable, Equatable {
    /// Resident set size (`VmRSS`), in bytes.
    public var residentBytes: Int
    /// Peak resident set size (`VmHWM`), in bytes.
    public var peakResidentBytes: Int
    /// Virtual memory size (`VmSize`), in bytes.
    public var virtualBytes: Int
    /// CPU time spent in user mode, in seconds.
    public var userCPUSeconds: Double
    /// CPU time spent in the kernel on behalf of the process, in seconds.
    public var systemCPUSeconds: Double
    public var threads: Int
    /// Open file descriptors, counted in `/proc/self/fd`.
    public var openFileDescriptors: Int

    /// User plus system CPU time, in seconds.
    public var cpuSeconds: Double { userCPUSeconds + systemCPUSeconds }

    /// Reads the current figures.
    /// - Throws: `SystemCallError` when `/proc/self` cannot be read, or `ProcessStatsError` when its format is
    ///   not the expected one.
    public static func current() throws -> ProcessStats {
        let status = try FileReader.readText("/proc/self/status")
        let stat = try FileReader.readText("/proc/self/stat")
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        return try parse(
            status: status, stat: stat, ticksPerSecond: Int(sysconf(Int32(_SC_CLK_TCK))),
            openFileDescriptors: descriptors)
    }

    /// Parses the text of `/proc/self/status` and `/proc/self/stat`.
    static func parse(status: String, stat: String, ticksPerSecond: Int, openFileDescriptors: Int)
        throws(ProcessStatsError)
        -> ProcessStats
    {
        var fields: [Substring: Substring] = [:]
        for line in status.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon]] = line[line.index(after: colon)...]
        }
        // The command name in field 2 is in parentheses and may hold spaces, so fields are counted after the last ")".
        guard let close = stat.lastIndex(of: ")") else { throw ProcessStatsError("no \")\" in /proc/self/stat") }
        let rest = stat[stat.index(after: close)...].split(separator: " ")
        // After ")" come field 3 (state) onwards, so utime (field 14) and stime (field 15) are at 11 and 12.
        guard rest.count > 12, let user = Double(rest[11]), let system = Double(rest[12]), ticksPerSecond > 0 else {
            throw ProcessStatsError("unexpected /proc/self/stat format")
        }
        return ProcessStats(
            residentBytes: try kilobytes(fields, "VmRSS"),
            peakResidentBytes: try kilobytes(fields, "VmHWM"),
            virtualBytes: try kilobytes(fields, "VmSize"),
            userCPUSeconds: user / Double(ticksPerSecond),
            systemCPUSeconds: system / Double(ticksPerSecond),
            threads: Int(fields["Threads"]?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0,
            openFileDescriptors: openFileDescriptors
        )
    }

    /// Reads a `Name:   1234 kB` line of `/proc/self/status` as bytes.
    private static func kilobytes(_ fields: [Substring: Substring], _ name: Substring) throws(ProcessStatsError) -> Int
    {
        let parts = fields[name]?.split(whereSeparator: { $0 == " " || $0 == "\t" }) ?? []
        guard parts.count == 2, parts[1] == "kB", let value = Int(parts[0]) else {
            throw ProcessStatsError("missing or unexpected \(name) line in /proc/self/status")
        }
        return value * 1024
    }
}

/// `/proc/self` content that does not have the documented format.
public struct ProcessStatsError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
