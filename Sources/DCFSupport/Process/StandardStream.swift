// SPDX-License-Identifier: Apache-2.0
import Glibc

/// Standard output or standard error, written with `write(2)`.
///
/// `FileHandle.write` stops the process when the write fails, which happens as soon as the reader of a pipe
/// exits (`dcf-serverd 2>&1 | head`). Here a failed write drops the rest of the text instead: logs and
/// messages are worth less than the process that writes them.
public enum StandardStream: Sendable {
    case output
    case error

    /// Writes all of `text`, retrying partial writes and `EINTR`; gives up silently on any other error.
    public func write(_ text: String) {
        Self.write(text, to: self == .output ? STDOUT_FILENO : STDERR_FILENO)
    }

    /// Writes all of `text` to `descriptor` as `write(_:)` does.
    public static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
