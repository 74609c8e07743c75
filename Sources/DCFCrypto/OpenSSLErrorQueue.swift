// SPDX-License-Identifier: Apache-2.0
internal import COpenSSL

/// Access to OpenSSL's thread-local error queue.
enum OpenSSLErrorQueue {
    /// Removes every entry from the calling thread's queue and returns them as readable strings, oldest first.
    static func drain() -> [String] {
        var messages: [String] = []
        // OpenSSL 3 keeps at most ERR_NUM_ERRORS (16) entries per thread. The bound only guards against a change.
        for _ in 0..<64 {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages
    }

    /// Returns an error for the failed `call` that carries the drained queue.
    static func error(_ call: String) -> CryptoError {
        CryptoError.openSSL(call, details: drain())
    }
}
