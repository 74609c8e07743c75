// SPDX-License-Identifier: Apache-2.0
internal import COpenSSL
import Foundation

/// How a server context decides which clients complete the handshake: whether it requests a certificate, whether
/// it requires one, and which client CA certificates it trusts, by file and content.
///
/// Two policies are equal when every client that passes one passes the other. A reload that only replaces the
/// server's own certificate and key therefore keeps the policy.
public struct ClientCertificatePolicy: Sendable, Equatable {
    /// Whether the server requests client certificates, and whether it requires them.
    public let verification: TLSConfiguration.ClientCertificateVerification
    /// The client CA file, nil when `verification` is `.none`.
    public let caFile: String?
    /// SHA-256 of the client CA file's bytes, read when the context was built. It is nil when no CA file is used
    /// or the file could not be read.
    let caFileDigest: [UInt8]?

    /// Builds the policy of a context made from `configuration`. A client context, and a server that requests no
    /// certificate, get `.none` without a CA file.
    init(_ configuration: TLSConfiguration) {
        guard configuration.role == .server, configuration.clientCertificateVerification != .none,
            let caFile = configuration.trustedCAFile
        else {
            verification = .none
            caFile = nil
            caFileDigest = nil
            return
        }
        verification = configuration.clientCertificateVerification
        self.caFile = caFile
        caFileDigest = FileManager.default.contents(atPath: caFile).flatMap(Self.sha256)
    }

    private static func sha256(_ data: Data) -> [UInt8]? {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let status = data.withUnsafeBytes { bytes in
            EVP_Digest(bytes.baseAddress, bytes.count, &digest, &length, EVP_sha256(), nil)
        }
        guard status == 1 else { return nil }
        return Array(digest.prefix(Int(length)))
    }
}
