// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import Foundation

/// Each worker's newest update that a published version contains, by the SHA-256 of its request body, with the
/// version. A resend of such an update, after a lost reply or a 503, gets "already aggregated" instead of joining
/// a later round as a second copy.
///
/// A copy lives in `<state>/aggregated-bodies.json`, so a restarted server still recognises those resends. The
/// file is written after each round on the strategy's cleanup queue, once the new version is stored and before the
/// round's update files are deleted. After a crash in between, start-up takes the last round's digests from those
/// files, so only an update stored without its digest (no user extended attributes) then counts again.
struct AggregatedBodies {
    typealias Entry = (version: UInt64, bodySHA256: String)

    let file: URL

    init(stateDirectory: URL) {
        file = stateDirectory.appendingPathComponent("aggregated-bodies.json")
    }

    /// Drops the entries that no update can match any more while `current` is the newest version. An update
    /// whose bytes a version V contains was trained from V - 1 or earlier, so once `current - (V - 1)` passes
    /// `maxStaleness`, any copy of it is rejected as stale before its digest matters. With `maxStaleness` 0 no
    /// entry is kept.
    static func pruned(_ bodies: [WorkerID: Entry], current: UInt64, maxStaleness: UInt64) -> [WorkerID: Entry] {
        bodies.filter { $0.value.version <= current && $0.value.version &+ maxStaleness > current }
    }

    /// Replaces the file with `bodies`, or deletes it when `bodies` is empty.
    func write(_ bodies: [WorkerID: Entry]) throws {
        guard !bodies.isEmpty else {
            if unlink(file.path) != 0, errno != ENOENT {
                throw SystemCallError(call: "unlink", subject: file.path, errno: errno)
            }
            return
        }
        let records = bodies.sorted { $0.key.rawValue < $1.key.rawValue }.map { worker, entry in
            Record(worker: worker.rawValue, version: entry.version, bodySHA256: entry.bodySHA256)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(try encoder.encode(Contents(updates: records)), to: file.path)
    }

    /// The error of `read()` when a directory has the file's name. `rename(2)` cannot replace a directory with a
    /// file, so every write after a round fails until the directory is removed.
    struct DirectoryInPlace: Error {}

    /// The largest file `read()` reads: about 10 times the 19 MB that 100,000 workers' entries take, at about
    /// 190 bytes each (measured with 10,000 entries).
    static let maximumFileBytes = 192 << 20

    /// The error of `read()` for something other than a regular file of at most `maximumFileBytes`, such as a
    /// link to a device, which could otherwise be read without end.
    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads the file; without a file there are no entries.
    ///
    /// - Throws: `DirectoryInPlace` when a directory has the file's name, and another error when the file cannot be
    ///   read or is not a list of worker ids, versions and 64-digit hex digests.
    func read() throws -> [WorkerID: Entry] {
        var status = stat()
        guard stat(file.path, &status) == 0 else {
            if errno == ENOENT { return [:] }
            throw SystemCallError(call: "stat", subject: file.path, errno: errno)
        }
        let type = status.st_mode & S_IFMT
        if type == S_IFDIR { throw DirectoryInPlace() }
        guard type == S_IFREG else { throw Unreadable(description: "not a regular file") }
        guard Int(status.st_size) <= Self.maximumFileBytes else {
            throw Unreadable(description: "larger than \(Self.maximumFileBytes) bytes (\(status.st_size))")
        }
        let contents = try JSONDecoder().decode(Contents.self, from: Data(contentsOf: file))
        var bodies: [WorkerID: Entry] = [:]
        for record in contents.updates {
            guard let worker = WorkerID(record.worker), worker.rawValue == record.worker,
                record.bodySHA256.count == 64, record.bodySHA256.allSatisfy({ $0.isASCII && $0.isHexDigit && !$0.isUppercase })
            else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: [], debugDescription: "an entry is not a worker id with a 64-digit hex digest"))
            }
            bodies[worker] = (record.version, record.bodySHA256)
        }
        return bodies
    }

    private struct Contents: Codable {
        let updates: [Record]
    }

    private struct Record: Codable {
        let worker: String
        let version: UInt64
        let bodySHA256: String

        enum CodingKeys: String, CodingKey {
            case worker, version
            case bodySHA256 = "body_sha256"
        }
    }
}
