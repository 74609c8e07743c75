// SPDX-License-Identifier: Apache-2.0
import Glibc

/// An open file and a byte range of it, sent as a response body; the file closes when the last reference goes.
///
/// Reads use `pread` at explicit offsets, so one region can be sent on many connections at once.
public final class HTTPFileRegion: Sendable {
    let fd: Int32
    /// The first byte sent.
    public let offset: Int
    /// The number of bytes sent.
    public let length: Int

    /// Opens `path` for reading and sends `length` bytes from `offset`, or to the end of the file when nil.
    ///
    /// - Throws: `SystemError` when the file cannot be opened or examined, or `EINVAL` when the range
    ///   goes past the end of the file.
    public init(path: String, offset: Int = 0, length: Int? = nil) throws(SystemError) {
        let fd = try syscall("open") { open(path, O_RDONLY | O_CLOEXEC) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw SystemError(call: "fstat", code: code)
        }
        let size = Int(info.st_size)
        let count = length ?? max(0, size - offset)
        guard offset >= 0, count >= 0, offset + count <= size else {
            close(fd)
            throw SystemError(call: "open", code: EINVAL)
        }
        self.fd = fd
        self.offset = offset
        self.length = count
    }

    deinit {
        close(fd)
    }
}
