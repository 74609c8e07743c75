// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Testing

@Suite struct ProcessStatsTests {
    @Test func readsOwnProcess() throws {
        let before = try ProcessStats.current()
        // Writing 64 MiB makes the resident size and peak grow past it. Rewriting it burns CPU time until the
        // clock-tick counters move, and the bound makes a broken counter fail the test instead of looping forever.
        var block = [UInt8](repeating: 1, count: 64 << 20)
        var after = try ProcessStats.current()
        for round in 0..<10_000 where after.cpuSeconds <= before.cpuSeconds {
            block.withUnsafeMutableBytes { _ = memset($0.baseAddress!, Int32(round & 0xFF), $0.count) }
            after = try ProcessStats.current()
        }
        #expect(after.peakResidentBytes >= 64 << 20)
        #expect(after.residentBytes > 0)
        #expect(after.peakResidentBytes >= after.residentBytes)
        #expect(after.virtualBytes >= after.residentBytes)
        #expect(after.cpuSeconds > before.cpuSeconds)
        #expect(after.threads >= 1)
        #expect(after.openFileDescriptors >= 3)
        withExtendedLifetime(block) {}
    }
}
