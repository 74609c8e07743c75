// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A failure while setting up a TLS context or running a TLS connection.
///
/// `description` names the file or step that failed, the certificate verification reason when there is one,
/// and the entries OpenSSL left in its error queue.
public struct TLSError: Error, CustomStringConvertible, Sendable, Equatable {
    private enum Code: Sendable, Equatable {
        case fileNotFound(kind: String, path: String)
        case invalidCertificate(path: String)
        case invalidPrivateKey(path: String)
        case keyMismatch(certificatePath: String, keyPath: String)
        case unreadableCA(path: String)
        case missingSetting(String)
        case contextSetup(String)
        case verificationFailed(VerificationFailure)
        case handshakeFailed
        case protocolFailure(operation: String)
        case systemCall(operation: String, errno: Int32)
    }

    /// Why the peer's certificate was rejected.
    public enum VerificationFailure: Sendable, Equatable, CustomStringConvertible {
        /// The certificate's validity period has ended.
        case expired
        /// The certificate's validity period has not started.
        case notYetValid
        /// The chain does not lead to a trusted CA: an unknown issuer or a self-signed certificate.
        case unknownIssuer
        /// The certificate is not valid for the host name or IP address that was requested.
        case hostNameMismatch(expected: String)
        /// The peer sent no certificate although one is required.
        case noPeerCertificate
        /// Any other verification result, with OpenSSL's text for it.
        case other(code: Int, reason: String)

        public var description: String {
            switch self {
            case .expired: "certificate expired"
            case .notYetValid: "certificate is not yet valid"
            case .unknownIssuer: "unknown issuer (certificate is self-signed or not signed by a trusted CA)"
            case .hostNameMismatch(let expected): "host name mismatch: certificate is not valid for '\(expected)'"
            case .noPeerCertificate: "peer sent no certificate"
            case .other(let code, let reason): "verification error \(code): \(reason)"
            }
        }
    }

    private let code: Code
    /// OpenSSL's error queue at the time of the failure, oldest first, or the reason dcf's own record layer
    /// gave; empty when neither reported anything.
    public let openSSLErrors: [String]
    /// Whether `openSSLErrors` came from dcf's own record layer rather than from OpenSSL.
    private let fromRecordLayer: Bool

    private init(_ code: Code, openSSLErrors: [String] = [], fromRecordLayer: Bool = false) {
        self.code = code
        self.openSSLErrors = openSSLErrors
        self.fromRecordLayer = fromRecordLayer
    }

    /// The verification reason when the failure was a rejected peer certificate, otherwise `nil`.
    public var verificationFailure: VerificationFailure? {
        if case .verificationFailed(let failure) = code { return failure }
        return nil
    }

    /// The certificate, key or CA files the failure concerns: both files of a certificate and key that do not
    /// match, and none for a failure that concerns no file.
    public var files: [String] {
        switch code {
        case .fileNotFound(_, let path), .invalidCertificate(let path), .invalidPrivateKey(let path),
            .unreadableCA(let path):
            [path]
        case .keyMismatch(let certificatePath, let keyPath):
            [certificatePath, keyPath]
        default:
            []
        }
    }

    /// The `errno` value when a system call under TLS failed, otherwise `nil`.
    public var systemErrno: Int32? {
        if case .systemCall(_, let errno) = code { return errno }
        return nil
    }

    static func fileNotFound(_ kind: String, path: String) -> TLSError {
        TLSError(.fileNotFound(kind: kind, path: path))
    }

    static func invalidCertificate(path: String, openSSLErrors: [String]) -> TLSError {
        TLSError(.invalidCertificate(path: path), openSSLErrors: openSSLErrors)
    }

    static func invalidPrivateKey(path: String, openSSLErrors: [String]) -> TLSError {
        TLSError(.invalidPrivateKey(path: path), openSSLErrors: openSSLErrors)
    }

    static func keyMismatch(certificatePath: String, keyPath: String, openSSLErrors: [String]) -> TLSError {
        TLSError(.keyMismatch(certificatePath: certificatePath, keyPath: keyPath), openSSLErrors: openSSLErrors)
    }

    static func unreadableCA(path: String, openSSLErrors: [String]) -> TLSError {
        TLSError(.unreadableCA(path: path), openSSLErrors: openSSLErrors)
    }

    static func missingSetting(_ message: String) -> TLSError {
        TLSError(.missingSetting(message))
    }

    static func contextSetup(_ step: String, openSSLErrors: [String]) -> TLSError {
        TLSError(.contextSetup(step), openSSLErrors: openSSLErrors)
    }

    static func verificationFailed(_ failure: VerificationFailure, openSSLErrors: [String]) -> TLSError {
        TLSError(.verificationFailed(failure), openSSLErrors: openSSLErrors)
    }

    static func handshakeFailed(openSSLErrors: [String]) -> TLSError {
        TLSError(.handshakeFailed, openSSLErrors: openSSLErrors)
    }

    static func protocolFailure(_ operation: String, openSSLErrors: [String]) -> TLSError {
        TLSError(.protocolFailure(operation: operation), openSSLErrors: openSSLErrors)
    }

    /// Creates a protocol failure that dcf's own record layer found, with `reason` in place of OpenSSL's errors.
    static func recordLayerFailure(_ operation: String, reason: String) -> TLSError {
        TLSError(.protocolFailure(operation: operation), openSSLErrors: [reason], fromRecordLayer: true)
    }

    static func systemCall(_ operation: String, errno: Int32) -> TLSError {
        TLSError(.systemCall(operation: operation, errno: errno))
    }

    public var description: String {
        let summary = Self.summary(of: code)
        guard !openSSLErrors.isEmpty else { return summary }
        let source = fromRecordLayer ? "record layer" : "OpenSSL"
        return summary + " (\(source): " + openSSLErrors.joined(separator: "; ") + ")"
    }

    private static func summary(of code: Code) -> String {
        switch code {
        case .fileNotFound(let kind, let path):
            "\(kind) file not found: '\(path)'; check the path and its permissions"
        case .invalidCertificate(let path):
            "cannot load certificate chain from '\(path)'; expected PEM certificates, leaf first"
        case .invalidPrivateKey(let path):
            "cannot load private key from '\(path)'; expected an unencrypted PEM private key"
        case .keyMismatch(let certificatePath, let keyPath):
            "private key '\(keyPath)' does not match certificate '\(certificatePath)'"
        case .unreadableCA(let path):
            "cannot read CA certificates from '\(path)'; expected PEM certificates"
        case .missingSetting(let message):
            message
        case .contextSetup(let step):
            "TLS context setup failed at \(step)"
        case .verificationFailed(let failure):
            "TLS certificate verification failed: \(failure)"
        case .handshakeFailed:
            "TLS handshake failed"
        case .protocolFailure(let operation):
            "TLS \(operation) failed"
        case .systemCall(let operation, let errno):
            "TLS \(operation) failed: \(errnoText(errno)) (errno \(errno))"
        }
    }

    private static func errnoText(_ errno: Int32) -> String {
        guard let text = strerror(errno) else { return "unknown error" }
        return String(cString: text)
    }
}
