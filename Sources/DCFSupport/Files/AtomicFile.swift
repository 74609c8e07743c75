// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Replaces files so that readers and a crash leave either the old or the new content, never a mix.
public enum AtomicFile {
    /// Writes `bytes` to `path`: into a temporary file in the same directory, `fsync`, `rename` over `path`,
    /// then `fsync` of the directory so the rename itself survives a power loss.
    /// - Parameter permissions: mode bits of the new file, `0o644` by default (`0o600` for secrets).
    /// - Throws: `SystemCallError` naming the failed call; the temporary file is removed and `path` is unchanged.
    public static func write(_ bytes: some Collection<UInt8>, to path: String, permissions: UInt32 = 0o644)
        throws(SystemCallError)
    {
        try write(to: path, permissions: permissions) { (file) throws(SystemCallError) in try file.append(bytes) }
    }

    /// The open temporary file that ``write(to:permissions:parts:)`` hands to its producer.
    public struct PartWriter {
        fileprivate let descriptor: Int32
        fileprivate let path: String

        /// Appends `bytes`; contiguous collections (Data, arrays) are written in place, others copied once.
        public func append(_ bytes: some Collection<UInt8>) throws(SystemCallError) {
            var failure: SystemCallError?
            let wroteInPlace = bytes.withContiguousStorageIfAvailable { buffer -> Bool in
                do throws(SystemCallError) {
                    try writeAll(UnsafeRawBufferPointer(buffer), to: descriptor, path: path)
                } catch {
                    failure = error
                }
                return true
            } ?? false
            if !wroteInPlace {
                Array(bytes).withUnsafeBytes { buffer in
                    do throws(SystemCallError) { try writeAll(buffer, to: descriptor, path: path) } catch { failure = error }
                }
            }
            if let failure { throw failure }
        }

        /// Sets user extended attribute `name` of the new file to `value`, which the write's `fsync` makes durable
        /// with the data. Returns false when the file system does not support extended attributes; see
        /// ``ExtendedAttribute/set(_:bytes:descriptor:path:)``.
        @discardableResult
        public func setExtendedAttribute(_ name: String, bytes value: [UInt8]) throws(SystemCallError) -> Bool {
            try ExtendedAttribute.set(name, bytes: value, descriptor: descriptor, path: path)
        }
    }

    /// Writes `path` as ``write(_:to:permissions:)`` does, from parts that `produce` appends one after
    /// another, so a large file never has to sit in memory whole.
    /// - Parameter durable: false skips both `fsync` calls, for a file that is cheap to write again, such as a
    ///   chart. A killed process still leaves the old or the new content, but after a power loss the file may be
    ///   empty or missing.
    public static func write(
        to path: String, permissions: UInt32 = 0o644, durable: Bool = true,
        parts produce: (PartWriter) throws(SystemCallError) -> Void
    ) throws(SystemCallError) {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let (descriptor, temporaryPath) = try createTemporary(in: directory.isEmpty ? "." : directory, name: name)
        do throws(SystemCallError) {
            defer { close(descriptor) }
            try produce(PartWriter(descriptor: descriptor, path: temporaryPath))
            try check(fchmod(descriptor, mode_t(permissions)), "fchmod", temporaryPath)
            if durable { try check(fsync(descriptor), "fsync", temporaryPath) }
        } catch {
            unlink(temporaryPath)
            throw error
        }
        guard rename(temporaryPath, path) == 0 else {
            let failure = SystemCallError(call: "rename", subject: path, errno: errno)
            unlink(temporaryPath)
            throw failure
        }
        if durable { try syncDirectory(directory.isEmpty ? "." : directory) }
    }

    /// Writes `text` as UTF-8; see ``write(_:to:permissions:)``.
    public static func write(_ text: String, to path: String, permissions: UInt32 = 0o644) throws(SystemCallError) {
        try write(Array(text.utf8), to: path, permissions: permissions)
    }

    /// Deletes the temporary files that writes into `directory` left when their process was killed before the
    /// rename, and returns their names. Call it only while no other process writes there.
    @discardableResult
    public static func removeLeftovers(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { name in
            guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards),
                name[marker.upperBound...].count == 6
            else { return false }
            return unlink("\(directory)/\(name)") == 0
        }
    }

    /// Creates `.<name>.tmp-XXXXXX` next to the target, so the final `rename` stays within one filesystem.
    private static func createTemporary(in directory: String, name: String) throws(SystemCallError) -> (Int32, String) {
        var template = Array("\(directory)/.\(name).tmp-XXXXXX".utf8CString)
        let descriptor = mkstemp(&template)
        guard descriptor >= 0 else {
            throw SystemCallError(call: "mkstemp", subject: "\(directory)/.\(name).tmp-XXXXXX", errno: errno)
        }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        let path = template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return (descriptor, String(decoding: path, as: UTF8.self))
    }

    fileprivate static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, path: String)
        throws(SystemCallError)
    {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(call: "write", subject: path, errno: errno)
            }
            offset += written
        }
    }

    /// Creates `directory` and any missing parents, flushing the parent of each directory it creates, so the new
    /// names survive a power loss like the files later renamed into them. An existing directory costs one `stat`.
    public static func createDirectory(_ directory: String) throws(SystemCallError) {
        var missing: [String] = []
        var path = directory
        while !path.isEmpty, path != "/", !FileManager.default.fileExists(atPath: path) {
            missing.append(path)
            path = (path as NSString).deletingLastPathComponent
        }
        for created in missing.reversed() {
            if mkdir(created, 0o755) != 0, errno != EEXIST {
                throw SystemCallError(call: "mkdir", subject: created, errno: errno)
            }
            let parent = (created as NSString).deletingLastPathComponent
            try syncDirectory(parent.isEmpty ? "." : parent)
        }
    }

    /// Makes a completed `rename` in `directory` durable.
    public static func syncDirectory(_ directory: String) throws(SystemCallError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemCallError(call: "open", subject: directory, errno: errno) }
        defer { close(descriptor) }
        try check(fsync(descriptor), "fsync", directory)
    }

    private static func check(_ result: Int32, _ call: String, _ subject: String) throws(SystemCallError) {
        guard result == 0 else { throw SystemCallError(call: call, subject: subject, errno: errno) }
    }
}
