// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import DCFSupport

@Suite struct LoggerTests {
    /// Logs one line through a sink that keeps it, and returns the line without its timestamp.
    private func logged(_ message: String, _ fields: [(String, String)] = []) -> String {
        let lines = Mutex<[String]>([])
        let logger = Logger(component: "test", sink: LogSink(level: .info) { line in lines.withLock { $0.append(line) } })
        logger.warning(message, fields)
        let all = lines.withLock { $0 }
        #expect(all.count == 1)
        let line = all.first ?? ""
        #expect(line.hasSuffix("\n"))
        #expect(line.dropLast().contains("\n") == false)
        return String(line.drop(while: { $0 != " " }).dropFirst().dropLast())
    }

    @Test func plainValuesStayUnquoted() {
        #expect(logged("update rejected", [("worker", "ab12cd34"), ("bytes", "100")])
            == "warning test: update rejected worker=ab12cd34 bytes=100")
    }

    @Test func valuesWithSpacesAreQuoted() {
        #expect(logged("failed", [("error", "no such file"), ("empty", "")])
            == #"warning test: failed error="no such file" empty="""#)
    }

    @Test func lineBreakInValueCannotForgeLine() {
        let forged = "x\n2026-12-05T00:00:00.000Z error admin: credentials accepted"
        let line = logged("rejected", [("tensor", forged)])
        #expect(line == #"warning test: rejected tensor="x\n2026-12-05T00:00:00.000Z error admin: credentials accepted""#)
    }

    @Test func lineBreakInMessageIsEscaped() {
        #expect(logged("first\r\nsecond\tthird") == #"warning test: first\r\nsecond\tthird"#)
    }

    @Test func otherControlCharactersAreEscaped() {
        #expect(logged("bell\u{07}", [("name", "esc\u{1B}[2J del\u{7F} c1\u{85}")])
            == #"warning test: bell\u{7} name="esc\u{1B}[2J del\u{7F} c1\u{85}""#)
    }

    @Test func quotesAndBackslashesAreEscaped() {
        #expect(logged("m", [("path", #"C:\dir"#), ("text", #"say "hi""#)])
            == #"warning test: m path="C:\\dir" text="say \"hi\"""#)
    }
}
