// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import Foundation

/// Accepted updates of the open round, one file per worker in `<state>/rounds/from-v<N>/`, where N is
/// the version the round started from. The directory name ties files to their round, so after a crash
/// only the open round's updates are folded again and older ones are dropped.
struct RoundSpool {
    let roundsDirectory: URL

    init(stateDirectory: URL) {
        roundsDirectory = stateDirectory.appendingPathComponent("rounds")
    }

    func directory(forRoundFrom version: UInt64) -> URL {
        roundsDirectory.appendingPathComponent("from-v\(version)")
    }

    func url(for worker: WorkerID, roundFrom version: UInt64) -> URL {
        directory(forRoundFrom: version).appendingPathComponent("\(worker.rawValue).safetensors")
    }

    /// Stores a worker's accepted update durably, replacing its earlier one of the same round.
    /// `payloadFile`, when given, is moved instead of writing `payload` again.
    func store(_ payload: Data, payloadFile: URL?, worker: WorkerID, roundFrom version: UInt64) throws -> URL {
        let directory = directory(forRoundFrom: version)
        let target = url(for: worker, roundFrom: version)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            if let payloadFile, Self.synchronize(payloadFile.path), rename(payloadFile.path, target.path) == 0 {
                try AtomicFile.syncDirectory(directory.path)
            } else {
                try AtomicFile.write(payload, to: target.path)
            }
        } catch {
            throw FedAvgError.storage("store update in", target.path, String(describing: error))
        }
        return target
    }

    /// Flushes a file's contents to disk; false when it cannot be opened or flushed.
    private static func synchronize(_ path: String) -> Bool {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return fsync(descriptor) == 0
    }

    /// Returns the stored updates of the round that started from `version`, by worker.
    func storedUpdates(roundFrom version: UInt64) throws -> [(worker: WorkerID, url: URL)] {
        let directory = directory(forRoundFrom: version)
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted().compactMap { name in
            guard name.hasSuffix(".safetensors"), let worker = WorkerID(name.dropLast(".safetensors".count)) else {
                return nil
            }
            return (worker, directory.appendingPathComponent(name))
        }
    }

    /// Deletes every round directory except the one of the round that starts from `version`.
    func removeRounds(except version: UInt64) {
        let keep = "from-v\(version)"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: roundsDirectory.path)) ?? []
        for name in names where name != keep {
            try? FileManager.default.removeItem(at: roundsDirectory.appendingPathComponent(name))
        }
    }
}
