// SPDX-License-Identifier: Apache-2.0
public import Foundation
import Synchronization

/// The directory `<state>/spool` holding update bodies while they arrive and their decoded payloads while the
/// strategy runs, so an upload's size costs disk rather than memory.
public struct UpdateSpool: Sendable {
    /// The spool directory.
    public let directory: URL

    public init(stateDirectory: URL) {
        directory = stateDirectory.appendingPathComponent("spool", isDirectory: true)
    }

    /// Returns a new, unused file name in the spool directory, creating the directory when missing.
    ///
    /// Names come from a process-wide counter, not from random UUIDs: `UUID()` reads the system's random
    /// source, which can fail when file descriptors run out, and then returns the same all-zero UUID to
    /// every caller.
    func makeFileURL(kind: String) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let number = Self.nextNumber.add(1, ordering: .relaxed).newValue
        return directory.appendingPathComponent("\(kind)-\(getpid())-\(number)")
    }

    private static let nextNumber = Atomic<UInt64>(0)

    /// Creates a new, empty file in the spool directory and returns its URL. An emptied file that `recycle`
    /// kept is renamed when there is one, so no new inode is needed.
    ///
    /// A new file is created with one `open`: `FileManager.createFile` writes a temporary file and renames it,
    /// which costs a second directory update for every upload.
    func createFile(kind: String) throws -> URL {
        let url = try makeFileURL(kind: kind)
        if let free = Self.freeFiles.withLock({ $0[directory.path]?.popLast() }), rename(free, url.path) == 0 {
            return url
        }
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SpoolWriteError(call: "create", path: url.path, code: errno) }
        close(descriptor)
        return url
    }

    /// Empty files kept for reuse, by spool directory path.
    private static let freeFiles = Mutex<[String: [String]]>([:])

    /// The maximum number of emptied files kept per spool directory. Files beyond it are deleted.
    public static let maximumFreeFiles = 20_000

    /// Disposes of `file`, a spool or round file on the same file system that nothing needs any more: empties
    /// it and keeps it in the spool directory for `createFile`, or deletes it when the pool is full or that
    /// fails.
    ///
    /// ext4 without a journal does not reuse an inode within 60 seconds of its deletion (`recently_deleted` in
    /// the kernel's `fs/ext4/ialloc.c`), so a file created after thousands were deleted has the allocator skip
    /// over all of them. On such a file system, reusing files saved about a tenth of the server's CPU in rounds
    /// of 1000 updates of 1 MB. A journaled ext4 does not skip; there the gain was not measured. A kept file
    /// holds an inode but no data blocks.
    ///
    /// NOTE: emptying a file invalidates every memory mapping of it, and reading such a mapping then raises
    /// SIGBUS. Upload files are handed to strategies mapped (`mappedContents(of:)`), which may keep them, so the
    /// server deletes those instead. Only a strategy that keeps no mapping of a file may recycle it.
    public func recycle(_ file: URL) {
        let path = file.path
        let hasRoom = Self.freeFiles.withLock { $0[directory.path, default: []].count < Self.maximumFreeFiles }
        guard hasRoom, let target = try? makeFileURL(kind: "free"), truncate(path, 0) == 0,
            rename(path, target.path) == 0
        else {
            unlink(path)
            return
        }
        Self.freeFiles.withLock { $0[directory.path, default: []].append(target.path) }
    }

    /// Deletes every file left by an earlier process, which cannot belong to an upload still in progress.
    /// Call it before the server accepts connections.
    public func removeLeftovers() throws {
        let manager = FileManager.default
        guard manager.fileExists(atPath: directory.path) else { return }
        for name in try manager.contentsOfDirectory(atPath: directory.path) {
            try manager.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    /// Maps `file` into memory, so its pages load on access and count as file cache rather than process memory.
    static func mappedContents(of file: URL) throws -> Data {
        let size = try file.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0
        // mmap rejects an empty length.
        guard size > 0 else { return Data() }
        return try Data(contentsOf: file, options: .alwaysMapped)
    }
}
