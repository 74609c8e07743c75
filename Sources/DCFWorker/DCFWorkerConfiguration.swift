// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
public import DCFTransport
public import Foundation

/// Settings of a `DCFWorker`; every limit and timeout is explicit.
public struct DCFWorkerConfiguration: Sendable {
    /// How uploads are compressed.
    public enum UploadCompression: Sendable, Hashable {
        case none
        /// The zlib format, sent as `Content-Encoding: deflate`.
        case deflate
    }

    /// The server's address: `https://host:port`. `http://` sends everything unencrypted and is meant only for a
    /// TLS-terminating proxy on the same host or for local tests.
    public var serverURL: URL
    /// PEM file of CA certificates that verify the server; nil means the system trust store.
    public var trustedCAFile: String?
    /// PEM files of this site's TLS client certificate chain and its private key, for a server that requires
    /// mutual TLS; nil sends no client certificate. Set both or neither.
    public var clientCertificateFile: String?
    public var clientPrivateKeyFile: String?
    /// The worker's Ed25519 private key file (64 hex digits, as dc_federated's key tool writes it).
    public var privateKeyFile: String
    /// The protocol versions this worker speaks.
    public var protocolVersions: ProtocolVersionRange = .supported
    /// Reconnection delays after the server was unreachable or unavailable.
    public var backoff = RetryBackoff()
    /// Longest wait for a long-poll reply; must exceed the server's hold (50 s by default). Default 90 s.
    public var longPollTimeout: Duration = .seconds(90)
    /// Longest wait for the socket while any other request runs. Default 60 s.
    public var requestIdleTimeout: Duration = .seconds(60)
    /// Maximum wait for the server to take an update's body. The server receives a limited number of bodies at
    /// once and responds to the others' `Expect: 100-continue` in turn. Default 10 minutes.
    public var uploadTurnTimeout: Duration = .seconds(600)
    /// Time allowed to open the connection, and separately the TLS handshake. Default 10 s.
    public var connectTimeout: Duration = .seconds(10)
    /// Largest global model accepted, in bytes, both as sent and after decompression. Default 1 GiB.
    public var maximumModelBytes: Int = 1 << 30
    /// Compression of uploads; the server must support the coding. Default none.
    public var uploadCompression: UploadCompression = .none
    /// How many copies of an update whose reply was lost are sent again, byte for byte, before giving up. Attempts
    /// refused before any byte reaches the server count only after `updateRetryWindow`. Default 5.
    public var maximumUpdateResends: Int = 5
    /// How long `sendModelUpdate` keeps an update that the server did not take and signs it again, counted from
    /// its first failed attempt. It covers refused, reset and timed-out connections and 503 or 408 replies, as
    /// while the server restarts. Zero sends it once. Default 30 minutes.
    public var updateRetryWindow: Duration = .seconds(1800)
    /// Kernel receive and send buffer of each connection in bytes, 0 for the kernel's automatic sizing.
    /// Default 0; see `HTTPClientConfiguration.socketBufferBytes`.
    public var socketBufferBytes = 0
    /// The record layer after a TLS 1.3 handshake; see `TLSConfiguration.RecordLayer`. Default `.dcf`.
    public var tlsRecordLayer: TLSConfiguration.RecordLayer = .dcf

    /// Creates a configuration with the documented defaults.
    public init(serverURL: URL, trustedCAFile: String? = nil, privateKeyFile: String) {
        self.serverURL = serverURL
        self.trustedCAFile = trustedCAFile
        self.privateKeyFile = privateKeyFile
    }

    /// The scheme, host and port of `serverURL`.
    struct Endpoint: Sendable {
        let usesTLS: Bool
        let host: String
        let port: Int
    }

    /// Parses `serverURL`, throwing an error that names the URL and the expected form.
    func endpoint() throws(DCFWorkerError) -> Endpoint {
        let text = serverURL.absoluteString
        do {
            let address = try ServerAddress(parsing: text)
            return Endpoint(usesTLS: address.usesTLS, host: address.host, port: address.port)
        } catch {
            switch error {
            case .credentials:
                throw .invalidConfiguration("the server URL contains credentials; write https://host:port")
            case .scheme:
                throw .invalidConfiguration("server URL \"\(text)\" must start with https:// (or http:// for local tests)")
            case .host:
                throw .invalidConfiguration("server URL \"\(text)\" has no host; write https://host:port")
            case .path:
                throw .invalidConfiguration("server URL \"\(text)\" has a path; dcf routes live at the root, so remove it")
            case .queryOrFragment:
                throw .invalidConfiguration("server URL \"\(text)\" has a query or fragment; write https://host:port")
            case .portOutOfRange(let port):
                throw .invalidConfiguration("server URL \"\(text)\": port \(port) is outside 1-65535")
            }
        }
    }
}
