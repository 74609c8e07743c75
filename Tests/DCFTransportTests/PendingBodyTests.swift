// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DCFTransport

/// `PendingBody` merges adjacent ranges without copying and joins ranges with gaps in order.
@Suite struct PendingBodyTests {
    @Test(arguments: [
        ([0..<3, 3..<5], [0, 1, 2, 3, 4]),
        ([1..<2, 4..<6, 6..<7, 9..<10], [1, 4, 5, 6, 9]),
        ([2..<3], [2]),
    ] as [([Range<Int>], [UInt8])])
    func deliversAddedRangesInOrder(ranges: [Range<Int>], expected: [UInt8]) {
        let input: [UInt8] = Array(0..<10)
        var delivered: [[UInt8]] = []
        input.withUnsafeBytes { raw in
            var pending = PendingBody()
            for range in ranges { pending.add(range, of: raw) }
            #expect(pending.count == expected.count)
            pending.deliver(from: raw) { delivered.append(Array($0)) }
            #expect(pending.isEmpty)
        }
        #expect(delivered == [expected])
    }
}
