// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// POSIX file operations for the small text files that contain keys, with errors that name the file.
enum KeyFileIO {
    /// Maximum size of a key file in bytes. A key file contains 64 hex digits and maybe a newline.
    static let maximumFileSize = 4096

    /// Returns the file's content as text.
    static func readText(_ path: String) throws -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(path, "open failed") }
        defer { close(descriptor) }
        var content: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        while content.count <= maximumFileSize {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw failure(path, "read failed") }
            if count == 0 { break }
            content.append(contentsOf: chunk[0..<count])
        }
        guard content.count <= maximumFileSize else {
            throw CryptoError.keyFile(
                path, "is larger than \(maximumFileSize) bytes, but a key file contains only 64 hex digits")
        }
        return String(decoding: content, as: UTF8.self)
    }

    /// Writes `text` to `path` with permission `mode`, creating the file, and fsyncs it.
    ///
    /// Without `overwrite` an existing file is an error and is left untouched. With it the file is
    /// truncated and its permission reset to `mode`, whatever it was before.
    static func writeText(_ text: String, to path: String, mode: UInt32, overwrite: Bool) throws {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL)
        let descriptor = open(path, flags, mode_t(mode))
        guard descriptor >= 0 else {
            if errno == EEXIST {
                throw CryptoError.keyFile(path, "already exists; remove it first or choose to overwrite it")
            }
            throw failure(path, "create failed")
        }
        defer { close(descriptor) }
        guard fchmod(descriptor, mode_t(mode)) == 0 else { throw failure(path, "chmod to \(octal(mode)) failed") }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw failure(path, "write failed") }
            bytes = bytes.dropFirst(count)
        }
        guard fsync(descriptor) == 0 else { throw failure(path, "fsync failed") }
    }

    /// Returns whether a file exists at `path` (following symbolic links).
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func octal(_ mode: UInt32) -> String {
        "0" + String(mode, radix: 8)
    }

    private static func failure(_ path: String, _ operation: String) -> CryptoError {
        let code = errno
        return CryptoError.keyFile(path, "\(operation): \(String(cString: strerror(code))) (errno \(code))")
    }
}
