// SPDX-License-Identifier: Apache-2.0

/// An error from a cryptographic operation or from reading or writing a key file.
///
/// The description names the operation or file, what was wrong, and, for OpenSSL failures, the entries
/// that OpenSSL left in its error queue.
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case openSSL
        case invalidKey
        case invalidHex
        case keyFile
    }

    private let code: Code

    /// A readable explanation of the failure.
    public let description: String

    private init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// Creates the error for a failed OpenSSL call, with the drained error queue in `details` (possibly empty).
    static func openSSL(_ call: String, details: [String]) -> CryptoError {
        let suffix = details.isEmpty ? "" : ": " + details.joined(separator: "; ")
        return CryptoError(.openSSL, "OpenSSL call \(call) failed\(suffix)")
    }

    /// Creates the error for key material of the wrong length or that OpenSSL rejects.
    static func invalidKey(_ message: String) -> CryptoError {
        CryptoError(.invalidKey, message)
    }

    /// Creates the error for a string that should contain only hexadecimal digits.
    static func invalidHex(_ message: String) -> CryptoError {
        CryptoError(.invalidHex, message)
    }

    /// Creates the error for a key file that is missing, unreadable, malformed, or would be overwritten.
    static func keyFile(_ path: String, _ message: String) -> CryptoError {
        CryptoError(.keyFile, "key file \(path): \(message)")
    }

    /// Whether the failure came from an OpenSSL call.
    public var isOpenSSLFailure: Bool { code == .openSSL }

    /// Whether the failure concerns key material (length, encoding, or a key that OpenSSL rejected).
    public var isInvalidKey: Bool { code == .invalidKey || code == .invalidHex }

    /// Whether the failure concerns a key file on disk.
    public var isKeyFileFailure: Bool { code == .keyFile }
}
