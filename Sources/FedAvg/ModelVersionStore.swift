// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
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
    ///
    /// - Throws: `FedAvgError` naming the directory when it cannot be created or listed.
    func latestVersion() throws -> UInt64? {
        let names: [String]
        do {
            try AtomicFile.createDirectory(directory.path)
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw FedAvgError.storage(
                "list the model versions in", directory.path,
                "\(Self.reason(error)). Make it a directory that the server can read and write")
        }
        return names.compactMap(Self.version(fromFileName:)).max()
    }

    /// Returns the system's reason for a failed file operation: the POSIX error under a Foundation error, which
    /// otherwise prints as an error object.
    static func reason(_ error: any Error) -> String {
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? any Error {
            let posix = underlying as NSError
            if posix.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(posix.code))) }
        }
        return String(describing: error)
    }

    /// The user extended attribute of a version file that stores the SHA-256 of the file's bytes, as its 32 bytes,
    /// so that start-up can tell a file changed on disk from the one written.
    static let contentDigestAttribute = "user.dcf.sha256"

    /// Writes `bytes` as `version` durably; the file appears complete or not at all.
    func write(_ bytes: Data, version: UInt64) throws {
        try write(prefix: bytes, parts: [], version: version)
    }

    /// Writes a version durably from `prefix` and then each of `parts` in turn, so only one part is in
    /// memory at a time; the file appears complete or not at all. The file gets the SHA-256 of its bytes in
    /// `contentDigestAttribute` where the file system allows it.
    func write(prefix: Data, parts: [() -> [UInt8]], version: UInt64) throws {
        let path = url(for: version).path
        let hasher = try SHA256Hasher()
        do {
            try AtomicFile.createDirectory(directory.path)
            try AtomicFile.write(to: path) { (file) throws(SystemCallError) in
                try file.append(prefix)
                try? hasher.update(prefix)
                for part in parts {
                    let bytes = part()
                    try file.append(bytes)
                    try? hasher.update(bytes)
                }
                // A version without the attribute is served all the same; start-up then cannot check it.
                if let digest = try? hasher.finalize() {
                    _ = try? file.setExtendedAttribute(Self.contentDigestAttribute, bytes: digest.bytes)
                }
            }
        } catch {
            throw FedAvgError.storage("write model version", path, String(describing: error))
        }
    }

    /// Returns a description of the damage when `bytes`, read from `version`, no longer have the SHA-256 stored
    /// with the file. Returns nil when they have it, and when the file has no stored digest.
    func contentChange(of bytes: Data, version: UInt64) -> String? {
        let path = url(for: version).path
        guard let stored = try? ExtendedAttribute.bytes(of: Self.contentDigestAttribute, path: path),
            stored.count == SHA256Digest.byteCount, let digest = try? SHA256.hash(bytes), digest.bytes != stored
        else { return nil }
        return "cannot use model \(path): its bytes no longer have the SHA-256 stored when it was written "
            + "(\(Hex.encode(stored)), now \(digest.hexString)), so the file changed on disk"
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

    /// Deletes every stored version older than the newest `count` up to `latest`. A file that cannot be
    /// deleted is skipped and reported, so the others still go. A download already sending a deleted version
    /// keeps its open file and finishes.
    func removeVersions(
        keepingNewest count: Int, upTo latest: UInt64
    ) throws -> (removed: [UInt64], failures: [FedAvgError]) {
        guard count > 0, latest > UInt64(count) else { return ([], []) }
        let oldestKept = latest - UInt64(count) + 1
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        let old = names.compactMap { name in Self.version(fromFileName: name).map { (version: $0, name: name) } }
            .filter { $0.version < oldestKept }.sorted { $0.version < $1.version }
        var removed: [UInt64] = []
        var failures: [FedAvgError] = []
        for file in old {
            let path = directory.appendingPathComponent(file.name).path
            if let problem = Self.deleteIfPresent(path) {
                failures.append(FedAvgError.storage("delete old model version", path, problem))
            } else {
                removed.append(file.version)
            }
        }
        return (removed, failures)
    }

    /// Deletes the file at `path`; returns why that failed, or nil when it is gone. A file already gone counts as
    /// deleted, because at start-up the recovered round's aggregation may delete the same old versions at once.
    static func deleteIfPresent(_ path: String) -> String? {
        guard unlink(path) != 0, errno != ENOENT else { return nil }
        return String(cString: strerror(errno))
    }

    /// Deletes the temporary files of version writes that a killed process left behind; returns their names.
    func removeLeftovers() -> [String] {
        AtomicFile.removeLeftovers(in: directory.path)
    }

    /// The version of a file named `v<N>.safetensors`, with N in decimal digits and no leading zero.
    static func version(fromFileName name: String) -> UInt64? {
        guard name.hasPrefix("v"), name.hasSuffix(".safetensors") else { return nil }
        let digits = name.dropFirst().dropLast(".safetensors".count)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
            let version = UInt64(digits), String(version) == digits
        else { return nil }
        return version
    }
}
