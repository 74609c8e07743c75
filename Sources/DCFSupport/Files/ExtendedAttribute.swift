// SPDX-License-Identifier: Apache-2.0
import CLinux
import Foundation

/// User extended attributes (names starting with `user.`): short values stored with a file's inode, which a
/// `rename` keeps and an `fsync` of the file makes durable together with its data.
public enum ExtendedAttribute {
    /// Sets attribute `name` of the open file `descriptor` to `value`, replacing any earlier value.
    ///
    /// - Parameter path: the file's path, for the error.
    /// - Returns: false when the file system does not support extended attributes (`ENOTSUP`), in which case
    ///   nothing changed.
    /// - Throws: `SystemCallError` for any other failure, such as `ENOSPC`.
    @discardableResult
    public static func set(_ name: String, to value: String, descriptor: Int32, path: String)
        throws(SystemCallError) -> Bool
    {
        try set(name, bytes: Array(value.utf8), descriptor: descriptor, path: path)
    }

    /// Sets attribute `name` of the open file `descriptor` to the bytes `value`, as `set(_:to:descriptor:path:)`
    /// does for text.
    @discardableResult
    public static func set(_ name: String, bytes: [UInt8], descriptor: Int32, path: String)
        throws(SystemCallError) -> Bool
    {
        let result = bytes.withUnsafeBytes { fsetxattr(descriptor, name, $0.baseAddress, $0.count, 0) }
        guard result != 0 else { return true }
        let code = errno
        // Linux gives ENOTSUP and EOPNOTSUPP the same number.
        guard code != ENOTSUP else { return false }
        throw SystemCallError(call: "fsetxattr", subject: path, errno: code)
    }

    /// Returns attribute `name` of the file at `path` as UTF-8 text. Returns nil when the file has no such
    /// attribute, the file system does not support extended attributes, or the value is longer than
    /// `maximumBytes`.
    ///
    /// - Throws: `SystemCallError` for any other failure, such as a missing file.
    public static func value(of name: String, path: String, maximumBytes: Int = 256)
        throws(SystemCallError) -> String?
    {
        try bytes(of: name, path: path, maximumBytes: maximumBytes).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Returns attribute `name` of the file at `path` as bytes, or nil in the cases `value(of:path:maximumBytes:)`
    /// returns nil.
    ///
    /// - Throws: `SystemCallError` for any other failure, such as a missing file.
    public static func bytes(of name: String, path: String, maximumBytes: Int = 256)
        throws(SystemCallError) -> [UInt8]?
    {
        var buffer = [UInt8](repeating: 0, count: maximumBytes)
        let count = buffer.withUnsafeMutableBytes { getxattr(path, name, $0.baseAddress, $0.count) }
        if count >= 0 { return Array(buffer[..<count]) }
        let code = errno
        guard code != ENODATA, code != ENOTSUP, code != ERANGE else { return nil }
        throw SystemCallError(call: "getxattr", subject: path, errno: code)
    }
}
