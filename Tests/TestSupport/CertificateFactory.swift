// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Test certificates made with the `openssl` command-line tool in a temporary directory.
///
/// Every certificate uses a P-256 key. Valid certificates last two days from creation, so nothing checked in
/// can expire. Call `remove()` in teardown.
public struct CertificateFactory: Sendable {
    /// A certificate with its private key, both PEM files.
    public struct Identity: Sendable {
        public let certificateFile: String
        public let privateKeyFile: String
    }

    /// The directory holding every file.
    public let directory: TemporaryDirectory
    /// The CA that signs the server and good client certificates.
    public let ca: Identity
    /// A second CA that nothing trusts.
    public let foreignCA: Identity
    /// Server certificate for `localhost` and `127.0.0.1`, signed by `ca`.
    public let server: Identity
    /// Like `server`, but valid only from 2020-01-01 to 2020-01-02.
    public let expiredServer: Identity
    /// A self-signed certificate for `localhost` and `127.0.0.1`.
    public let selfSignedServer: Identity
    /// Signed by `ca`, but only for the host `wrong.example`.
    public let wrongHostServer: Identity
    /// Client certificate signed by `ca`.
    public let client: Identity
    /// Client certificate signed by `foreignCA`.
    public let foreignClient: Identity

    /// Creates every certificate; takes about a second because each one runs `openssl`.
    ///
    /// - Throws: `CertificateFactoryError` with the command and its output when `openssl` fails.
    public init() throws {
        directory = try TemporaryDirectory(prefix: "dcf-certs")
        let runner = OpenSSLRunner(directory: directory)
        try runner.writeConfiguration()
        ca = try runner.makeCA(name: "ca", subject: "dcf test CA")
        foreignCA = try runner.makeCA(name: "foreign-ca", subject: "dcf foreign CA")
        let loopback = "DNS:localhost,IP:127.0.0.1"
        server = try runner.makeLeaf(name: "server", signer: ca, altNames: loopback, usage: "serverAuth")
        expiredServer = try runner.makeLeaf(
            name: "expired", signer: ca, altNames: loopback, usage: "serverAuth",
            validity: .fixed(start: "20200101000000Z", end: "20200102000000Z")
        )
        selfSignedServer = try runner.makeSelfSigned(name: "self-signed", altNames: loopback)
        wrongHostServer = try runner.makeLeaf(
            name: "wrong-host", signer: ca, altNames: "DNS:wrong.example", usage: "serverAuth"
        )
        client = try runner.makeLeaf(name: "client", signer: ca, altNames: "DNS:client.test", usage: "clientAuth")
        foreignClient = try runner.makeLeaf(
            name: "foreign-client", signer: foreignCA, altNames: "DNS:client.test", usage: "clientAuth"
        )
    }

    /// Deletes every file the factory made.
    public func remove() {
        directory.remove()
    }
}

/// A failed `openssl` command.
public struct CertificateFactoryError: Error, CustomStringConvertible {
    public let command: [String]
    public let output: String
    public var description: String {
        "openssl \(command.joined(separator: " ")) failed: \(output)"
    }
}
