// SPDX-License-Identifier: Apache-2.0
import DCFTransport
import Testing

@Suite struct HostTextTests {
    @Test func bracketsIPv6Hosts() {
        #expect(HostText.bracketed("::1") == "[::1]")
        #expect(HostText.bracketed("127.0.0.1") == "127.0.0.1")
        #expect(HostText.withPort("2001:db8::7", 8443) == "[2001:db8::7]:8443")
    }

    /// An IPv6 address without brackets in a URL gets a hint; host names, IPv4 addresses and bracketed IPv6
    /// addresses do not.
    @Test(arguments: ["https://::1:8443", "https://::1", "http://2001:db8::7:80/", "fe80::1%25lo", "::1"])
    func unbracketedIPv6Hint(url: String) {
        #expect(HostText.unbracketedIPv6Hint(url)?.contains("https://[::1]:8443") == true)
    }

    @Test(arguments: ["https://[::1]:8443", "https://127.0.0.1:8443", "https://example.org", "https://host:80:90", ""])
    func noHintForOtherAddresses(url: String) {
        #expect(HostText.unbracketedIPv6Hint(url) == nil)
    }
}
