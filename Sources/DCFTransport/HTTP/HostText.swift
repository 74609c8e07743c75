// SPDX-License-Identifier: Apache-2.0

/// Host names and IP addresses as URLs, `Host` headers and messages write them.
public enum HostText {
    /// Returns `host` in brackets when it is an IPv6 address, so that a port can follow it: `[::1]`.
    public static func bracketed(_ host: String) -> String {
        host.contains(":") ? "[\(host)]" : host
    }

    /// Returns `host:port`, with an IPv6 address in brackets: `[::1]:8443`.
    public static func withPort(_ host: String, _ port: Int) -> String {
        "\(bracketed(host)):\(port)"
    }
}
