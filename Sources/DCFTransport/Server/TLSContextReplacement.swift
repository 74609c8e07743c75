// SPDX-License-Identifier: Apache-2.0

/// The effect of `HTTPServer.replaceTLSContext(_:)` on the connections already open.
public struct TLSContextReplacement: Sendable, Equatable {
    /// Whether the new context accepts other client certificates than the one it replaced.
    public var clientPolicyChanged = false
    /// Connections closed at once because their handshake used the previous client certificate policy.
    public var closedConnections = 0
    /// Connections under the previous policy that close after the response to their request in progress.
    public var connectionsClosingAfterResponse = 0

    public init(clientPolicyChanged: Bool = false) {
        self.clientPolicyChanged = clientPolicyChanged
    }
}
