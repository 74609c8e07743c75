// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Glibc
import Testing

struct StandardStreamTests {
    /// The situation of `dcf-serverd 2>&1 | head -1` once `head` has exited.
    @Test func writeToAPipeWithoutReaderReturns() {
        signal(SIGPIPE, SIG_IGN)
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        close(ends[0])
        defer { close(ends[1]) }
        // FileHandle.write stops the process here; this write must return.
        StandardStream.write("a line nobody reads\n", to: ends[1])
        let result = Glibc.write(ends[1], "x", 1)
        let code = errno
        #expect(result == -1)
        #expect(code == EPIPE)
    }

    @Test func writesEveryByteToAPipe() {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let text = String(repeating: "line of text\n", count: 100)
        StandardStream.write(text, to: ends[1])
        close(ends[1])
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(ends[0], &buffer, buffer.count)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        close(ends[0])
        #expect(String(decoding: received, as: UTF8.self) == text)
    }
}
