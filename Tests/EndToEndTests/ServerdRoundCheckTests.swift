// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

/// A server whose `update_lim` is above the number of workers that may send updates, with no round deadline,
/// can never close a round, so it logs a warning at start.
@Suite struct ServerdRoundCheckTests {
    @Test func unreachableUpdateLimitIsWarned() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch(["--update-lim", "3"])
        defer { server.process.terminate(signal: SIGKILL) }
        let line = try server.process.waitForLine(containing: "no round can close")
        #expect(line.contains(" warning "), "\(line)")
        #expect(line.contains("update_lim=3"), "\(line)")
        #expect(line.contains("workers=1"), "\(line)")
    }

    @Test func reachableUpdateLimitOrDeadlineIsQuiet() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let reachable = try fixture.launch()
        #expect(try reachable.stop() == 0)
        #expect(!reachable.process.output.contains("no round can close"), "\(reachable.process.output)")

        let withDeadline = try fixture.launch(["--update-lim", "3", "--fedavg.round_deadline=60s"], logName: "deadline.log")
        #expect(try withDeadline.stop() == 0)
        #expect(!withDeadline.process.output.contains("no round can close"), "\(withDeadline.process.output)")
    }
}
