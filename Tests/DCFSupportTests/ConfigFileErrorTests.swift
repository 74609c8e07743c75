// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Testing

@Suite struct ConfigFileErrorTests {
    /// Lines 1-3 set the required key and open [server], so the line under test is line 4.
    static let prefix = "[tls]\ncertificate = \"c.pem\"\n[server]\n"

    static let cases: [(line: String, expected: String)] = [
        ("port = 80a", #"serverd.conf:4: key "port" in [server]: expected an integer 1-65535, found "80a""#),
        ("port = 70000", #"serverd.conf:4: key "port" in [server]: expected an integer 1-65535, found 70000"#),
        (
            "port = \"8443\"",
            #"serverd.conf:4: key "port" in [server]: expected an integer 1-65535, found the string "8443""#
        ),
        ("prot = 1", #"serverd.conf:4: key "prot" in [server]: unknown key, did you mean "port"?"#),
        (
            "zzzzzz = 1",
            #"serverd.conf:4: key "zzzzzz" in [server]: unknown key, the keys of [server] are host, port, plain-http, hold"#
        ),
        ("[sever]", #"serverd.conf:4: unknown section [sever], did you mean [server]?"#),
        ("[tls]", #"serverd.conf:4: duplicate section [tls], first opened on line 1"#),
        (
            "host = \"a\nhost = \"b\"",
            #"serverd.conf:4: key "host" in [server]: unterminated string starting at column 8, add the closing ""#
        ),
        (
            "  host='a",
            #"serverd.conf:4: key "host" in [server]: unterminated string starting at column 8, add the closing '"#
        ),
        (
            "host = \"a\" x",
            #"serverd.conf:4: key "host" in [server]: unexpected text "x" after the value, start a comment with #"#
        ),
        (
            "host = \"a\\q\"",
            #"serverd.conf:4: key "host" in [server]: invalid escape \q in string, use \\ for a backslash"#
        ),
        ("host =", #"serverd.conf:4: key "host" in [server]: missing value after ="#),
        ("plain-http = yes", #"serverd.conf:4: key "plain-http" in [server]: expected true or false, found "yes""#),
        (
            "hold = \"50\"",
            #"serverd.conf:4: key "hold" in [server]: invalid duration "50": missing unit after 50, write for example "50s" or "50ms""#
        ),
        (
            "hold = \"20m\"",
            #"serverd.conf:4: key "hold" in [server]: expected a duration such as "30s", "2m", "500ms" or "1h30m", at least 1s, at most 10m, found the string "20m""#
        ),
        (
            "hold = 50",
            #"serverd.conf:4: key "hold" in [server]: expected a duration such as "30s", "2m", "500ms" or "1h30m", at least 1s, at most 10m, found 50"#
        ),
        ("just words", #"serverd.conf:4: expected "key = value" or "[section]", found "just words""#),
        ("[server", #"serverd.conf:4: invalid section header "[server", write [name]"#),
        (
            "\"quoted key\" = 1",
            #"serverd.conf:4: invalid key "\"quoted key\"", keys use only letters, digits, _ and -"#
        ),
    ]

    @Test(arguments: cases)
    func reportsFileLineAndKey(line: String, expected: String) throws {
        let error = #expect(throws: ConfigError.self) {
            try Fixtures.schema.load(text: Self.prefix + line + "\n", file: "serverd.conf")
        }
        #expect(error?.issues.map(\.description).first == expected)
        #expect(error?.exitCode == .config)
    }

    @Test func duplicateKeyNamesFirstLine() throws {
        let text = Self.prefix + "port = 1\n\nport = 2\n"
        let error = #expect(throws: ConfigError.self) { try Fixtures.schema.load(text: text, file: "serverd.conf") }
        #expect(error?.description == #"serverd.conf:6: key "port" in [server]: duplicate key, first set on line 4"#)
    }

    @Test func keyOutsideSection() throws {
        let error = #expect(throws: ConfigError.self) {
            try Fixtures.schema.load(text: "port = 1\n" + Self.prefix, file: "serverd.conf")
        }
        #expect(
            error?.description
                == #"serverd.conf:1: key "port": a key outside any section, move it under a [section] header"#)
    }

    @Test func missingRequiredKey() throws {
        let error = #expect(throws: ConfigError.self) {
            try Fixtures.schema.load(text: "[server]\n", file: "serverd.conf")
        }
        #expect(
            error?.description
                == #"serverd.conf: key "certificate" in [tls]: missing required value, set it in the config file or with --tls.certificate"#
        )
    }

    @Test func missingRequiredKeyNamesShortOption() throws {
        let schema = ConfigSchema([
            .required("agent", "server", type: .string, flag: "server", help: "URL of the server."),
        ])
        let error = #expect(throws: ConfigError.self) { try schema.load(text: "", file: "agent.conf") }
        #expect(
            error?.description
                == #"agent.conf: key "server" in [agent]: missing required value, set it in the config file or with --server (or --agent.server)"#
        )
    }

    @Test func everyIssueIsReportedInLineOrder() throws {
        let text = Self.prefix + "port = x\n[nope]\nfoo = 1\n[limits]\nconnections = 0\n"
        let error = #expect(throws: ConfigError.self) { try Fixtures.schema.load(text: text, file: "a.conf") }
        #expect(error?.issues.map(\.line) == [4, 5, 8])
        #expect(error?.issues.map(\.key) == ["port", nil, "connections"])
    }

    @Test func unreadableFileNamesPath() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("missing.conf")
        let error = #expect(throws: ConfigError.self) { try Fixtures.schema.load(file: path) }
        #expect(error?.description.hasPrefix("\(path): cannot read the config file: open(") == true)
        #expect(error?.description.contains("No such file or directory") == true)
    }
}
