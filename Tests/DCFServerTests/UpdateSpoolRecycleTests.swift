// SPDX-License-Identifier: Apache-2.0
@testable import DCFServer
import Foundation
import TestSupport
import Testing

/// Spool files that are no longer needed are emptied and reused, so uploads need no new inodes.
struct UpdateSpoolRecycleTests {
    private static func inode(_ url: URL) throws -> UInt64 {
        var info = stat()
        guard stat(url.path, &info) == 0 else { throw CocoaError(.fileNoSuchFile) }
        return UInt64(info.st_ino)
    }

    @Test func recycledFileIsEmptiedAndReused() throws {
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
        #expect(try Data(contentsOf: reused).isEmpty)
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
