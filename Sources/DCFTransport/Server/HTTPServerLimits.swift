// SPDX-License-Identifier: Apache-2.0

/// Limits that protect the server from large, slow or malformed requests, each with the status it answers.
public struct HTTPServerLimits: Sendable {
    /// Maximum bytes of request line plus header fields, and of a chunked body's trailer section; larger ones
    /// get 431.
    public var maxHeaderBytes = 16 * 1024
    /// Maximum number of header fields; more get 431.
    public var maxHeaderCount = 100
    /// Maximum length of the request target; longer targets get 414.
    public var maxURILength = 8 * 1024
    /// Maximum request body bytes, checked against `Content-Length` and while reading chunked bodies; larger
    /// bodies get a plain-text 413. A handler collecting a body in memory sets its own, smaller maximum. The
    /// `Content-Length` check runs before the handler gets the head, so keep this limit above any limit a handler
    /// checks itself when the handler's own error response should be the one sent.
    public var maxBodyBytes = 4 * 1024 * 1024 * 1024
    /// Maximum open connections; connections beyond it get 503 and close, and past 1.1 times it they are
    /// closed at once without a response.
    public var maxConnections = 10_000
    /// Maximum open connections from one client address: an IPv4 address, or an IPv6 /64 network, with
    /// IPv4-mapped IPv6 addresses counted as IPv4. A connection over it is closed at once without a response,
    /// before any TLS work, so one address cannot take every place under `maxConnections`. 0 turns the limit off.
    /// It is off by default because behind a proxy every client has the proxy's address, and tests and
    /// benchmarks open thousands of connections from loopback.
    public var maxConnectionsPerAddress = 0
    /// Maximum open connections from one client network: an IPv4 /24 or an IPv6 /48, with IPv4-mapped and NAT64
    /// addresses counted in their IPv4 /24. A link-local address counts on its own, with its interface, as under
    /// `maxConnectionsPerAddress`. A connection over it is closed at once without a response, before any TLS
    /// work, so a client with many addresses or a wide IPv6 prefix cannot take every place under
    /// `maxConnections`. 0 turns the limit off, and it is off by default for the same reasons as
    /// `maxConnectionsPerAddress`.
    public var maxConnectionsPerNetwork = 0
    /// Time allowed for the TLS handshake; then the connection closes without a response. 60 s, because when
    /// 10,000 clients connect at once (every site after a server restart) handshakes on a 2-core server took
    /// longer than 10 s, and a 10 s limit cut off about 60 of them.
    public var handshakeTimeout: Duration = .seconds(60)
    /// Time a new TLS connection may take to send its first byte; then it closes without a response. Bytes that
    /// arrived but that the server has not read yet count as sent, so a busy server keeps the clients it fell
    /// behind on. An idle socket keeps its place for this long rather than for all of `handshakeTimeout`, which
    /// still applies from accept once the first byte arrived. A value above `handshakeTimeout` has no effect.
    /// Plain TCP connections wait for their first request under `idleTimeout` instead.
    public var firstByteTimeout: Duration = .seconds(10)
    /// Time allowed from a request's first byte to the end of its head; then 408 and close.
    public var headerTimeout: Duration = .seconds(15)
    /// Time allowed between two reads of a request body, while the handler is ready for more; then 408.
    public var bodyTimeout: Duration = .seconds(30)
    /// Minimum average rate of a request body in bytes per second; a slower body gets 408. A body has
    /// `bodyTimeout` plus one second for every `minBodyRate` bytes received, not counting time the handler held
    /// it back. Without it, a client that sends one byte just before each `bodyTimeout` keeps its connection for
    /// days. 0 turns the check off.
    public var minBodyRate = 500
    /// Time a keep-alive connection may wait for its next request; then it closes silently.
    public var idleTimeout: Duration = .seconds(75)
    /// Time a response may make no progress because the client does not read; then the connection closes.
    public var writeTimeout: Duration = .seconds(60)
    /// Kernel receive buffer (`SO_RCVBUF`) of each accepted connection, in bytes; 0 keeps the kernel's automatic
    /// sizing. An automatic buffer grows to megabytes while a client sends faster than the server reads. With
    /// hundreds of uploads at once, these buffers together can use up the kernel's TCP memory, so the kernel
    /// drops packets and senders wait out retransmission timeouts of seconds. A fixed buffer bounds each
    /// connection's share, and also limits a single upload to about this many bytes per round trip. The kernel
    /// doubles the value for its bookkeeping and caps it at `net.core.rmem_max`. Keep it at 64 KiB or more: on
    /// loopback, whose segments are 64 KiB, uploads through a 16 KiB buffer slowed to about 40 KB/s.
    public var receiveBufferBytes = 0

    public init() {}

    var parserLimits: HTTPParserLimits {
        HTTPParserLimits(
            maxHeaderBytes: maxHeaderBytes,
            maxHeaderCount: maxHeaderCount,
            maxURILength: maxURILength,
            maxBodyBytes: maxBodyBytes
        )
    }
}
