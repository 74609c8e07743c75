// SPDX-License-Identifier: Apache-2.0
import DCFCompression
import Foundation
import Testing

/// Data exchanged with Python's zlib and gzip modules, which wrap the reference zlib independently of us.
struct CompressionInteropTests {
    static let script = """
        import gzip, sys, zlib
        directory = sys.argv[1]
        raw = open(directory + "/raw", "rb").read()
        assert zlib.decompress(open(directory + "/ours.deflate", "rb").read()) == raw, "deflate differs"
        assert gzip.decompress(open(directory + "/ours.gzip", "rb").read()) == raw, "gzip differs"
        open(directory + "/python.deflate", "wb").write(zlib.compress(raw, 9))
        open(directory + "/python.gzip", "wb").write(gzip.compress(raw))
        """

    @Test func pythonReadsOursAndWeReadPython() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let raw = CompressionTests.sample(count: 200_000)
        try Data(raw).write(to: URL(fileURLWithPath: directory.file("raw")))
        for coding in ContentCoding.allCases {
            let compressed = try Deflater.compress(raw, coding: coding)
            try compressed.write(to: URL(fileURLWithPath: directory.file("ours.\(coding)")))
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, directory.path]
        try process.run()
        // The script takes well under a second; the deadline only stops a hung interpreter.
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline {
            usleep(20_000)
        }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try #require(
            process.terminationStatus == 0, "python3 check failed; run scripts/install-deps.sh --tests if it is missing")

        for coding in ContentCoding.allCases {
            let compressed = try Data(contentsOf: URL(fileURLWithPath: directory.file("python.\(coding)")))
            let output = try Inflater.decompress(compressed, coding: coding, maxOutputBytes: raw.count)
            #expect(Array(output) == raw, "\(coding)")
        }
    }
}
