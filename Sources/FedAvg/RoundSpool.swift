// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFServer
import DCFSupport
import Foundation

/// Accepted updates of the open round, one file per worker in `<state>/rounds/from-v<N>/`, where N is
/// the version the round started from. The directory name ties files to their round, so after a crash
/// only the open round's updates are folded again and older ones are dropped.
struct RoundSpool {
    let roundsDirectory: URL
    /// The spool of the same state directory, which takes the files of aggregated rounds for reuse.
    let updateSpool: UpdateSpool

    init(stateDirectory: URL) {
        roundsDirectory = stateDirectory.appendingPathComponent("rounds")
        updateSpool = UpdateSpool(stateDirectory: stateDirectory)
    }

    func directory(forRoundFrom version: UInt64) -> URL {
        roundsDirectory.appendingPathComponent("from-v\(version)")
    }

    func url(for worker: WorkerID, roundFrom version: UInt64) -> URL {
        directory(forRoundFrom: version).appendingPathComponent("\(worker.rawValue).safetensors")
    }

    /// The user extended attribute of an update file that stores the SHA-256 of the request body it came from, as
    /// its 32 bytes, so a restart can recognise a resend of an update it recovered without reading the file. On
    /// ext4 with 256-byte inodes a value of this size fits inside the inode; 64 hex digits would take a block of
    /// their own for every update file.
    static let bodyDigestAttribute = "user.dcf.body_sha256"

    /// Returns the attribute's value, 32 bytes, for a body digest given as 64 hex digits.
    static func attributeValue(bodySHA256: String) -> [UInt8] {
        (try? Hex.decode(bodySHA256)) ?? []
    }

    /// Whether an update file carries its body digest.
    enum DigestStorage: Equatable {
        case stored
        /// The file system does not support extended attributes, so the file has no digest.
        case unsupported
        /// Setting the attribute failed with the error described, such as `EACCES` from a security module, so the
        /// file has no digest.
        case failed(String)
    }

    /// Flushes a payload file to disk ahead of `store`, outside the strategy's lock, so updates that arrive
    /// together flush in parallel. The body digest is set on the file first, so the flush makes it durable too,
    /// and a file reused from the spool's pool does not keep an earlier update's digest.
    ///
    /// - Returns: nil when the file cannot be opened, given its digest, or flushed. `store` then writes the payload
    ///   to a new file, which keeps no earlier digest when setting one fails there too.
    static func flush(_ payloadFile: URL, bodySHA256: String) -> DigestStorage? {
        let descriptor = open(payloadFile.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard let stored = try? ExtendedAttribute.set(
            bodyDigestAttribute, bytes: attributeValue(bodySHA256: bodySHA256), descriptor: descriptor,
            path: payloadFile.path)
        else { return nil }
        guard fsync(descriptor) == 0 else { return nil }
        return stored ? .stored : .unsupported
    }

    /// Stores a worker's accepted update, replacing its earlier one of the same round.
    ///
    /// `flushedFile`, a payload file already flushed with `flush`, is renamed into the round; then the rename
    /// is durable only after `syncDirectory(_:)` on the returned directory, which the caller runs once it has
    /// released its lock. Without a flushed file, `payload` is written with write-fsync-rename, with
    /// `bodySHA256` set on the file as `flush` does, and nothing is left to sync. A digest that cannot be set does
    /// not fail the store, because a file without one is recognised by its bytes.
    ///
    /// - Returns: the stored file, the directory to sync, and for a payload written here whether its digest
    ///   was stored.
    func store(
        _ payload: Data, flushedFile: URL?, bodySHA256: String, worker: WorkerID, roundFrom version: UInt64
    ) throws -> (url: URL, directoryToSync: URL?, digest: DigestStorage?) {
        let directory = directory(forRoundFrom: version)
        let target = url(for: worker, roundFrom: version)
        do {
            try AtomicFile.createDirectory(directory.path)
            if let flushedFile, rename(flushedFile.path, target.path) == 0 {
                return (target, directory, nil)
            }
            var digest = DigestStorage.unsupported
            try AtomicFile.write(to: target.path) { (file) throws(SystemCallError) in
                try file.append(payload)
                do {
                    if try file.setExtendedAttribute(
                        Self.bodyDigestAttribute, bytes: Self.attributeValue(bodySHA256: bodySHA256)) { digest = .stored }
                } catch {
                    digest = .failed(String(describing: error))
                }
            }
            return (target, nil, digest)
        } catch {
            throw FedAvgError.storage("store update in", target.path, String(describing: error))
        }
    }

    /// Sets the body digest of a stored update file that has none and flushes the file. Does nothing on a file
    /// system without extended attributes.
    func storeDigest(_ bodySHA256: String, of url: URL) throws {
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemCallError(call: "open", subject: url.path, errno: errno) }
        defer { close(descriptor) }
        let stored = try ExtendedAttribute.set(
            Self.bodyDigestAttribute, bytes: Self.attributeValue(bodySHA256: bodySHA256), descriptor: descriptor,
            path: url.path)
        guard stored else { return }
        guard fsync(descriptor) == 0 else { throw SystemCallError(call: "fsync", subject: url.path, errno: errno) }
    }

    /// Returns the body digest stored with an update file, or an empty string when it has none. A file has none
    /// on a file system without extended attributes, when an older server version stored it, or when the value is
    /// not 32 bytes.
    func storedDigest(of url: URL) -> String {
        guard let value = try? ExtendedAttribute.bytes(of: Self.bodyDigestAttribute, path: url.path), value.count == 32
        else { return "" }
        return Hex.encode(value)
    }

    /// Makes the renames of `store` in `directory` durable. A directory that is gone belonged to a round
    /// that has since been aggregated into a version written durably, so there is nothing left to sync.
    func syncDirectory(_ directory: URL) throws {
        do {
            try AtomicFile.syncDirectory(directory.path)
        } catch let error where error.errno == ENOENT {
            return
        } catch {
            throw FedAvgError.storage("flush directory", directory.path, String(describing: error))
        }
    }

    /// Returns the stored updates of the round that started from `version`, by worker. Only the names that
    /// `url(for:)` gives are read, because `WorkerID` also accepts capital hex digits, and a copy named with them
    /// would give its worker a second update.
    func storedUpdates(roundFrom version: UInt64) throws -> [(worker: WorkerID, url: URL)] {
        let directory = directory(forRoundFrom: version)
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted().compactMap { name in
            guard name.hasSuffix(".safetensors"), let worker = WorkerID(name.dropLast(".safetensors".count)),
                name == "\(worker.rawValue).safetensors"
            else {
                return nil
            }
            return (worker, directory.appendingPathComponent(name))
        }
    }

    /// Deletes the temporary files that writes into round directories left when their process was killed before
    /// the rename, and returns their paths relative to the state directory. Call it only at start-up, while no
    /// update is being stored.
    func removeLeftovers() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: roundsDirectory.path)) ?? []
        return names.sorted().filter(isRoundDirectory).flatMap { name in
            let removed = AtomicFile.removeLeftovers(in: roundsDirectory.appendingPathComponent(name).path)
            return removed.map { "rounds/\(name)/\($0)" }
        }
    }

    /// Deletes every round directory except the one of the round that starts from `version`. Their update files
    /// go to the spool's pool for reuse, so the next round's uploads need no new inodes.
    func removeRounds(except version: UInt64) {
        let keep = "from-v\(version)"
        removeRounds { $0 != keep }
    }

    /// Deletes the directories of the rounds that started from a version below `version`, and sends their update
    /// files to the spool's pool. Later rounds stay, because this runs on a queue that may fall behind while
    /// the next rounds open and store updates.
    func removeRounds(before version: UInt64) {
        removeRounds { name in
            guard name.hasPrefix("from-v"), let start = UInt64(name.dropFirst("from-v".count)) else { return false }
            return start < version
        }
    }

    private func removeRounds(where shouldRemove: (String) -> Bool) {
        let manager = FileManager.default
        let names = (try? manager.contentsOfDirectory(atPath: roundsDirectory.path)) ?? []
        for name in names where shouldRemove(name) {
            let directory = roundsDirectory.appendingPathComponent(name)
            // A symbolic link goes without what it points to, which the server did not make.
            if isRoundDirectory(name) {
                for file in (try? manager.contentsOfDirectory(atPath: directory.path)) ?? [] {
                    updateSpool.recycle(directory.appendingPathComponent(file))
                }
            }
            try? manager.removeItem(at: directory)
        }
    }

    /// Returns whether `name` in `rounds/` is a directory itself, not a symbolic link to one.
    private func isRoundDirectory(_ name: String) -> Bool {
        var info = stat()
        guard lstat(roundsDirectory.appendingPathComponent(name).path, &info) == 0 else { return false }
        return info.st_mode & S_IFMT == S_IFDIR
    }
}
