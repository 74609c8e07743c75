// SPDX-License-Identifier: Apache-2.0
internal import COpenSSL
import Glibc

/// The identity of the certificate a context presents, for log lines that tell an operator which one is served.
public struct CertificateSummary: Sendable, Equatable {
    /// The subject as one line, such as `/CN=dcf.example.org`.
    public let subject: String
    /// The end of the validity period in UTC, such as `2027-01-31T12:00:00Z`.
    public let notAfter: String
    /// SHA-256 of the DER certificate as colon-separated upper-case hex pairs, the form `openssl x509
    /// -fingerprint -sha256` prints.
    public let sha256Fingerprint: String
}

extension TLSContext {
    /// The leaf certificate the context presents, or nil when it has none (a client without a certificate).
    public var certificateSummary: CertificateSummary? {
        guard let certificate = SSL_CTX_get0_certificate(pointer) else { return nil }
        return CertificateSummary(
            subject: Self.subject(of: certificate) ?? "?", notAfter: Self.notAfter(of: certificate) ?? "?",
            sha256Fingerprint: Self.fingerprint(of: certificate) ?? "?")
    }

    private static func subject(of certificate: OpaquePointer) -> String? {
        guard let name = X509_get_subject_name(certificate) else { return nil }
        var buffer = [CChar](repeating: 0, count: 512)
        return buffer.withUnsafeMutableBufferPointer { pointer in
            guard X509_NAME_oneline(name, pointer.baseAddress, Int32(pointer.count)) != nil else { return nil }
            return String(cString: pointer.baseAddress!)
        }
    }

    private static func notAfter(of certificate: OpaquePointer) -> String? {
        guard let time = X509_get0_notAfter(certificate) else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    private static func fingerprint(of certificate: OpaquePointer) -> String? {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(certificate, EVP_sha256(), &digest, &length) == 1 else { return nil }
        let hex = Array("0123456789ABCDEF")
        return digest.prefix(Int(length)).map { String([hex[Int($0 >> 4)], hex[Int($0 & 0x0F)]]) }
            .joined(separator: ":")
    }
}
