// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Testing

@Suite struct UnitFormatTests {
    static let durations: [(String, Duration)] = [
        ("50s", .seconds(50)), ("2m", .seconds(120)), ("500ms", .milliseconds(500)), ("1h30m", .seconds(5400)),
        ("1.5s", .milliseconds(1500)), ("250us", .microseconds(250)), ("10ns", .nanoseconds(10)),
        ("1d", .seconds(86_400)),
        ("0", .zero), (" 3s ", .seconds(3)),
    ]

    @Test(arguments: durations)
    func parsesDuration(text: String, expected: Duration) throws {
        #expect(try DurationFormat.parse(text) == expected)
    }

    static let badDurations: [(String, String)] = [
        ("50", #"invalid duration "50": missing unit after 50, write for example "50s" or "50ms""#),
        ("5x", #"invalid duration "5x": unknown unit "x", use ns, us, ms, s, m, h or d"#),
        ("", #"invalid duration "": expected a duration such as "30s", "2m", "500ms" or "1h30m""#),
        ("s", #"invalid duration "s": expected a duration such as "30s", "2m", "500ms" or "1h30m""#),
        ("-5s", #"invalid duration "-5s": expected a duration such as "30s", "2m", "500ms" or "1h30m""#),
        ("1.s", #"invalid duration "1.s": expected a duration such as "30s", "2m", "500ms" or "1h30m""#),
        ("999999999d", #"invalid duration "999999999d": too long, the maximum is about 292 years"#),
    ]

    @Test(arguments: badDurations)
    func rejectsDuration(text: String, message: String) {
        let error = #expect(throws: UnitParseError.self) { try DurationFormat.parse(text) }
        #expect(error?.description == message)
    }

    @Test func formatsDuration() {
        #expect(DurationFormat.format(.seconds(90)) == "90s")
        #expect(DurationFormat.format(.seconds(120)) == "2m")
        #expect(DurationFormat.format(.milliseconds(1500)) == "1500ms")
        #expect(DurationFormat.format(.zero) == "0s")
        #expect(DurationFormat.format(.seconds(7200)) == "2h")
    }

    static let sizes: [(String, Int64)] = [
        ("64MiB", 67_108_864), ("1GB", 1_000_000_000), ("4096", 4096), ("1.5KiB", 1536), ("10 KB", 10_000),
        ("2TiB", 2_199_023_255_552), ("0", 0), ("7B", 7),
    ]

    @Test(arguments: sizes)
    func parsesSize(text: String, expected: Int64) throws {
        #expect(try ByteCountFormat.parse(text) == expected)
    }

    static let badSizes: [(String, String)] = [
        (
            "1M",
            #"invalid size "1M": unknown unit "M", use B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)"#
        ),
        ("MiB", #"invalid size "MiB": expected a size such as "64MiB", "1GB" or "4096" (bytes)"#),
        ("-1KB", #"invalid size "-1KB": expected a size such as "64MiB", "1GB" or "4096" (bytes)"#),
        ("99999999TiB", #"invalid size "99999999TiB": too large, the maximum is 8EiB"#),
    ]

    @Test(arguments: badSizes)
    func rejectsSize(text: String, message: String) {
        let error = #expect(throws: UnitParseError.self) { try ByteCountFormat.parse(text) }
        #expect(error?.description == message)
    }

    @Test func formatsSize() {
        #expect(ByteCountFormat.format(64 << 20) == "64MiB")
        #expect(ByteCountFormat.format(1_000_000_000) == "1GB")
        #expect(ByteCountFormat.format(1000) == "1KB")
        #expect(ByteCountFormat.format(1001) == "1001B")
        #expect(ByteCountFormat.format(0) == "0B")
    }
}
