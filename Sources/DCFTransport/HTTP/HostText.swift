// SPDX-License-Identifier: Apache-2.0
import Glibc

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

    /// Returns a hint to add brackets when the host of `url` is an IPv6 address without them, else nil. URL parsers
    /// reject such a URL, as `https://::1:8443`, or read part of the address as the port.
    public static func unbracketedIPv6Hint(_ url: String) -> String? {
        var authority = Substring(url)
        if let separator = url.range(of: "://") { authority = url[separator.upperBound...] }
        authority = authority.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.hasPrefix("[") else { return nil }
        // A zone index (`%25lo` in a URL) follows the address; the port, when written, follows the last colon.
        let address = authority.prefix { $0 != "%" }
        let withoutPort = address.lastIndex(of: ":").map { address[..<$0] } ?? address
        guard isIPv6Address(address) || isIPv6Address(withoutPort) else { return nil }
        return "write an IPv6 address in brackets, as in https://[::1]:8443"
    }

    private static func isIPv6Address(_ text: Substring) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, String(text), &address) == 1
    }
}
