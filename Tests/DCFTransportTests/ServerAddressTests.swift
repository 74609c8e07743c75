// SPDX-License-Identifier: Apache-2.0
import DCFTransport
import Testing

@Suite struct ServerAddressTests {
    @Test func parsesHostAndDefaultPorts() throws {
        let https = try ServerAddress(parsing: "https://fl.example.org")
        #expect(https.usesTLS)
        #expect(https.host == "fl.example.org")
        #expect(https.port == 443)
        let http = try ServerAddress(parsing: "HTTP://127.0.0.1:8080/")
        #expect(!http.usesTLS)
        #expect(http.port == 8080)
        let ipv6 = try ServerAddress(parsing: "https://[::1]:8443")
        #expect(ipv6.host == "::1")
        #expect(ipv6.port == 8443)
    }

    @Test(arguments: [
        ("https://user:secret@127.0.0.1:1", ServerAddress.Problem.credentials),
        ("https://a b@127.0.0.1/x", .credentials),
        ("ftp://127.0.0.1:1", .scheme),
        ("127.0.0.1:8443", .scheme),
        ("https://", .host(hint: nil)),
        ("https://127.0.0.1:1/dcf", .path),
        ("https://127.0.0.1:1/?token=1", .queryOrFragment),
        ("https://127.0.0.1:1#site", .queryOrFragment),
        ("https://127.0.0.1:99999", .portOutOfRange(99999)),
    ])
    func rejectsWithProblem(text: String, problem: ServerAddress.Problem) {
        #expect(throws: problem) { try ServerAddress(parsing: text) }
    }

    @Test func unbracketedIPv6GetsHint() {
        #expect(throws: ServerAddress.Problem.host(hint: "write an IPv6 address in brackets, as in https://[::1]:8443")) {
            try ServerAddress(parsing: "https://::1:8443")
        }
    }
}
