// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A dcf server address, `https://host:port` or `http://host:port`, as dcf-agent, dcfctl and `DCFWorker` take it.
///
/// Each program words its own message for a `Problem`, naming its own setting or option.
public struct ServerAddress: Sendable, Equatable {
    /// The reason a text is not a server address.
    public enum Problem: Error, Equatable {
        /// The text contains "@", which marks credentials. A server address has no "@" anywhere, because its path
        /// may only be "/" and it has no query or fragment. So this also catches credentials that URL parsing
        /// fails on. Callers must not quote the text, so that a password reaches neither a terminal nor a log.
        case credentials
        /// The scheme is missing or is neither https nor http.
        case scheme
        /// The host is missing. `hint` suggests brackets when the text has an unbracketed IPv6 address.
        case host(hint: String?)
        /// The path is other than "/": dcf routes live at the root.
        case path
        case queryOrFragment
        case portOutOfRange(Int)
    }

    /// Whether the scheme is https.
    public let usesTLS: Bool
    /// The host, an IPv6 address without its brackets.
    public let host: String
    /// The port; without one in the text, 443 for https and 80 for http.
    public let port: Int

    /// Parses `text`, the scheme in any case.
    public init(parsing text: String) throws(Problem) {
        if text.contains("@") { throw .credentials }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http"
        else {
            // An unbracketed IPv6 address can make the whole text unparsable, scheme included.
            if let hint = HostText.unbracketedIPv6Hint(text) { throw .host(hint: hint) }
            throw .scheme
        }
        guard let host = components.host, !host.isEmpty else {
            throw .host(hint: HostText.unbracketedIPv6Hint(text))
        }
        guard components.path.isEmpty || components.path == "/" else { throw .path }
        guard components.query == nil, components.fragment == nil else { throw .queryOrFragment }
        usesTLS = scheme == "https"
        port = components.port ?? (usesTLS ? 443 : 80)
        guard (1...65535).contains(port) else { throw .portOutOfRange(port) }
        // URLComponents keeps the brackets of an IPv6 literal, and connections take the bare address.
        let isBracketed = host.hasPrefix("[") && host.hasSuffix("]")
        self.host = isBracketed ? String(host.dropFirst().dropLast()) : host
    }
}
