// SPDX-License-Identifier: Apache-2.0
import DCFSupport

extension Listener {
    /// Limits `cannot accept connections` to one line per 10 s across all loops; while descriptors stay
    /// exhausted, the pause repeats every 100 ms.
    static let acceptPauseWarnings = LogRepeatLimit(interval: .seconds(10))

    /// Limits the warning about connections closed over `maxConnections` to one line per 10 s.
    static let overLimitCloses = LogRepeatLimit(interval: .seconds(10))

    /// Limits the warning about connections closed over `maxConnectionsPerAddress` to one line per 10 s across
    /// all addresses, so many addresses over their limit cannot flood the log either.
    static let overAddressLimitCloses = LogRepeatLimit(interval: .seconds(10))

    /// Limits the warning about connections closed over `maxConnectionsPerNetwork` to one line per 10 s across
    /// all networks.
    static let overNetworkLimitCloses = LogRepeatLimit(interval: .seconds(10))
}

extension HTTPConnection {
    /// Limits `TLS handshake failed`, handshake timeouts and first-byte timeouts to one info line per 10 s across
    /// all loops, so an expired certificate or an overload shows in the log without a line per client.
    static let handshakeFailures = LogRepeatLimit(interval: .seconds(10))

    /// Limits the line about connections closed by the write timeout to one info line per 10 s across all loops.
    static let writeTimeouts = LogRepeatLimit(interval: .seconds(10))

    /// Limits the warning about plaintext requests and HTTP/2 prefaces on a TLS port to one line per 10 s across
    /// all loops.
    static let wrongProtocolWarnings = LogRepeatLimit(interval: .seconds(10))
}
