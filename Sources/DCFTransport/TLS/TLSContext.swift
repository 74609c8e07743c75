// SPDX-License-Identifier: Apache-2.0
import COpenSSL
import Foundation

/// Loaded certificates, keys and trust settings shared by every TLS connection of one side (an OpenSSL `SSL_CTX`).
///
/// Build one per configuration and reuse it for all connections; reloading certificates means building a new one.
/// OpenSSL allows concurrent use of a context once it is set up, and this type never changes it after `init`.
public final class TLSContext: @unchecked Sendable {
    // @unchecked Sendable: the SSL_CTX pointer is written only in init and OpenSSL locks its shared state.
    let pointer: OpaquePointer
    /// The configuration this context was built from.
    public let configuration: TLSConfiguration
    /// The rule by which a server context lets clients complete the handshake, or `.none` for a client context.
    public let clientCertificatePolicy: ClientCertificatePolicy

    /// Loads the files named in `configuration` and checks that they fit together.
    ///
    /// - Throws: `TLSError` naming the file when a certificate, key or CA file is missing or unreadable, or
    ///   when the private key does not match the certificate.
    public init(configuration: TLSConfiguration) throws {
        let method = configuration.role == .server ? TLS_server_method() : TLS_client_method()
        guard let context = SSL_CTX_new(method) else {
            throw TLSError.contextSetup("SSL_CTX_new", openSSLErrors: OpenSSLErrorQueue.drain())
        }
        self.pointer = context
        self.configuration = configuration
        // Read before the CA file is loaded, so a file replaced during the load counts as changed at the next reload.
        clientCertificatePolicy = ClientCertificatePolicy(configuration)
        try configureProtocol()
        if configuration.recordLayer == .dcf {
            TLSTrafficSecrets.installCallback(on: pointer)
            // A session's own record layer must know every record sent before it takes over; tickets would
            // be records that OpenSSL sends after the handshake. dcf's clients do not resume sessions.
            if configuration.role == .server { _ = SSL_CTX_set_num_tickets(pointer, 0) }
        }
        try loadCertificateAndKey()
        switch configuration.role {
        case .server: try configureClientVerification()
        case .client: try configureServerVerification()
        }
    }

    deinit {
        SSL_CTX_free(pointer)
    }

    /// TLS 1.3 suites in order of preference.
    static let tls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
    /// TLS 1.2 ciphers in order of preference: ECDHE key exchange with AEAD encryption only.
    static let tls12Ciphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    private func configureProtocol() throws {
        let version = configuration.minimumVersion == .tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION
        guard COpenSSL_SSL_CTX_set_min_proto_version(pointer, version) == 1 else {
            throw TLSError.contextSetup("setting the minimum protocol version", openSSLErrors: OpenSSLErrorQueue.drain())
        }
        // A server reads a client's end without close_notify as the end of the stream, because request framing
        // detects a truncated request body, and without this option OpenSSL fails the connection at such an end.
        // A client context leaves it off, so that `TLSSession` can distinguish close_notify from a bare end,
        // which can truncate a response body that ends at the close.
        let unexpectedEndOption = configuration.role == .server ? COpenSSL_SSL_OP_IGNORE_UNEXPECTED_EOF() : 0
        SSL_CTX_set_options(
            pointer,
            unexpectedEndOption | COpenSSL_SSL_OP_NO_RENEGOTIATION() | COpenSSL_SSL_OP_CIPHER_SERVER_PREFERENCE())
        // Forward-secret AEAD suites only, AES-128-GCM first: OpenSSL's default order puts AES-256-GCM first,
        // which costs about a tenth more CPU per byte (3.26 against 3.58 GB/s in `openssl speed -evp` on the
        // benchmark machine) for a margin 128-bit keys do not need.
        guard SSL_CTX_set_ciphersuites(pointer, Self.tls13Suites) == 1,
            SSL_CTX_set_cipher_list(pointer, Self.tls12Ciphers) == 1
        else {
            throw TLSError.contextSetup("setting the cipher suites", openSSLErrors: OpenSSLErrorQueue.drain())
        }
        // Non-blocking writes may be retried with a buffer that moved and may complete in parts. Idle
        // connections (parked long polls) release their buffers, which halved the memory of a parked
        // connection in dcf-transport-bench (31 KiB to 15 KiB).
        _ = COpenSSL_SSL_CTX_set_mode(
            pointer,
            Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS)
        )
    }

    private func loadCertificateAndKey() throws {
        let certificate = configuration.certificateChainFile
        let key = configuration.privateKeyFile
        if configuration.role == .server && (certificate == nil || key == nil) {
            throw TLSError.missingSetting(
                "a TLS server needs both certificateChainFile and privateKeyFile; set both to PEM files"
            )
        }
        guard let certificate, let key else {
            if certificate != nil || key != nil {
                throw TLSError.missingSetting(
                    "a client certificate needs both certificateChainFile and privateKeyFile; set both or neither"
                )
            }
            return
        }
        try Self.requireFile(certificate, kind: "certificate chain")
        try Self.requireFile(key, kind: "private key")
        OpenSSLErrorQueue.clear()
        guard SSL_CTX_use_certificate_chain_file(pointer, certificate) == 1 else {
            throw TLSError.invalidCertificate(path: certificate, openSSLErrors: OpenSSLErrorQueue.drain())
        }
        guard SSL_CTX_use_PrivateKey_file(pointer, key, SSL_FILETYPE_PEM) == 1 else {
            let errors = OpenSSLErrorQueue.drain()
            if errors.contains(where: { $0.contains("values mismatch") || $0.contains("key values") }) {
                throw TLSError.keyMismatch(certificatePath: certificate, keyPath: key, openSSLErrors: errors)
            }
            throw TLSError.invalidPrivateKey(path: key, openSSLErrors: errors)
        }
        guard SSL_CTX_check_private_key(pointer) == 1 else {
            throw TLSError.keyMismatch(
                certificatePath: certificate, keyPath: key, openSSLErrors: OpenSSLErrorQueue.drain()
            )
        }
    }

    private func configureClientVerification() throws {
        let verification = configuration.clientCertificateVerification
        guard verification != .none else {
            SSL_CTX_set_verify(pointer, SSL_VERIFY_NONE, nil)
            return
        }
        guard let caFile = configuration.trustedCAFile else {
            throw TLSError.missingSetting(
                "client certificate verification is \(verification) but no client CA file is set; set trustedCAFile"
            )
        }
        try loadTrustedCA(caFile)
        guard let names = SSL_load_client_CA_file(caFile) else {
            throw TLSError.unreadableCA(path: caFile, openSSLErrors: OpenSSLErrorQueue.drain())
        }
        // The context takes ownership of the name list.
        SSL_CTX_set_client_CA_list(pointer, names)
        var mode = SSL_VERIFY_PEER
        if verification == .required { mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT }
        SSL_CTX_set_verify(pointer, mode, nil)
    }

    private func configureServerVerification() throws {
        guard configuration.verifyServerCertificate else {
            SSL_CTX_set_verify(pointer, SSL_VERIFY_NONE, nil)
            return
        }
        if let caFile = configuration.trustedCAFile {
            try loadTrustedCA(caFile)
        } else if SSL_CTX_set_default_verify_paths(pointer) != 1 {
            throw TLSError.contextSetup("loading the system trust store", openSSLErrors: OpenSSLErrorQueue.drain())
        }
        SSL_CTX_set_verify(pointer, SSL_VERIFY_PEER, nil)
    }

    private func loadTrustedCA(_ path: String) throws {
        try Self.requireFile(path, kind: "CA certificate")
        OpenSSLErrorQueue.clear()
        guard SSL_CTX_load_verify_locations(pointer, path, nil) == 1 else {
            throw TLSError.unreadableCA(path: path, openSSLErrors: OpenSSLErrorQueue.drain())
        }
    }

    private static func requireFile(_ path: String, kind: String) throws {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw TLSError.fileNotFound(kind, path: path)
        }
    }
}
