// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DCFTransport

@Suite struct HTTPRequestParserTests {
    private static let limits = HTTPParserLimits(maxHeaderBytes: 4096, maxHeaderCount: 20, maxURILength: 1024, maxBodyBytes: 1 << 20)

    /// The events of parsing `input` fed `step` bytes at a time, with body bytes joined.
    private struct Parsed {
        var heads: [HTTPRequestHead] = []
        var bodies: [[UInt8]] = []
        var ends = 0
    }

    private func parse(_ text: String, step: Int) throws(HTTPParseError) -> Parsed {
        var parser = HTTPRequestParser(limits: Self.limits)
        var parsed = Parsed()
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let piece = Array(bytes[start..<min(bytes.count, start + step)])
            start += piece.count
            var offset = 0
            while true {
                if parser.takeEnd() != nil {
                    parsed.ends += 1
                    continue
                }
                guard offset < piece.count else { break }
                let result = piece.withUnsafeBytes { raw in
                    Result { () throws(HTTPParseError) in
                        let rest = UnsafeRawBufferPointer(rebasing: raw[offset...])
                        let (consumed, event) = try parser.parse(rest)
                        var body: [UInt8]?
                        if case .body(let range) = event { body = Array(rest[range]) }
                        return (consumed, event, body)
                    }
                }
                let (consumed, event, body) = try result.get()
                offset += consumed
                switch event {
                case .head(let head, _):
                    parsed.heads.append(head)
                    parsed.bodies.append([])
                case .body:
                    parsed.bodies[parsed.bodies.count - 1] += body ?? []
                case .end:
                    parsed.ends += 1
                case nil:
                    break
                }
            }
        }
        if parser.takeEnd() != nil { parsed.ends += 1 }
        return parsed
    }

    static let pipeline = """
        GET /a?x=1 HTTP/1.1\r\nHost: h\r\nX-Multi: one\r\nx-multi: two\r\n\r\n\
        POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
        PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n\
        GET /d HTTP/1.0\r\n\r\n
        """

    @Test(arguments: [1, 2, 7, 64, 4096])
    func pipelineParsesAtAnySplit(step: Int) throws {
        let parsed = try parse(Self.pipeline, step: step)
        #expect(parsed.heads.map(\.target) == ["/a?x=1", "/b", "/c", "/d"])
        #expect(parsed.bodies.map { String(decoding: $0, as: UTF8.self) } == ["", "hello", "abcde", ""])
        #expect(parsed.ends == 4)
        #expect(parsed.heads[0].headers.values(for: "x-multi") == ["one", "two"])
        #expect(parsed.heads[0].path == "/a")
        #expect(parsed.heads[0].query == "x=1")
        #expect(parsed.heads[3].minorVersion == 0)
        #expect(parsed.heads[3].isKeepAlive == false)
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nBad\u{7F}Name: v\r\n\r\n", 400),
        ("GET /\u{1} HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n", 413),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 413),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2,\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 3\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, +2\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2, 3\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400),
        ("GET / HTTP/3\r\nHost: h\r\n\r\n", 505),
    ])
    func invalidRequestsFail(request: String, status: Int) {
        #expect(throws: HTTPParseError.self) { try parse(request, step: 5) }
        do {
            _ = try parse(request, step: 5)
        } catch {
            #expect(error.status.code == status)
        }
    }

    @Test func repeatedEqualContentLengthIsAccepted() throws {
        let parsed = try parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", step: 3)
        #expect(parsed.bodies == [Array("ok".utf8)])
    }

    @Test func commaListOfEqualContentLengthsIsAccepted() throws {
        let parsed = try parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\n\r\nok", step: 3)
        #expect(parsed.bodies == [Array("ok".utf8)])
    }

    @Test func leadingZerosInContentLengthAreAccepted() throws {
        let parsed = try parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0000000000000000000002\r\n\r\nok", step: 3)
        #expect(parsed.bodies == [Array("ok".utf8)])
    }

    @Test func conflictingContentLengthsAreBothNamed() {
        do {
            _ = try parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 244\r\nContent-Length: 3\r\n\r\n", step: 5)
            Issue.record("expected an error")
        } catch {
            #expect(error.status.code == 400)
            #expect(error.detail == "conflicting Content-Length values '244', '3'")
        }
    }

    /// A client may send one CRLF after a request body, before the next request line.
    @Test(arguments: [1, 2, 3, 4096])
    func emptyLineBeforeRequestIsSkipped(step: Int) throws {
        let text = "\r\nPOST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"
        let parsed = try parse(text, step: step)
        #expect(parsed.heads.map(\.target) == ["/a", "/b"])
        #expect(parsed.bodies == [Array("ok".utf8), []])
        #expect(parsed.ends == 2)
    }

    @Test(arguments: [1, 4096])
    func secondEmptyLineBeforeRequestFails(step: Int) {
        do {
            _ = try parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", step: step)
            Issue.record("expected an error")
        } catch {
            #expect(error.status.code == 400)
        }
    }

    @Test func endlessTrailerSectionFailsAt431() {
        let trailers = String(repeating: "X-T: v\r\n", count: 1000)
        do {
            _ = try parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\(trailers)\r\n", step: 64)
            Issue.record("expected an error")
        } catch {
            #expect(error.status.code == 431)
            #expect(error.detail == "trailer section larger than 4096 bytes")
        }
    }

    @Test func headersTooLargeAt431() {
        let request = "GET / HTTP/1.1\r\nHost: h\r\nX: \(String(repeating: "v", count: 5000))\r\n\r\n"
        do {
            _ = try parse(request, step: 100)
            Issue.record("expected an error")
        } catch {
            #expect(error.status.code == 431)
        }
    }
}
