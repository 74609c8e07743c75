// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import Foundation
import TestSupport
import Testing
@testable import FedAvg

/// Storing accepted updates in the round directory: a flushed file is renamed in and its directory is left
/// for the caller to sync; anything else is written durably in place.
@Suite struct RoundSpoolTests {
    private let worker = WorkerID("cccccccc03")!
    private let digest = String(repeating: "0123456789abcdef", count: 4)

    @Test func flushedFileIsRenamedIntoTheRound() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = RoundSpool(stateDirectory: temporary.url)
        let file = temporary.url.appendingPathComponent("upload-1")
        try Data([1, 2, 3]).write(to: file)
        #expect(RoundSpool.flush(file, bodySHA256: digest) == .stored)

        let (url, directoryToSync, stored) = try spool.store(
            Data(), flushedFile: file, bodySHA256: digest, worker: worker, roundFrom: 4)
        #expect(stored == nil)
        #expect(url == spool.url(for: worker, roundFrom: 4))
        #expect(directoryToSync?.path == spool.directory(forRoundFrom: 4).path)
        #expect(try Data(contentsOf: url) == Data([1, 2, 3]))
        #expect(!FileManager.default.fileExists(atPath: file.path))
        try spool.syncDirectory(try #require(directoryToSync))
        #expect(spool.storedDigest(of: url) == digest)
    }

    @Test func payloadWithoutFileIsWrittenAndNeedsNoSync() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = RoundSpool(stateDirectory: temporary.url)

        let (url, directoryToSync, stored) = try spool.store(
            Data([9, 8]), flushedFile: nil, bodySHA256: digest, worker: worker, roundFrom: 1)
        #expect(directoryToSync == nil)
        #expect(stored == .stored)
        #expect(try Data(contentsOf: url) == Data([9, 8]))
        #expect(spool.storedDigest(of: url) == digest)
    }

    @Test func missingFileFallsBackToThePayload() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = RoundSpool(stateDirectory: temporary.url)
        let gone = temporary.url.appendingPathComponent("never-written")
        #expect(RoundSpool.flush(gone, bodySHA256: digest) == nil)

        let (url, directoryToSync, _) = try spool.store(
            Data([7]), flushedFile: gone, bodySHA256: digest, worker: worker, roundFrom: 1)
        #expect(directoryToSync == nil)
        #expect(try Data(contentsOf: url) == Data([7]))
    }

    @Test func syncOfAnAggregatedRoundIsANoOp() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = RoundSpool(stateDirectory: temporary.url)
        _ = try spool.store(Data([5]), flushedFile: nil, bodySHA256: digest, worker: worker, roundFrom: 2)
        spool.removeRounds(except: 3)

        #expect(!FileManager.default.fileExists(atPath: spool.directory(forRoundFrom: 2).path))
        try spool.syncDirectory(spool.directory(forRoundFrom: 2))
    }

    @Test func syncOfAFileThatIsNotADirectoryFails() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = RoundSpool(stateDirectory: temporary.url)
        let notDirectory = temporary.url.appendingPathComponent("plain-file")
        try Data([1]).write(to: notDirectory)

        #expect(throws: FedAvgError.self) { try spool.syncDirectory(notDirectory) }
    }

    @Test func aggregatedRoundFilesGoToTheSpoolPool() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = RoundSpool(stateDirectory: temporary.url)
        let file = temporary.url.appendingPathComponent("upload-1")
        try Data(repeating: 1, count: 4096).write(to: file)
        _ = try spool.store(Data(), flushedFile: file, bodySHA256: digest, worker: worker, roundFrom: 4)
        try FileManager.default.createDirectory(at: spool.directory(forRoundFrom: 5), withIntermediateDirectories: true)

        spool.removeRounds(except: 5)

        #expect(!FileManager.default.fileExists(atPath: spool.directory(forRoundFrom: 4).path))
        #expect(FileManager.default.fileExists(atPath: spool.directory(forRoundFrom: 5).path))
        let pooled = try FileManager.default.contentsOfDirectory(atPath: spool.updateSpool.directory.path)
        #expect(pooled.count == 1)
        #expect(pooled.allSatisfy { $0.hasPrefix("free-") })
        let size = try FileManager.default.attributesOfItem(
            atPath: spool.updateSpool.directory.appendingPathComponent(pooled[0]).path)[.size] as? Int
        // Within the default reuse limit the file keeps its bytes for the next upload to overwrite.
        #expect(size == 4096)
    }

    /// A file reused from the spool's pool still carries the digest of the update it held before. Flushing it for
    /// the next update replaces that digest.
    @Test func flushReplacesDigestOfReusedFile() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = RoundSpool(stateDirectory: temporary.url)
        let file = temporary.url.appendingPathComponent("upload-1")
        try Data([1]).write(to: file)
        #expect(RoundSpool.flush(file, bodySHA256: digest) == .stored)
        let next = String(repeating: "f", count: 64)

        #expect(RoundSpool.flush(file, bodySHA256: next) == .stored)
        #expect(spool.storedDigest(of: file) == next)
    }

    /// A digest stored later, for a recovered file that had none, is read back at the next restart.
    @Test func digestStoredOnFileWithoutOne() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = RoundSpool(stateDirectory: temporary.url)
        let file = temporary.url.appendingPathComponent("stored.safetensors")
        try Data([1]).write(to: file)
        #expect(spool.storedDigest(of: file) == "")

        try spool.storeDigest(digest.uppercased(), of: file)
        #expect(spool.storedDigest(of: file) == digest)
    }

    /// Only a value of 32 bytes counts as a digest, so any other value set on the file by hand, the digest as 64 hex
    /// digits among them, reads as none.
    @Test func invalidDigestReadsAsNone() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = RoundSpool(stateDirectory: temporary.url)
        let file = temporary.url.appendingPathComponent("stored.safetensors")
        try Data([1]).write(to: file)
        let descriptor = open(file.path, O_RDONLY | O_CLOEXEC)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        let values: [[UInt8]] = [[], [1, 2, 3], Array(repeating: 7, count: 31), Array(repeating: 7, count: 33), Array(digest.utf8)]
        for value in values {
            try ExtendedAttribute.set(RoundSpool.bodyDigestAttribute, bytes: value, descriptor: descriptor, path: file.path)
            #expect(spool.storedDigest(of: file) == "", "value of \(value.count) bytes")
        }
        try ExtendedAttribute.set(
            RoundSpool.bodyDigestAttribute, bytes: RoundSpool.attributeValue(bodySHA256: digest), descriptor: descriptor,
            path: file.path)
        #expect(spool.storedDigest(of: file) == digest)
    }

    /// A symbolic link in `rounds/` is not a round the server made. Neither the start-up cleanup nor the removal of
    /// old rounds touches what it points to, and only the link is removed.
    @Test func linkedRoundDirectoryKeepsItsTarget() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = RoundSpool(stateDirectory: temporary.url.appendingPathComponent("state"))
        let outside = temporary.url.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        let names = [".update.safetensors.tmp-abcdef", "\(worker.rawValue).safetensors"]
        for name in names { try Data([1]).write(to: outside.appendingPathComponent(name)) }
        try FileManager.default.createDirectory(at: spool.roundsDirectory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            at: spool.directory(forRoundFrom: 9), withDestinationURL: outside)

        #expect(spool.removeLeftovers() == [])
        spool.removeRounds(except: 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path).sorted() == names.sorted())
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.roundsDirectory.path) == [])
    }
}
