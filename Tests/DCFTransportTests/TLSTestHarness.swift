// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
@testable import DCFTransport

/// A connected pair of non-blocking Unix stream sockets, closed by `close()`.
struct TLSSocketPair {
    let clientSide: Int32
    let serverSide: Int32

    init() throws {
        var descriptors: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &descriptors) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        clientSide = descriptors[0]
        serverSide = descriptors[1]
        for descriptor in descriptors {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        }
    }

    func close() {
        _ = Foundation.close(clientSide)
        _ = Foundation.close(serverSide)
    }
}

/// Final results of driving both ends of a handshake in one thread.
struct HandshakeOutcome {
    var client: TLSIOResult
    var server: TLSIOResult
}

/// Drives both handshakes in turn until each side finished or failed; a socket pair buffers enough for
/// every flight, so alternating calls always make progress.
func runHandshake(client: TLSSession, server: TLSSession) -> HandshakeOutcome {
    var outcome = HandshakeOutcome(client: .wantWrite, server: .wantRead)
    for _ in 0..<100 {
        if isPending(outcome.client) { outcome.client = client.handshake() }
        if isPending(outcome.server) { outcome.server = server.handshake() }
        if !isPending(outcome.client) && !isPending(outcome.server) { break }
    }
    return outcome
}

private func isPending(_ result: TLSIOResult) -> Bool {
    result == .wantRead || result == .wantWrite
}

/// Sessions on both ends of a fresh socket pair.
struct TLSConnectedSessions {
    let sockets: TLSSocketPair
    let client: TLSSession
    let server: TLSSession

    init(
        client clientConfiguration: TLSConfiguration, server serverConfiguration: TLSConfiguration,
        serverName: String? = "localhost", serverCollectsOutput: Bool = false
    ) throws {
        sockets = try TLSSocketPair()
        client = try TLSSession(
            context: TLSContext(configuration: clientConfiguration), fileDescriptor: sockets.clientSide,
            serverName: serverName
        )
        server = try TLSSession(
            context: TLSContext(configuration: serverConfiguration), fileDescriptor: sockets.serverSide,
            collectsOutput: serverCollectsOutput
        )
    }
}

extension CertificateFactory {
    func serverConfiguration(_ identity: Identity) -> TLSConfiguration {
        .server(certificateChainFile: identity.certificateFile, privateKeyFile: identity.privateKeyFile)
    }
}
