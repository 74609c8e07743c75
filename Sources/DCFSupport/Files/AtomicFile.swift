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
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let (descriptor, temporaryPath) = try createTemporary(in: directory.isEmpty ? "." : directory, name: name)
        do throws(SystemCallError) {
            defer { close(descriptor) }
            try writeAll(Array(bytes), to: descriptor, path: temporaryPath)
            try check(fchmod(descriptor, mode_t(permissions)), "fchmod", temporaryPath)
            try check(fsync(descriptor), "fsync", temporaryPath)
        } catch {
            unlink(temporaryPath)
            throw error
        }
        guard rename(temporaryPath, path) == 0 else {
            let failure = SystemCallError(call: "rename", subject: path, errno: errno)
            unlink(temporaryPath)
            throw failure
        }
        try syncDirectory(directory.isEmpty ? "." : directory)
    }

    /// Writes `text` as UTF-8; see ``write(_:to:permissions:)``.
    public static func write(_ text: String, to path: String, permissions: UInt32 = 0o644) throws(SystemCallError) {
        try write(Array(text.utf8), to: path, permissions: permissions)
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

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(call: "write", subject: path, errno: errno)
            }
            offset += written
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
