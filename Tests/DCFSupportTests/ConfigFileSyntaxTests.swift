// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Testing

@Suite struct ConfigFileSyntaxTests {
    @Test func byteOrderMarkIsSkipped() throws {
        let text = "\u{FEFF}[server]\r\nport = 9443\r\n[tls]\ncertificate = \"c.pem\"\n[strategy]\nmode = \"fedavg\"\n"
        let config = try Fixtures.schema.load(text: text, file: "bom.conf")
        #expect(config.integer("server.port") == 9443)
        #expect(config.setting("server.port").source == .file("bom.conf", line: 2))
        #expect(config.string("strategy.mode") == "fedavg")
    }

    @Test func parsesEveryValueType() throws {
        let text = """
            # leading comment
            [tls]
            certificate = "dir/\\"c\\".pem\\u00e9"  # trailing comment
            [server]
              host = '127.0.0.1#not-a-comment'
            port = 9_443
            plain-http = true
            hold = "1m30s"

            [limits]
            max-body = "1.5GiB"
            connections = 250
            [strategy]
            learning-rate = 1e-2
            mode = "fedprox"
            [auth]
            keys = ["a.key", "b, c.key",]
            weights = [1, 2.5, -3]
            """
        let config = try Fixtures.schema.load(text: text, file: "x.conf")
        #expect(config.string("tls.certificate") == "dir/\"c\".pem\u{e9}")
        #expect(config.string("server.host") == "127.0.0.1#not-a-comment")
        #expect(config.integer("server.port") == 9443)
        #expect(config.bool("server.plain-http"))
        #expect(config.duration("server.hold") == .seconds(90))
        #expect(config.byteCount("limits.max-body") == 1_610_612_736)
        #expect(config.integer("limits.connections") == 250)
        #expect(config.double("strategy.learning-rate") == 0.01)
        #expect(config.string("strategy.mode") == "fedprox")
        #expect(config.strings("auth.keys") == ["a.key", "b, c.key"])
        #expect(config.numbers("auth.weights") == [1, 2.5, -3])
        #expect(config.optionalString("auth.admin-file") == nil)
        #expect(config.setting("server.port").source == .file("x.conf", line: 6))
    }

    @Test func crlfLineEndings() throws {
        let config = try Fixtures.schema.load(
            text: "[tls]\r\ncertificate = \"c\"\r\n[server]\r\nport = 1\r\n", file: nil)
        #expect(config.string("tls.certificate") == "c")
        #expect(config.integer("server.port") == 1)
    }

    @Test func exampleFileRoundTripsToDefaults() throws {
        let example = Fixtures.schema.exampleFile(title: ["dcf-test example"])
        #expect(example.contains("# Listening socket.\n[server]"))
        #expect(example.contains("#port = 8443"))
        #expect(example.contains("# Expected: an integer 1-65535. Default: 8443."))
        #expect(example.contains("# Expected: an integer 1-1000000. Unit: connections. Default: 10000."))
        #expect(example.contains("#certificate =\n"))
        // Uncommenting every `#key = value` line must give a valid file that sets exactly the defaults.
        let uncommented = example.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("#") && line.contains(" = ") && !line.hasPrefix("# ")
                ? String(line.dropFirst()) : String(line)
        }
        let text = uncommented.joined(separator: "\n").replacingOccurrences(
            of: "#certificate =", with: "certificate = \"c\"")
        let config = try Fixtures.schema.load(text: text, file: "example.conf")
        for option in Fixtures.schema.options where option.defaultValue != nil {
            #expect(config.value(option.name) == option.defaultValue, "\(option.name)")
            #expect(config.setting(option.name).source != .defaultValue, "\(option.name) was not set by the example")
        }
    }
}
