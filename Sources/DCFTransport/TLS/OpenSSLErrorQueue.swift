// SPDX-License-Identifier: Apache-2.0
import COpenSSL

/// Access to OpenSSL's per-thread error queue.
enum OpenSSLErrorQueue {
    /// Upper bound on entries read, so a corrupted queue cannot loop forever.
    private static let maximumEntries = 32

    /// Removes every entry from the calling thread's queue and returns their texts, oldest first.
    static func drain() -> [String] {
        var messages: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        for _ in 0..<maximumEntries {
            let code = ERR_get_error()
            if code == 0 { break }
            let text = buffer.withUnsafeMutableBufferPointer { pointer in
                ERR_error_string_n(code, pointer.baseAddress, pointer.count)
                return String(cString: pointer.baseAddress!)
            }
            messages.append(text)
        }
        ERR_clear_error()
        return messages
    }

    /// Empties the queue before an operation, because `SSL_get_error` reads it to classify the result.
    static func clear() {
        ERR_clear_error()
    }
}
