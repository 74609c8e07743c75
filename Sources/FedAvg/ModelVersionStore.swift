// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation

/// Global model versions on disk: `<state>/models/v<N>.safetensors`, each written with
/// write-fsync-rename before it is served, never changed afterwards.
struct ModelVersionStore {
    let directory: URL

    init(stateDirectory: URL) {
        directory = stateDirectory.appendingPathComponent("models")
    }

    func url(for version: UInt64) -> URL {
        directory.appendingPathComponent("v\(version).safetensors")
    }

    /// Returns the highest stored version, or nil when none is stored.
    func latestVersion() throws -> UInt64? {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        return names.compactMap(Self.version(fromFileName:)).max()
    }

    /// Writes `bytes` as `version` durably; the file appears complete or not at all.
    func write(_ bytes: Data, version: UInt64) throws {
        let path = url(for: version).path
        do {
            try AtomicFile.write(bytes, to: path)
        } catch {
            throw FedAvgError.storage("write model version", path, String(describing: error))
        }
    }

    /// Writes a version durably from `prefix` and then each of `parts` in turn, so only one part is in
    /// memory at a time; the file appears complete or not at all.
    func write(prefix: Data, parts: [() -> [UInt8]], version: UInt64) throws {
        let path = url(for: version).path
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try AtomicFile.write(to: path) { (file) throws(SystemCallError) in
                try file.append(prefix)
                for part in parts { try file.append(part()) }
            }
        } catch {
            throw FedAvgError.storage("write model version", path, String(describing: error))
        }
    }

    func read(version: UInt64) throws -> Data {
        let path = url(for: version).path
        do {
            // Mapped: the server sends versions from their files, so most pages are never touched here.
            return try Data(contentsOf: url(for: version), options: .alwaysMapped)
        } catch {
            throw FedAvgError.storage("read model version", path, error.localizedDescription)
        }
    }

    /// Deletes every stored version older than the newest `count` up to `latest`; returns the versions it
    /// deleted. A download already sending a deleted version keeps its open file and finishes.
    func removeVersions(keepingNewest count: Int, upTo latest: UInt64) throws -> [UInt64] {
        guard count > 0, latest > UInt64(count) else { return [] }
        let oldestKept = latest - UInt64(count) + 1
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        var removed: [UInt64] = []
        for version in names.compactMap(Self.version(fromFileName:)).sorted() where version < oldestKept {
            let path = url(for: version).path
            do {
                try FileManager.default.removeItem(atPath: path)
            } catch {
                throw FedAvgError.storage("delete old model version", path, error.localizedDescription)
            }
            removed.append(version)
        }
        return removed
    }

    static func version(fromFileName name: String) -> UInt64? {
        guard name.hasPrefix("v"), name.hasSuffix(".safetensors") else { return nil }
        return UInt64(name.dropFirst().dropLast(".safetensors".count))
    }
}
