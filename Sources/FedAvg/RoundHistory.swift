// SPDX-License-Identifier: Apache-2.0
public import Foundation
import DCFSupport
import Synchronization

/// The round history of one state directory: `history.jsonl` (one `RoundRecord` per line), appended after
/// every round, and `history.svg` (accuracy and loss per round), redrawn after every round.
///
/// A round's record is first staged in `history-pending.json`, durably, before its version is stored, and the
/// staged file is removed once the record is in the history. A crash between the two leaves the staged record,
/// which `recoverStaged(latestVersion:)` appends at the next start. A failed append leaves it too, and the strategy
/// tries again before it stages the next round's record. A record that still cannot be appended stays in the
/// staged file next to the new one, so up to `maximumStagedRecords` appends can fail in a row without losing a
/// round.
///
/// The file is read whole only for the first append. Later appends add to the chart's rounds in memory, so a
/// round costs the same however long the history is.
public final class RoundHistory: Sendable {
    public let historyURL: URL
    public let chartURL: URL
    /// The records of rounds whose versions are stored or being stored, until they are in the history file: a
    /// JSON array in ascending version order, or a single record as written by earlier releases.
    public let stagedURL: URL
    /// The size above which a staged file is dropped unread. It contains at most `maximumStagedRecords` records
    /// of at most 100 rejections each, so it stays far below this. Only a file written by hand can be larger.
    static let maximumStagedBytes = 16 << 20
    /// The maximum number of records in the staged file. Past this many failed appends in a row, the oldest are
    /// dropped first.
    static let maximumStagedRecords = 100
    /// The rounds the chart draws, or nil until the first append reads the file.
    private let chartSample = Mutex<HistoryChartSample?>(nil)

    public init(directory: URL) {
        historyURL = directory.appendingPathComponent("history.jsonl")
        chartURL = directory.appendingPathComponent("history.svg")
        stagedURL = directory.appendingPathComponent("history-pending.json")
    }

    /// Writes `record` durably to the staged file, after the staged records of older rounds that are still
    /// waiting for their append. Call it before storing the record's version, so that a crash after the version
    /// is stored cannot lose the record.
    ///
    /// - Returns: the versions of waiting records dropped because the file would hold more than
    ///   `maximumStagedRecords`, oldest first; normally none.
    @discardableResult
    public func stage(_ record: RoundRecord) throws -> [Int] {
        var records = (try? readStaged()) ?? []
        records.removeAll { $0.version >= record.version }
        // A file edited by hand may be out of order, and the records dropped below must be the oldest.
        records.sort { $0.version < $1.version }
        records.append(record)
        let dropped = records.prefix(max(0, records.count - Self.maximumStagedRecords)).map(\.version)
        records.removeFirst(dropped.count)
        try writeStaged(records)
        return dropped
    }

    /// Removes the staged file once its records are in the history file.
    public func clearStaged() {
        try? FileManager.default.removeItem(at: stagedURL)
    }

    /// Appends, in version order, the staged records left by a crash or by failed appends whose versions are
    /// stored (at most `latestVersion`) and newer than the last round in the history, then removes the staged
    /// file. A staged record of a version that was never stored is dropped, because that round is aggregated
    /// again. A record the history has already is skipped: a crash after its append left it staged. An older
    /// record that the history lacks is dropped too, because appending it would put rounds out of order. Only a
    /// copy made by hand can leave one.
    ///
    /// When an append fails, the records not yet appended stay in the staged file and the error is thrown.
    ///
    /// - Parameter discarded: called with the reason when the staged file or a record in it is dropped because it
    ///   is not a record that belongs in the history, which only damage or a copy made by hand can cause.
    /// - Parameter chartFailed: called when a record was appended but the chart could not be drawn.
    /// - Returns: the appended records.
    /// - Throws: `FedAvgError` when the staged file's path is not a regular file, because every later
    ///   `stage(_:)` would fail there. A file error when the history cannot be read or appended to.
    @discardableResult
    public func recoverStaged(
        latestVersion: Int, discarded: (String) -> Void = { _ in }, chartFailed: (HistoryChartError) -> Void = { _ in }
    ) throws -> [RoundRecord] {
        var info = stat()
        guard lstat(stagedURL.path, &info) == 0 else { return [] }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw FedAvgError(
                description: "\(stagedURL.path) is not a regular file, so no round record can be staged and no "
                    + "round can be aggregated; remove it and start the server again")
        }
        guard info.st_size <= Self.maximumStagedBytes else {
            discarded("it has \(info.st_size) bytes, more than any round record (\(Self.maximumStagedBytes))")
            clearStaged()
            return []
        }
        guard let staged = try readStaged() else {
            // AtomicFile writes the file whole, so this is damage from outside; the version files are intact.
            discarded("it is not a round record")
            clearStaged()
            return []
        }
        let history = try load()
        let historyVersions = Set(history.map(\.version))
        let lastInHistory = history.map(\.version).max() ?? Int.min
        var waiting: [RoundRecord] = []
        for record in staged.sorted(by: { $0.version < $1.version }) where record.version <= latestVersion {
            if record.version > lastInHistory, record.version > (waiting.last?.version ?? Int.min) {
                waiting.append(record)
            } else if record.version == waiting.last?.version {
                discarded("it records version \(record.version) more than once, and only one copy is appended")
            } else if !historyVersions.contains(record.version) {
                discarded(
                    "it records version \(record.version), older than the last round in the history "
                        + "(version \(lastInHistory))")
            }
        }
        var appended: [RoundRecord] = []
        for (index, record) in waiting.enumerated() {
            do {
                try append(record)
            } catch let error as HistoryChartError {
                chartFailed(error)
            } catch {
                try? writeStaged(Array(waiting[index...]))
                throw error
            }
            appended.append(record)
        }
        clearStaged()
        return appended
    }

    /// Reads the staged records: nil when the file is not a record or an array of records, empty when there is no
    /// file.
    private func readStaged() throws -> [RoundRecord]? {
        guard FileManager.default.fileExists(atPath: stagedURL.path) else { return [] }
        let bytes = try Data(contentsOf: stagedURL)
        if let records = try? Self.decoder.decode([RoundRecord].self, from: bytes) { return records }
        return (try? Self.decoder.decode(RoundRecord.self, from: bytes)).map { [$0] }
    }

    private func writeStaged(_ records: [RoundRecord]) throws {
        try AtomicFile.write(try Self.encoder.encode(records), to: stagedURL.path)
    }

    /// Reads every record. A missing file is an empty history. Lines that are not records are skipped, such as a
    /// torn last line from a crash during an append, or a torn line that a later append ended with a newline.
    public func load() throws -> [RoundRecord] {
        try records(from: 0).records
    }

    /// Appends `record` to the history file (flushed to disk) and redraws the chart.
    ///
    /// - Throws: `HistoryChartError` when only the chart failed, with the record appended and flushed. Any
    ///   other error when the record may be missing from the history file.
    public func append(_ record: RoundRecord) throws {
        var line = try Self.encoder.encode(record)
        line.append(UInt8(ascii: "\n"))
        if !FileManager.default.fileExists(atPath: historyURL.path) {
            // Created in place: FileManager.createFile writes a temporary file that start-up would not delete
            // after a crash.
            let descriptor = open(historyURL.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                throw SystemCallError(call: "open", subject: historyURL.path, errno: errno)
            }
            close(descriptor)
            try AtomicFile.syncDirectory(historyURL.deletingLastPathComponent().path)
        }
        let handle = try FileHandle(forUpdating: historyURL)
        defer { try? handle.close() }
        do {
            try Self.dropTornTail(handle)
            try handle.write(contentsOf: line)
            try handle.synchronize()
        } catch {
            // The record may or may not be in the file now, so the next append rereads it for the chart.
            chartSample.withLock { $0 = nil }
            throw error
        }
        do {
            let points = try chartSample.withLock { sample in
                if sample == nil {
                    sample = HistoryChartSample(records: try load())
                } else {
                    sample?.add(record)
                }
                return sample?.points ?? []
            }
            // Start-up deletes the temporary files of AtomicFile that a crash leaves. The chart is not flushed,
            // because every round draws it again.
            try AtomicFile.write(to: chartURL.path, durable: false) { (file) throws(SystemCallError) in
                try file.append(Array(HistoryChart.render(points).utf8))
            }
        } catch {
            throw HistoryChartError(path: chartURL.path, underlying: error)
        }
    }

    /// The result of `records(from:)`.
    public struct Reading: Sendable {
        /// The records of the complete lines read.
        public var records: [RoundRecord] = []
        /// The offset after the last complete line, where the next read starts.
        public var end: UInt64
        /// Complete lines that were not records and were skipped.
        public var skippedLines = 0
        /// The inode and size of the file read, or nil when there is no file.
        public var file: (inode: UInt64, size: UInt64)?
    }

    /// Reads the records of the complete lines from byte `offset` on, for a reader that follows the file as it
    /// grows. A line still without its newline is left for the next read, and a complete line that is not a
    /// record is counted and skipped. A missing file has no records.
    ///
    /// - Throws: a file error.
    public func records(from offset: UInt64) throws -> Reading {
        guard let handle = FileHandle(forReadingAtPath: historyURL.path) else { return Reading(end: 0) }
        defer { try? handle.close() }
        var info = stat()
        guard fstat(handle.fileDescriptor, &info) == 0 else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: historyURL.path])
        }
        var reading = Reading(end: offset, file: (UInt64(info.st_ino), UInt64(info.st_size)))
        guard UInt64(info.st_size) > offset else { return reading }
        try handle.seek(toOffset: offset)
        let tail = try handle.readToEnd() ?? Data()
        guard let lastNewline = tail.lastIndex(of: UInt8(ascii: "\n")) else { return reading }
        let complete = tail[tail.startIndex...lastNewline]
        for line in complete.split(separator: UInt8(ascii: "\n")) {
            if let record = try? Self.decoder.decode(RoundRecord.self, from: Data(line)) {
                reading.records.append(record)
            } else {
                reading.skippedLines += 1
            }
        }
        reading.end = offset + UInt64(complete.count)
        return reading
    }

    /// Positions `handle` at the end of the last complete line, cutting off a line that a crash left
    /// without its newline, so the next record starts on a line of its own.
    private static func dropTornTail(_ handle: FileHandle) throws {
        let end = try handle.seekToEnd()
        guard end > 0 else { return }
        let window = min(end, 1 << 20)
        try handle.seek(toOffset: end - window)
        let tail = try handle.readToEnd() ?? Data()
        guard tail.last != UInt8(ascii: "\n") else {
            try handle.seek(toOffset: end)
            return
        }
        guard let newline = tail.lastIndex(of: UInt8(ascii: "\n")) else {
            if window == end {
                try handle.truncate(atOffset: 0)
            } else {
                // A torn line longer than the window: end it rather than read the whole file.
                try handle.write(contentsOf: Data("\n".utf8))
            }
            return
        }
        let keep = end - window + UInt64(newline - tail.startIndex) + 1
        try handle.truncate(atOffset: keep)
        try handle.seek(toOffset: keep)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}

/// A failure to draw the chart `history.svg` after the round record was appended to the history file and
/// flushed, so the history is intact and the next append draws the chart again.
public struct HistoryChartError: Error, CustomStringConvertible {
    public let path: String
    public let underlying: any Error

    public var description: String { "cannot write the history chart \(path): \(underlying)" }
}
