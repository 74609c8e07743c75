// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc

/// The address, security, loop count and limits of an `HTTPServer`.
public struct HTTPServerConfiguration: Sendable {
    /// Whether connections use TLS. There is no default: plain TCP must be chosen explicitly.
    public enum Security: Sendable {
        /// TLS with this server context. The first bytes of each connection are checked, and plaintext HTTP or
        /// an HTTP/2 preface is closed with a log line.
        case tls(TLSContext)
        /// Plain TCP, for a TLS-terminating proxy in front or for local tests.
        case plaintext
    }

    /// The numeric IPv4 or IPv6 address to bind, such as `127.0.0.1`, `0.0.0.0` or `::`.
    public var host: String
    /// The TCP port; 0 picks a free port, which `HTTPServer.start()` returns.
    public var port: Int
    public var security: Security
    /// The number of event-loop threads; defaults to the number of active processor cores.
    public var eventLoopCount: Int
    public var limits: HTTPServerLimits
    /// The length of the kernel's queue of connections not yet accepted, shared by all loops. The kernel caps
    /// it at `net.core.somaxconn` (4096 by default on Linux 5.4 and later).
    public var listenBacklog: Int

    /// The default `listenBacklog`: as long as the kernel allows. Thousands of workers that connect at once
    /// overflow a short queue, and the kernel falls back to SYN cookies. With a queue of 1024, 10,000
    /// simulated workers saw a hundred or more of those connections closed during the TLS handshake.
    public static let defaultListenBacklog = 65535

    /// The number of active processor cores, the default `eventLoopCount`.
    public static var processorCount: Int { ProcessInfo.processInfo.activeProcessorCount }

    public init(
        host: String = "127.0.0.1",
        port: Int,
        security: Security,
        eventLoopCount: Int = HTTPServerConfiguration.processorCount,
        limits: HTTPServerLimits = HTTPServerLimits(),
        listenBacklog: Int = HTTPServerConfiguration.defaultListenBacklog
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.eventLoopCount = eventLoopCount
        self.limits = limits
        self.listenBacklog = listenBacklog
    }
}

/// An error raised when an `HTTPServer` cannot start or change its settings.
public struct HTTPServerError: Error, CustomStringConvertible {
    public let description: String
    /// The failed system call when the listening socket could not be created, bound or put into listening
    /// state, for example `bind` with `EADDRINUSE`; nil for configuration errors.
    public let systemError: SystemError?

    static func invalidConfiguration(_ text: String) -> HTTPServerError {
        HTTPServerError(description: text, systemError: nil)
    }

    static func cannotListen(host: String, port: Int, _ error: SystemError) -> HTTPServerError {
        let address = HostText.withPort(host, port)
        let advice = error.code == EADDRINUSE
            ? "; another process listens on this port, so stop it or choose another port" : ""
        return HTTPServerError(description: "cannot listen on \(address): \(error)\(advice)", systemError: error)
    }
}
