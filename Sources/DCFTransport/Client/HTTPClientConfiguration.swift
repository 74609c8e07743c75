// SPDX-License-Identifier: Apache-2.0

/// Settings shared by every request of one `HTTPClient`.
public struct HTTPClientConfiguration: Sendable {
    /// How bytes reach the server.
    public enum Transport: Sendable {
        /// TLS with these settings; `role` must be `.client`.
        case tls(TLSConfiguration)
        /// Unencrypted TCP, for a TLS-terminating proxy on the same host or local tests.
        case plainTCP
    }

    /// TLS or plain TCP. Default: TLS verifying the server against the system trust store.
    public var transport: Transport
    /// Time allowed to open the TCP connection and, separately, to finish the TLS handshake. Default 10 s.
    public var connectTimeout: Duration
    /// Longest wait for the socket to become readable or writable while a request runs. Default 60 s.
    /// A long poll must set `HTTPClientRequest.idleTimeout` above the server's hold time.
    public var idleTimeout: Duration
    /// Limit on one whole request, from taking a connection to the last body byte; `nil` means none.
    public var totalTimeout: Duration?
    /// Largest response body `execute(_:)` collects in memory. Default 64 MiB; stream larger bodies.
    public var maximumResponseBodySize: Int
    /// Largest response head (status line and header fields). Default 64 KiB.
    public var maximumResponseHeadSize: Int
    /// Idle keep-alive connections kept for reuse. Default 4.
    public var maximumIdleConnections: Int
    /// How long an unused keep-alive connection stays in the pool. Default 30 s; keep it below the server's
    /// idle timeout so the client rarely picks a connection the server is closing.
    public var idleConnectionLifetime: Duration
    /// Value of the `User-Agent` header, or `nil` to send none.
    public var userAgent: String?
    /// Kernel receive and send buffer (`SO_RCVBUF`, `SO_SNDBUF`) of each connection, in bytes; 0 keeps the
    /// kernel's automatic sizing. Default 0. Set it when many clients share one host, as in a load generator,
    /// because their automatic buffers together can use up the kernel's TCP memory.
    public var socketBufferBytes = 0

    /// Whether the transport is TLS with a client certificate to present.
    var presentsClientCertificate: Bool {
        guard case .tls(let tls) = transport else { return false }
        return tls.certificateChainFile != nil
    }

    /// Creates a configuration; every parameter has the default documented on its property.
    public init(
        transport: Transport = .tls(.client()),
        connectTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(60),
        totalTimeout: Duration? = nil,
        maximumResponseBodySize: Int = 64 << 20,
        maximumResponseHeadSize: Int = 64 << 10,
        maximumIdleConnections: Int = 4,
        idleConnectionLifetime: Duration = .seconds(30),
        userAgent: String? = "dcf"
    ) {
        self.transport = transport
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.totalTimeout = totalTimeout
        self.maximumResponseBodySize = maximumResponseBodySize
        self.maximumResponseHeadSize = maximumResponseHeadSize
        self.maximumIdleConnections = maximumIdleConnections
        self.idleConnectionLifetime = idleConnectionLifetime
        self.userAgent = userAgent
    }
}
