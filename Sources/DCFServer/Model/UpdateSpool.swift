// SPDX-License-Identifier: Apache-2.0
public import Foundation
import DCFProtocol
import Synchronization

/// The directory `<state>/spool` holding update bodies while they arrive and their decoded payloads while the
/// strategy runs, so an upload's size costs disk rather than memory.
public struct UpdateSpool: Sendable {
    /// The spool directory.
    public let directory: URL

    /// The path is standardized (no `.` or `..` parts), because the pool of kept files is shared by path.
    public init(stateDirectory: URL) {
        directory = stateDirectory.standardizedFileURL.appendingPathComponent("spool", isDirectory: true)
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

    /// Creates a file in the spool directory and returns its URL. A file that `recycle` kept is renamed when
    /// there is one, so no new inode is needed. Such a file may still hold an earlier update's bytes: the
    /// caller writes from offset 0 and truncates the file to the length it wrote.
    ///
    /// A new file is created with one `open`: `FileManager.createFile` writes a temporary file and renames it,
    /// which costs a second directory update for every upload.
    func createFile(kind: String) throws -> URL {
        let url = try makeFileURL(kind: kind)
        if let free = Self.pools.withLock({ $0[directory.path]?.take() }), rename(free, url.path) == 0 {
            return url
        }
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SpoolWriteError(call: "create", path: url.path, code: errno) }
        close(descriptor)
        return url
    }

    /// Files kept for reuse, by spool directory path.
    private static let pools = Mutex<[String: FreeFilePool]>([:])

    /// The maximum number of files kept per spool directory. Files beyond it are deleted.
    public static let maximumFreeFiles = 20_000

    /// The bytes that kept files may hold, per spool directory, unless `setReuseLimit` sets another figure.
    public static let defaultReuseLimit = 16 << 30

    /// Sets how many bytes the files kept for reuse may hold in all; files beyond it are kept empty.
    ///
    /// Keeping a file's bytes keeps its pages in the page cache, so the next upload overwrites cached pages
    /// instead of filling new ones. In 300 × 13 MB rounds on a virtual machine that cut the server's CPU time
    /// by about 30 %. There, filling a page that was freed a few seconds earlier cost about 1.2 ms per MB,
    /// likely because the guest hands freed pages back to the host. The price is disk space: between rounds,
    /// the kept files take up to `bytes` that later uploads overwrite.
    public func setReuseLimit(_ bytes: Int) {
        Self.pools.withLock { $0[directory.path, default: FreeFilePool()].reuseLimit = max(0, bytes) }
    }

    /// Disposes of `file`, a spool or round file on the same file system that nothing needs any more. Keeps it
    /// in the spool directory for `createFile`: with its bytes while they fit the limit of `setReuseLimit`,
    /// emptied otherwise. Deletes it when the pool is full or keeping it fails.
    ///
    /// ext4 without a journal does not reuse an inode within 60 seconds of its deletion (`recently_deleted` in
    /// the kernel's `fs/ext4/ialloc.c`), so a file created after thousands were deleted has the allocator skip
    /// over all of them. On such a file system, reusing files saved about a tenth of the server's CPU in rounds
    /// of 1000 updates of 1 MB. A journaled ext4 does not skip; there the gain was not measured.
    ///
    /// NOTE: a kept file is overwritten by a later upload, and an emptied one invalidates every memory mapping
    /// of it (reading such a mapping raises SIGBUS). Upload files are handed to strategies mapped
    /// (`mappedContents(of:)`), which may keep them, so the server deletes those instead. Only a strategy that
    /// keeps no mapping of a file may recycle it.
    public func recycle(_ file: URL) {
        let path = file.path
        var info = stat()
        // Only a regular file may be handed to an upload. A directory or a symbolic link left in a round directory
        // by hand is deleted, the link without its target.
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, let target = try? makeFileURL(kind: "free")
        else {
            try? FileManager.default.removeItem(atPath: path)
            return
        }
        let size = Int(info.st_size)
        let keptSize = Self.pools.withLock { $0[directory.path, default: FreeFilePool()].reserve(size) }
        guard let keptSize, keptSize == size || truncate(path, 0) == 0, rename(path, target.path) == 0 else {
            if let keptSize { Self.pools.withLock { $0[directory.path]?.release(keptSize) } }
            unlink(path)
            return
        }
        Self.pools.withLock { $0[directory.path, default: FreeFilePool()].add(target.path, bytes: keptSize) }
    }

    /// Deletes the files kept for reuse, which a server that stops no longer needs: the next start deletes
    /// every spool file anyway. Call it once no upload runs and the strategy's `serverDidStop` has returned.
    public func removeKeptFiles() {
        let paths = Self.pools.withLock { pools -> [String] in
            var paths: [String] = []
            while let path = pools[directory.path]?.take() { paths.append(path) }
            return paths
        }
        for path in paths { unlink(path) }
    }

    /// Deletes every file left by an earlier process, which cannot belong to an upload still in progress.
    /// Call it before the server accepts connections.
    public func removeLeftovers() throws {
        Self.pools.withLock { $0[directory.path]?.removeAll() }
        let manager = FileManager.default
        guard manager.fileExists(atPath: directory.path) else { return }
        for name in try manager.contentsOfDirectory(atPath: directory.path) {
            try manager.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    /// Returns whether `error`, from writing a spool file directly or through Foundation, is a full disk or an
    /// exhausted quota (`ENOSPC`, `EDQUOT`).
    static func isOutOfSpace(_ error: any Error) -> Bool {
        let outOfSpace: Set<Int> = [Int(ENOSPC), Int(EDQUOT)]
        if let error = error as? SpoolWriteError { return outOfSpace.contains(Int(error.code)) }
        var current: NSError? = error as NSError
        // Foundation wraps the system's error in a CocoaError, with the POSIX error under NSUnderlyingErrorKey.
        for _ in 0..<3 {
            guard let checked = current else { return false }
            if checked.domain == NSPOSIXErrorDomain { return outOfSpace.contains(checked.code) }
            current = (checked.userInfo[NSUnderlyingErrorKey] as? any Error).map { $0 as NSError }
        }
        return false
    }

    /// The reply to an upload that a full disk kept from the spool: 503, which workers retry, because the update
    /// was not taken and space may come back.
    static let diskFullResponse = DCFErrorResponse(
        .unavailable, "the server's disk is full, so it cannot store the update now; send it again later")

    /// Maps `file` into memory, so its pages load on access and count as file cache rather than process memory.
    static func mappedContents(of file: URL) throws -> Data {
        let size = try file.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0
        // mmap rejects an empty length.
        guard size > 0 else { return Data() }
        return try Data(contentsOf: file, options: .alwaysMapped)
    }
}

/// The files one spool directory keeps for reuse, and the bytes they hold.
private struct FreeFilePool {
    private var files: [(path: String, bytes: Int)] = []
    /// Bytes held by kept files, counting those that `reserve` promised to files on their way in.
    private var keptBytes = 0
    var reuseLimit = UpdateSpool.defaultReuseLimit

    /// Takes a kept file, the most recently kept first, whose pages are the likeliest to be cached.
    mutating func take() -> String? {
        guard let file = files.popLast() else { return nil }
        keptBytes -= file.bytes
        return file.path
    }

    /// Makes room for a file of `size` bytes. Returns the bytes it may keep, `size` or 0 when they would pass
    /// the limit, or nil when the pool has as many files as it may.
    mutating func reserve(_ size: Int) -> Int? {
        guard files.count < UpdateSpool.maximumFreeFiles else { return nil }
        let kept = keptBytes + size <= reuseLimit ? size : 0
        keptBytes += kept
        return kept
    }

    /// Gives back bytes that `reserve` promised to a file that did not join the pool.
    mutating func release(_ bytes: Int) {
        keptBytes -= bytes
    }

    mutating func add(_ path: String, bytes: Int) {
        files.append((path, bytes))
    }

    /// Forgets every file, for a directory whose files were deleted.
    mutating func removeAll() {
        files.removeAll()
        keptBytes = 0
    }
}
