// SPDX-License-Identifier: Apache-2.0
@testable import DCFServer
import Foundation
import TestSupport
import Testing

/// Spool files that are no longer needed are reused, with their bytes up to a limit, so uploads need no new
/// inodes and overwrite cached pages.
struct UpdateSpoolRecycleTests {
    private static func inode(_ url: URL) throws -> UInt64 {
        var info = stat()
        guard stat(url.path, &info) == 0 else { throw CocoaError(.fileNoSuchFile) }
        return UInt64(info.st_ino)
    }

    private static func size(_ url: URL) throws -> Int {
        try url.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? -1
    }

    @Test func recycledFileKeepsItsBytesAndInode() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = UpdateSpool(stateDirectory: temporary.url)
        let used = try spool.createFile(kind: "upload")
        try Data(repeating: 7, count: 100_000).write(to: used)
        let usedInode = try Self.inode(used)

        spool.recycle(used)
        #expect(!FileManager.default.fileExists(atPath: used.path))
        let reused = try spool.createFile(kind: "upload")

        #expect(reused != used)
        #expect(try Self.inode(reused) == usedInode)
        #expect(try Data(contentsOf: reused) == Data(repeating: 7, count: 100_000))
    }

    /// A directory that an operator left in a round directory is not kept for reuse: an upload given it would
    /// fail to open it for writing.
    @Test func recycledDirectoryNotReused() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = UpdateSpool(stateDirectory: temporary.url)
        let stray = temporary.url.appendingPathComponent("rounds/from-v1/stray")
        try FileManager.default.createDirectory(at: stray, withIntermediateDirectories: true)

        spool.recycle(stray)
        let created = try spool.createFile(kind: "upload")

        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: created.path, isDirectory: &isDirectory))
        #expect(!isDirectory.boolValue, "the upload was given the recycled directory")
        #expect(!FileManager.default.fileExists(atPath: stray.path))
    }

    @Test func recycledFileIsEmptiedWithNoRoomForItsBytes() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = UpdateSpool(stateDirectory: temporary.url)
        spool.setReuseLimit(0)
        let used = try spool.createFile(kind: "upload")
        try Data(repeating: 7, count: 100_000).write(to: used)
        let usedInode = try Self.inode(used)

        spool.recycle(used)
        let reused = try spool.createFile(kind: "upload")

        #expect(try Self.inode(reused) == usedInode)
        #expect(try Data(contentsOf: reused).isEmpty)
    }

    @Test func limitCountsTheBytesOfEveryKeptFile() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = UpdateSpool(stateDirectory: temporary.url)
        spool.setReuseLimit(150_000)
        var files: [URL] = []
        for _ in 0..<3 {
            let file = try spool.createFile(kind: "upload")
            try Data(repeating: 1, count: 100_000).write(to: file)
            files.append(file)
        }

        // The first fits; the second would pass the limit, so it is emptied.
        spool.recycle(files[0])
        spool.recycle(files[1])
        let emptied = try spool.createFile(kind: "upload")
        #expect(try Self.size(emptied) == 0)
        let full = try spool.createFile(kind: "upload")
        #expect(try Self.size(full) == 100_000)

        // Taking the full file gave its bytes back to the pool, so the next one keeps its bytes.
        spool.recycle(files[2])
        #expect(try Self.size(try spool.createFile(kind: "upload")) == 100_000)
    }

    @Test func removingKeptFilesFreesTheirSpace() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = UpdateSpool(stateDirectory: temporary.url)
        var files: [URL] = []
        for _ in 0..<3 {
            let file = try spool.createFile(kind: "upload")
            try Data(repeating: 1, count: 10_000).write(to: file)
            files.append(file)
        }
        files.forEach(spool.recycle)
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.directory.path).count == 3)

        spool.removeKeptFiles()

        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.directory.path).isEmpty)
        #expect(try Self.size(try spool.createFile(kind: "upload")) == 0)
    }

    @Test func spellingsOfOneDirectoryShareThePool() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = UpdateSpool(stateDirectory: temporary.url)
        let other = UpdateSpool(
            stateDirectory: URL(fileURLWithPath: temporary.url.path + "/./sub/..", isDirectory: true))
        let used = try spool.createFile(kind: "upload")
        let usedInode = try Self.inode(used)

        other.recycle(used)

        #expect(try Self.inode(try spool.createFile(kind: "upload")) == usedInode)
    }

    @Test func recyclingMissingFileKeepsNothing() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let spool = UpdateSpool(stateDirectory: temporary.url)
        let removed = try spool.createFile(kind: "upload")
        try FileManager.default.removeItem(at: removed)

        spool.recycle(removed)
        let fresh = try spool.createFile(kind: "upload")

        #expect(try Data(contentsOf: fresh).isEmpty)
        let names = try FileManager.default.contentsOfDirectory(atPath: spool.directory.path)
        #expect(names == [fresh.lastPathComponent])
    }
}
