// SPDX-License-Identifier: Apache-2.0
@testable import FedAvg
import Foundation
import Testing

struct RoundHistoryTests {
    private static func record(_ version: Int, accuracy: Double? = nil) -> RoundRecord {
        RoundRecord(
            version: version, baseVersion: version - 1, updatesUsed: 1, rejected: [], evaluationLoss: nil,
            evaluationAccuracy: accuracy, trainingLoss: nil, trainingExamples: 1, bytesIn: 0, bytesOut: 0,
            aggregationSeconds: 0.5, roundSeconds: 1, finishedAt: Date(timeIntervalSince1970: 0))
    }

    private static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dcf-history-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A crash after the append but before the staged file is removed leaves a record that the history contains already.
    @Test func stagedRecordAlreadyInHistoryIsNotAddedTwice() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory)
        try history.append(Self.record(2))
        try history.stage(Self.record(3))
        try history.append(Self.record(3))

        #expect(try history.recoverStaged(latestVersion: 3).isEmpty)
        #expect(try history.load().map(\.version) == [2, 3])
        #expect(!FileManager.default.fileExists(atPath: history.stagedURL.path))
    }

    @Test func stagedRecordIsAppendedOnlyWhenItsVersionIsStored() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory)
        try history.stage(Self.record(4, accuracy: 0.5))
        #expect(try history.recoverStaged(latestVersion: 3).isEmpty)
        #expect(try history.load().isEmpty)

        try history.stage(Self.record(4, accuracy: 0.5))
        #expect(try history.recoverStaged(latestVersion: 4).map(\.evaluationAccuracy) == [0.5])
        #expect(try history.load().map(\.version) == [4])
        #expect(try history.recoverStaged(latestVersion: 4).isEmpty)
    }

    /// A staged record of a version older than the history's last round, and missing from it, was put there by
    /// hand: appending it would end the history with an old round.
    @Test func stagedRecordOlderThanLatestIsDropped() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory)
        try history.append(Self.record(3))
        try history.append(Self.record(4))
        try history.stage(Self.record(2))

        var reasons: [String] = []
        #expect(try history.recoverStaged(latestVersion: 4) { reasons.append($0) }.isEmpty)
        #expect(reasons.first?.contains("older than the last round in the history (version 4)") == true)
        #expect(try history.load().map(\.version) == [3, 4])
        #expect(!FileManager.default.fileExists(atPath: history.stagedURL.path))
    }

    /// Start-up reads the staged file whole, so a file far larger than any record is dropped unread rather than
    /// loaded into memory. Whitespace before the record keeps it valid JSON, so only the size check drops it.
    @Test func oversizedStagedFileIsDroppedUnread() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory)
        try history.stage(Self.record(4))
        let staged = try Data(contentsOf: history.stagedURL)
        let padding = Data(repeating: UInt8(ascii: " "), count: RoundHistory.maximumStagedBytes)
        try (padding + staged).write(to: history.stagedURL)

        var reasons: [String] = []
        #expect(try history.recoverStaged(latestVersion: 4) { reasons.append($0) }.isEmpty)
        #expect(try history.load().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: history.stagedURL.path))
        #expect(reasons.count == 1)
        #expect(reasons.first?.contains("more than any round record") == true)
    }

    /// A staged file edited by hand, out of order, with a version twice and one that was never stored, still
    /// gives each stored version one record in version order, and the duplicate is reported as one.
    @Test func editedStagedFileAppendsInOrder() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory)
        try history.append(Self.record(2))
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let staged = [Self.record(5), Self.record(3, accuracy: 0.25), Self.record(3, accuracy: 0.75), Self.record(9)]
        try encoder.encode(staged).write(to: history.stagedURL)

        var reasons: [String] = []
        #expect(try history.recoverStaged(latestVersion: 5) { reasons.append($0) }.map(\.version) == [3, 5])
        #expect(try history.load().map(\.version) == [2, 3, 5])
        #expect(reasons.count == 1)
        #expect(reasons.first?.contains("version 3 more than once") == true, "\(reasons)")
        #expect(!FileManager.default.fileExists(atPath: history.stagedURL.path))
    }

    @Test func damagedStagedFileIsReported() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory)
        try Data("{\"version\": 4, \"base_vers".utf8).write(to: history.stagedURL)

        var reasons: [String] = []
        #expect(try history.recoverStaged(latestVersion: 4) { reasons.append($0) }.isEmpty)
        #expect(reasons == ["it is not a round record"])
        #expect(!FileManager.default.fileExists(atPath: history.stagedURL.path))
        // A record of a version that was never stored is the normal leftover of a crash, so it is not reported.
        try history.stage(Self.record(5))
        #expect(try history.recoverStaged(latestVersion: 4) { reasons.append($0) }.isEmpty)
        #expect(reasons.count == 1)
    }

    @Test func chartSampleKeepsEveryRoundUnderLimit() {
        let sample = HistoryChartSample(limit: 10, records: (1...8).map { Self.record($0) })
        #expect(sample.points.map(\.baseVersion) == Array(0...7))
        #expect(sample.step == 1)
    }

    @Test func chartSampleThinsEvenlyOverLimit() {
        let sample = HistoryChartSample(limit: 10, records: (1...1000).map { Self.record($0) })
        let versions = sample.points.map(\.baseVersion)

        #expect(versions.count <= 11)
        #expect(versions.first == 0)
        #expect(versions.last == 999)
        let gaps = Set(zip(versions.dropLast(2), versions.dropFirst().dropLast()).map { $1 - $0 })
        #expect(gaps == [sample.step])
    }

    @Test func chartSampleMatchesOneByOneAdds() {
        var added = HistoryChartSample(limit: 6)
        (1...50).forEach { added.add(Self.record($0)) }
        let built = HistoryChartSample(limit: 6, records: (1...50).map { Self.record($0) })
        #expect(added.points == built.points)
        #expect(added.count == 50)
    }

    @Test func appendsKeepChartCurrent() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory)
        try history.append(Self.record(2, accuracy: 0.25))
        try history.append(Self.record(3, accuracy: 0.75))

        // A new instance reads the file once, then follows its own appends.
        let reopened = RoundHistory(directory: directory)
        try reopened.append(Self.record(4, accuracy: 0.5))
        let chart = try String(contentsOf: reopened.chartURL, encoding: .utf8)

        #expect(try reopened.load().map(\.version) == [2, 3, 4])
        #expect(chart.contains("round 1"))
        #expect(chart.contains("round 3"))
        #expect(chart.components(separatedBy: "<circle").count - 1 == 3)
    }

    @Test func recordsFromOffsetFollowGrowth() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory)
        #expect(try history.records(from: 0).records.isEmpty)

        try history.append(Self.record(2))
        try history.append(Self.record(3))
        let first = try history.records(from: 0)
        #expect(first.records.map(\.version) == [2, 3])

        let handle = try FileHandle(forWritingTo: history.historyURL)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"version\":4,\"base_ver".utf8))
        try handle.close()
        let torn = try history.records(from: first.end)
        #expect(torn.records.isEmpty)
        #expect(torn.end == first.end)

        try history.append(Self.record(4))
        let next = try history.records(from: torn.end)
        #expect(next.records.map(\.version) == [4])
        #expect(try history.records(from: next.end).records.isEmpty)
    }

    @Test func lineThatIsNotRecordIsSkipped() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory)
        try history.append(Self.record(2))
        let handle = try FileHandle(forWritingTo: history.historyURL)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"version\":3,\"torn\n".utf8))
        try handle.close()
        try history.append(Self.record(4))

        let reading = try history.records(from: 0)
        #expect(reading.records.map(\.version) == [2, 4])
        #expect(reading.skippedLines == 1)
        #expect(try history.load().map(\.version) == [2, 4])
        let size = try FileManager.default.attributesOfItem(atPath: history.historyURL.path)[.size] as? Int
        #expect(reading.file?.size == size.map(UInt64.init))
        #expect(reading.end == reading.file?.size)
    }

    /// Records staged by rounds whose appends failed one after another are all appended, oldest first, and an
    /// append that fails again keeps the records not yet appended.
    @Test func failedAppendKeepsRemainingRecords() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory)
        try history.append(Self.record(2))
        try history.stage(Self.record(3))
        try history.stage(Self.record(4))
        try history.stage(Self.record(5))

        // A directory where the history file should be makes every append fail, even as root.
        try FileManager.default.removeItem(at: history.historyURL)
        try FileManager.default.createDirectory(at: history.historyURL, withIntermediateDirectories: false)
        #expect(throws: (any Error).self) { try history.recoverStaged(latestVersion: 5) }
        try FileManager.default.removeItem(at: history.historyURL)
        try history.append(Self.record(2))

        #expect(try history.recoverStaged(latestVersion: 4).map(\.version) == [3, 4])
        #expect(try history.load().map(\.version) == [2, 3, 4])
        #expect(!FileManager.default.fileExists(atPath: history.stagedURL.path))
    }

    /// Staging a record replaces staged records of its own version and later ones: those are from attempts
    /// whose versions were never stored.
    @Test func stagingReplacesRecordsOfUnstoredVersions() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory)
        try history.stage(Self.record(3))
        try history.stage(Self.record(4, accuracy: 0.1))
        try history.stage(Self.record(4, accuracy: 0.2))

        let recovered = try history.recoverStaged(latestVersion: 4)
        #expect(recovered.map(\.version) == [3, 4])
        #expect(recovered.last?.evaluationAccuracy == 0.2)
    }

    /// The staged file keeps at most `maximumStagedRecords` records; past that the oldest are dropped and named.
    @Test func stagedRecordsAreBounded() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory)
        let limit = RoundHistory.maximumStagedRecords
        for version in 1...limit {
            #expect(try history.stage(Self.record(version)).isEmpty)
        }
        #expect(try history.stage(Self.record(limit + 1)) == [1])
        #expect(try history.stage(Self.record(limit + 2)) == [2])

        let recovered = try history.recoverStaged(latestVersion: limit + 2)
        #expect(recovered.map(\.version) == Array(3...(limit + 2)))
    }

    /// A full staged file that is not in version order, as after an edit by hand, still loses its oldest record
    /// when a new one is staged, and the file is written in version order.
    @Test func stagingDropsOldestOfUnsortedFile() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory)
        let limit = RoundHistory.maximumStagedRecords
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode((1...limit).reversed().map { Self.record($0) }).write(to: history.stagedURL)

        #expect(try history.stage(Self.record(limit + 1)) == [1])
        let recovered = try history.recoverStaged(latestVersion: limit + 1)
        #expect(recovered.map(\.version) == Array(2...(limit + 1)))
    }

    /// Earlier releases staged a single record rather than an array; such a file is still recovered.
    @Test func singleRecordFileIsRecovered() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = RoundHistory(directory: directory)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(Self.record(7, accuracy: 0.7)).write(to: history.stagedURL)

        #expect(try history.recoverStaged(latestVersion: 7).map(\.evaluationAccuracy) == [0.7])
        #expect(try history.load().map(\.version) == [7])
    }
}
