// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A system call failed; carries the call's name, the file or address it acted on, and `errno`.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible, ExitCodeProviding {
    /// The failed call, such as `open` or `rename`.
    public let call: String
    /// The path or address the call acted on, if any.
    public let subject: String?
    public let errno: Int32

    public init(call: String, subject: String? = nil, errno: Int32) {
        self.call = call
        self.subject = subject
        self.errno = errno
    }

    /// For example `open("/etc/dcf/serverd.conf") failed: No such file or directory (errno 2)`.
    public var description: String {
        let target = subject.map { "(\(ConfigValue.quote($0)))" } ?? ""
        return "\(call)\(target) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }

    /// Missing or unreadable inputs map to `EX_NOINPUT`, permission problems to `EX_NOPERM`, the rest to `EX_IOERR`.
    public var exitCode: ExitCode {
        switch errno {
        case ENOENT, ENOTDIR: .noInput
        case EACCES, EPERM: .noPermission
        default: .ioError
        }
    }
}

/// Reads whole files with plain POSIX calls, so errors keep their `errno`.
public enum FileReader {
    /// Returns the bytes of the file at `path`.
    /// - Throws: `SystemCallError` from `open` or `read`.
    public static func read(_ path: String) throws(SystemCallError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemCallError(call: "open", subject: path, errno: errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(call: "read", subject: path, errno: errno)
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// Returns the file at `path` decoded as UTF-8, with invalid sequences replaced by U+FFFD.
    public static func readText(_ path: String) throws(SystemCallError) -> String {
        String(decoding: try read(path), as: UTF8.self)
    }
}
