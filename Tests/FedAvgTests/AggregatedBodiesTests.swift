// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFSupport
import Foundation
import Synchronization
import Testing

@testable import FedAvg

/// The file of body digests that lets a restarted strategy recognise resends of updates a version already contains.
@Suite struct AggregatedBodiesTests {
    private let first = WorkerID("aaaaaaaa01")!
    private let second = WorkerID("bbbbbbbb02")!
    private let digest = String(repeating: "0123456789abcdef", count: 4)

    @Test func writtenEntriesReadBack() throws {
        let directory = try SmallModelFixture.temporaryDirectory("fedavg-aggregated")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = AggregatedBodies(stateDirectory: directory)
        try file.write([first: (4, digest), second: (3, String(digest.reversed()))])
        let read = try file.read()
        #expect(read.count == 2)
        #expect(read[first]?.version == 4)
        #expect(read[first]?.bodySHA256 == digest)
        #expect(read[second]?.version == 3)

        try file.write([:])
        #expect(!FileManager.default.fileExists(atPath: file.file.path))
        #expect(try file.read().isEmpty)
    }

    @Test(arguments: [
        #"{"updates":[{"worker":"aaaaaaaa01","version":2,"body_sha256":"abc"}]}"#,
        #"{"updates":[{"worker":"AAAAAAAA01","version":2,"body_sha256":"\#(String(repeating: "0", count: 64))"}]}"#,
        #"{"updates":[{"worker":"aaaaaaaa01","version":2,"body_sha256":"\#(String(repeating: "G", count: 64))"}]}"#,
        #"{"updates":"#,
        // Swift's `Character.isHexDigit` also accepts the fullwidth forms of the hex digits.
        #"{"updates":[{"worker":"aaaaaaaa01","version":2,"body_sha256":"\#(String(repeating: "\u{FF10}", count: 64))"}]}"#,
    ])
    func damagedFileIsRejected(contents: String) throws {
        let directory = try SmallModelFixture.temporaryDirectory("fedavg-aggregated")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = AggregatedBodies(stateDirectory: directory)
        try Data(contents.utf8).write(to: file.file)
        #expect(throws: (any Error).self) { try file.read() }
    }

    /// An entry of version V matters while an update trained from V - 1 is still fresh enough to be accepted.
    @Test func pruningKeepsEntriesThatAResendCanStillMatch() {
        let bodies: [WorkerID: AggregatedBodies.Entry] = [first: (5, digest), second: (3, digest)]
        #expect(AggregatedBodies.pruned(bodies, current: 5, maxStaleness: 0).isEmpty)
        #expect(Set(AggregatedBodies.pruned(bodies, current: 5, maxStaleness: 1).keys) == [first])
        #expect(Set(AggregatedBodies.pruned(bodies, current: 5, maxStaleness: 3).keys) == [first, second])
        #expect(Set(AggregatedBodies.pruned(bodies, current: 6, maxStaleness: 3).keys) == [first])
        // An entry newer than the current version belongs to a version that is gone.
        #expect(AggregatedBodies.pruned(bodies, current: 4, maxStaleness: 3).keys.sorted { $0.rawValue < $1.rawValue } == [second])
    }

    /// A damaged file only weakens the check for resends, so the start goes on with a warning that names the file.
    @Test func damagedFileDoesNotStopTheStart() throws {
        let directory = try SmallModelFixture.temporaryDirectory("fedavg-aggregated")
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try SmallModelFixture.strategy(in: directory, tensor: "w")
        let file = AggregatedBodies(stateDirectory: directory.appendingPathComponent("state"))
        try Data("{\"updates\":".utf8).write(to: file.file)
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .warning) { line in lines.withLock { $0.append(line) } }
        let restarted = try SmallModelFixture.strategy(in: directory, tensor: "w", logSink: sink)
        #expect(restarted.currentVersion.rawValue == 1)
        let warning = lines.withLock { $0 }.first { $0.contains("cannot read the digests of aggregated updates") }
        #expect(warning?.contains(file.file.path) == true, "\(lines.withLock { $0 })")
    }

    /// A directory with the file's name blocks every write after a round, so the warning asks to remove it instead
    /// of promising that the next round writes the file anew.
    @Test func directoryInPlaceOfFileIsNamed() throws {
        let directory = try SmallModelFixture.temporaryDirectory("fedavg-aggregated")
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try SmallModelFixture.strategy(in: directory, tensor: "w")
        let file = AggregatedBodies(stateDirectory: directory.appendingPathComponent("state"))
        try FileManager.default.createDirectory(at: file.file, withIntermediateDirectories: false)
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .warning) { line in lines.withLock { $0.append(line) } }
        let restarted = try SmallModelFixture.strategy(in: directory, tensor: "w", logSink: sink)
        #expect(restarted.currentVersion.rawValue == 1)
        let warning = lines.withLock { $0 }.first { $0.contains(file.file.path) }
        #expect(warning?.contains("is a directory") == true, "\(lines.withLock { $0 })")
        #expect(warning?.contains("remove it") == true, "\(lines.withLock { $0 })")
        #expect(warning?.contains("writes the file anew") == false, "\(lines.withLock { $0 })")
    }

    /// The file that 10,000 workers with 64-digit ids give, each with an entry, stays under 2 MB: about 190 bytes
    /// an entry.
    @Test func tenThousandWorkersFileSize() throws {
        let directory = try SmallModelFixture.temporaryDirectory("fedavg-aggregated")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = AggregatedBodies(stateDirectory: directory)
        var bodies: [WorkerID: AggregatedBodies.Entry] = [:]
        for index in 0..<10_000 {
            bodies[WorkerID(String(repeating: "0", count: 56) + String(format: "%08x", index))!] = (UInt64.max, digest)
        }
        try file.write(bodies)
        let size = try #require(
            try FileManager.default.attributesOfItem(atPath: file.file.path)[.size] as? Int)
        #expect(size < 2_000_000, "\(size) bytes")
        #expect(try file.read().count == 10_000)
    }

    /// A kill after a round's version is stored but before the cleanup writes the file leaves the round's update
    /// files, with their digests, in `rounds/`. Storing version 2 by hand next to the open round of version 1 gives
    /// the state directory that such a kill leaves.
    @Test func resendAfterKillBeforeFileWrite() throws {
        let directory = try SmallModelFixture.temporaryDirectory("fedavg-aggregated")
        defer { try? FileManager.default.removeItem(at: directory) }
        var writer = SafeTensorsWriter(metadata: UpdateMetadata(numExamples: 1, baseVersion: 1).safetensorsMetadata)
        try writer.add(name: "w", shape: [2], values: [Float(1), 2])
        let update = WorkerUpdate(payload: writer.serialize(), baseVersion: 1, bodySHA256: digest)
        do {
            let strategy = try SmallModelFixture.strategy(in: directory, tensor: "w", maxStaleness: 1)
            _ = try strategy.receiveWorkerUpdate(first, update)
        }
        let stateDirectory = directory.appendingPathComponent("state")
        let spool = RoundSpool(stateDirectory: stateDirectory)
        try #require(spool.storedDigest(of: spool.url(for: first, roundFrom: 1)) == digest)
        let store = ModelVersionStore(stateDirectory: stateDirectory)
        try store.write(try store.read(version: 1), version: 2)

        let restarted = try SmallModelFixture.strategy(in: directory, tensor: "w", maxStaleness: 1)
        #expect(restarted.currentVersion.rawValue == 2)
        let reply = try restarted.receiveWorkerUpdate(first, update)
        #expect(reply.hasPrefix("already aggregated into version 2"), "reply: \(reply)")
        #expect(restarted.state.withLock { $0.round.entries.isEmpty })
    }

    /// A link to a device or a file too large for any real federation is refused before it is read.
    @Test func onlyRegularFilesOfBoundedSizeAreRead() throws {
        let directory = try SmallModelFixture.temporaryDirectory("fedavg-aggregated")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = AggregatedBodies(stateDirectory: directory)
        try FileManager.default.createSymbolicLink(atPath: file.file.path, withDestinationPath: "/dev/null")
        #expect(throws: AggregatedBodies.Unreadable.self) { try file.read() }
        try FileManager.default.removeItem(at: file.file)
        #expect(FileManager.default.createFile(atPath: file.file.path, contents: nil))
        #expect(truncate(file.file.path, off_t(AggregatedBodies.maximumFileBytes + 1)) == 0)
        #expect(throws: AggregatedBodies.Unreadable.self) { try file.read() }
    }
}
