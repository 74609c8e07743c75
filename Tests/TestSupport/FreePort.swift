// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Loopback port numbers for programs that cannot report the port they bound.
public enum FreePort {
    /// Returns a TCP port on 127.0.0.1 that was free a moment ago.
    ///
    /// The kernel picks the port by binding port 0; the socket is closed before returning, so another process can
    /// take the port first. Prefer letting the server under test bind port 0 and report its port.
    public static func loopback() throws -> UInt16 {
        let (descriptor, port) = try LoopbackSocket.listen(backlog: nil)
        close(descriptor)
        return UInt16(port)
    }
}
