// SPDX-License-Identifier: Apache-2.0

/// Settings for one side of a TLS connection; build a `TLSContext` from it.
///
/// Use the presets `server(certificateChainFile:privateKeyFile:)`,
/// `mutualTLSServer(certificateChainFile:privateKeyFile:clientCAFile:verification:)` and
/// `client(trustedCAFile:serverName:certificateChainFile:privateKeyFile:)`, then adjust fields if needed.
/// Every file is PEM. The protocol floor is TLS 1.2, and OpenSSL negotiates TLS 1.3 whenever the peer offers it.
public struct TLSConfiguration: Sendable, Equatable {
    /// The side of the handshake a context is used for.
    public enum Role: Sendable, Equatable {
        case server
        case client
    }

    /// The server's treatment of client certificates.
    public enum ClientCertificateVerification: Sendable, Equatable {
        /// The server does not ask for a client certificate.
        case none
        /// The server asks for a certificate and verifies it when sent, but also accepts clients without one.
        case optional
        /// The handshake fails unless the client sends a certificate that chains to the client CA file.
        case required
    }

    /// The code that seals and opens application-data records once a TLS 1.3 handshake is done.
    public enum RecordLayer: String, Sendable, Equatable, CaseIterable {
        /// dcf's own record layer: records are sealed from and opened into the connection's buffers, with one
        /// copy fewer per byte in each direction than OpenSSL's, by the same OpenSSL cipher code. A server
        /// context then sends no session tickets. TLS 1.2 connections always use OpenSSL's record layer.
        case dcf
        /// OpenSSL's record layer for every record.
        case openSSL = "openssl"
    }

    /// The lowest protocol version accepted.
    public enum ProtocolVersion: Sendable, Equatable {
        case tls1_2
        case tls1_3
    }

    /// The side of the handshake this configuration is for.
    public var role: Role
    /// PEM file with the leaf certificate first, followed by any intermediates. Required for a server,
    /// optional for a client (mutual TLS).
    public var certificateChainFile: String?
    /// PEM file with the private key matching the first certificate of `certificateChainFile`.
    public var privateKeyFile: String?
    /// PEM file of CA certificates used to verify the peer. On a client, `nil` means the system trust store.
    /// On a server, this is the client CA file for mutual TLS and is required unless
    /// `clientCertificateVerification` is `.none`.
    public var trustedCAFile: String?
    /// Client only: whether to verify the server certificate chain and host name. Default `true`; turn it off
    /// only in tests that examine the handshake itself.
    public var verifyServerCertificate: Bool
    /// Client only: the name sent in SNI and checked against the server certificate's subject alternative
    /// names. `nil` means the caller passes the host it connects to when it opens a session.
    public var serverName: String?
    /// Server only: whether clients must present a certificate.
    public var clientCertificateVerification: ClientCertificateVerification
    /// The lowest protocol version accepted. Default `.tls1_2`.
    public var minimumVersion: ProtocolVersion
    /// The record layer used after a TLS 1.3 handshake. Default `.dcf`.
    public var recordLayer: RecordLayer

    /// Creates a configuration with every field given; prefer the named presets.
    public init(
        role: Role,
        certificateChainFile: String? = nil,
        privateKeyFile: String? = nil,
        trustedCAFile: String? = nil,
        verifyServerCertificate: Bool = true,
        serverName: String? = nil,
        clientCertificateVerification: ClientCertificateVerification = .none,
        minimumVersion: ProtocolVersion = .tls1_2,
        recordLayer: RecordLayer = .dcf
    ) {
        self.role = role
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.trustedCAFile = trustedCAFile
        self.verifyServerCertificate = verifyServerCertificate
        self.serverName = serverName
        self.clientCertificateVerification = clientCertificateVerification
        self.minimumVersion = minimumVersion
        self.recordLayer = recordLayer
    }

    /// Returns a server configuration that presents `certificateChainFile` and requests no client certificates.
    public static func server(certificateChainFile: String, privateKeyFile: String) -> TLSConfiguration {
        TLSConfiguration(role: .server, certificateChainFile: certificateChainFile, privateKeyFile: privateKeyFile)
    }

    /// Returns a server configuration that verifies client certificates against `clientCAFile` (mutual TLS).
    public static func mutualTLSServer(
        certificateChainFile: String,
        privateKeyFile: String,
        clientCAFile: String,
        verification: ClientCertificateVerification = .required
    ) -> TLSConfiguration {
        TLSConfiguration(
            role: .server,
            certificateChainFile: certificateChainFile,
            privateKeyFile: privateKeyFile,
            trustedCAFile: clientCAFile,
            clientCertificateVerification: verification
        )
    }

    /// Returns a client configuration that verifies the server against `trustedCAFile`, or the system trust
    /// store when it is `nil`.
    /// Pass a certificate and key to authenticate the client for mutual TLS.
    public static func client(
        trustedCAFile: String? = nil,
        serverName: String? = nil,
        certificateChainFile: String? = nil,
        privateKeyFile: String? = nil
    ) -> TLSConfiguration {
        TLSConfiguration(
            role: .client,
            certificateChainFile: certificateChainFile,
            privateKeyFile: privateKeyFile,
            trustedCAFile: trustedCAFile,
            serverName: serverName
        )
    }
}
