// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// `FileSystemCallLog` and `DurabilityCheck` on hand-written strace output (`strace -ff -ttt -T -y -s 0`).
@Suite struct DurabilityCheckTests {
    /// A write-fsync-rename of `/srv/state/models/v2.safetensors` into a directory made with `mkdir`, as
    /// `AtomicFile.createDirectory` and `AtomicFile.write` do it. Times are seconds since the epoch.
    static let atomicWrite = [
        "10.000100 mkdir(\"/srv/state/models\", 0755) = 0 <0.000010>",
        "10.000200 openat(AT_FDCWD</srv>, \"/srv/state\", O_RDONLY|O_CLOEXEC|O_DIRECTORY) = 5</srv/state> <0.000010>",
        "10.000300 fsync(5</srv/state>) = 0 <0.000100>",
        "10.001000 openat(AT_FDCWD</srv>, \"/srv/state/models/.v2.safetensors.tmp-Ab12Cd\", O_RDWR|O_CREAT|O_EXCL, 0600)"
            + " = 7</srv/state/models/.v2.safetensors.tmp-Ab12Cd> <0.000010>",
        "10.001100 write(7</srv/state/models/.v2.safetensors.tmp-Ab12Cd>, \"\"..., 4096) = 4096 <0.000020>",
        "10.001200 fsync(7</srv/state/models/.v2.safetensors.tmp-Ab12Cd>) = 0 <0.000300>",
        "10.001600 rename(\"/srv/state/models/.v2.safetensors.tmp-Ab12Cd\", \"/srv/state/models/v2.safetensors\")"
            + " = 0 <0.000010>",
        "10.001700 fsync(8</srv/state/models>) = 0 <0.000100>",
    ]
    static let modelPath = "/srv/state/models/v2.safetensors"

    static func promise(at seconds: Double, path: String = modelPath) -> DurabilityPromise {
        DurabilityPromise(path: path, receivedAt: Int64((seconds * 1_000_000).rounded()), reply: "model v2")
    }

    static func violations(_ lines: [String], _ promise: DurabilityPromise) -> [String] {
        DurabilityCheck.violations(of: promise, in: FileSystemCallLog.parse(lines.joined(separator: "\n")))
    }

    @Test func parserReadsEveryKind() {
        let calls = FileSystemCallLog.parse(Self.atomicWrite.joined(separator: "\n"))
        #expect(calls.count == 7)
        #expect(calls.first == FileSystemCall(.makeDirectory, "/srv/state/models", start: 10_000_100, end: 10_000_110))
        #expect(calls.last == FileSystemCall(.sync, "/srv/state/models", start: 10_001_700, end: 10_001_800))
        let rename = calls.first { if case .rename = $0.kind { true } else { false } }
        #expect(rename?.kind == .rename(from: "/srv/state/models/.v2.safetensors.tmp-Ab12Cd"))
        #expect(rename?.path == Self.modelPath)
    }

    @Test func parserSkipsFailuresSocketsAndReads() {
        let lines = [
            "10.000100 openat(AT_FDCWD</srv>, \"/srv/a\", O_RDONLY|O_CLOEXEC) = 3</srv/a> <0.000010>",
            "10.000200 mkdir(\"/srv/state\", 0755) = -1 EEXIST (File exists) <0.000010>",
            "10.000300 write(9<TCP:[127.0.0.1:19001->127.0.0.1:40000]>, \"\"..., 100) = 100 <0.000010>",
            "10.000400 write(2<pipe:[123]>, \"\"..., 10) = 10 <0.000010>",
            "10.000500 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---",
            "10.000600 fsync(4</srv/gone (deleted)>) = 0 <0.000010>",
            "+++ exited with 0 +++",
        ]
        #expect(FileSystemCallLog.parse(lines.joined(separator: "\n")) == [])
    }

    @Test func parserResolvesRelativeNames() {
        let lines = [
            "10.000100 unlinkat(6</srv/state/rounds/from-v1>, \"ab12.safetensors\", 0) = 0 <0.000010>",
            "10.000200 renameat2(AT_FDCWD</srv>, \"state/a\", AT_FDCWD</srv>, \"state/b\", RENAME_NOREPLACE) = 0 <0.000010>",
            "10.000300 pwrite64(3</srv/state/registry.sqlite-wal>, \"\"..., 4152, 32) = 4152 <0.000010>",
            "10.000400 fdatasync(3</srv/state/registry.sqlite-wal>) = 0 <0.000500>",
        ]
        let calls = FileSystemCallLog.parse(lines.joined(separator: "\n"))
        #expect(calls == [
            FileSystemCall(.remove, "/srv/state/rounds/from-v1/ab12.safetensors", start: 10_000_100, end: 10_000_110),
            FileSystemCall(.rename(from: "/srv/state/a"), "/srv/state/b", start: 10_000_200, end: 10_000_210),
            FileSystemCall(.write, "/srv/state/registry.sqlite-wal", start: 10_000_300, end: 10_000_310),
            FileSystemCall(.sync, "/srv/state/registry.sqlite-wal", start: 10_000_400, end: 10_000_900),
        ])
    }

    @Test func completeWritePasses() {
        #expect(Self.violations(Self.atomicWrite, Self.promise(at: 10.002)) == [])
    }

    @Test func missingDirectoryFlushFails() {
        let lines = Self.atomicWrite.filter { !$0.contains("fsync(8</srv/state/models>)") }
        let found = Self.violations(lines, Self.promise(at: 10.002))
        #expect(found.count == 1)
        #expect(found.first?.contains("its name") == true, "\(found)")
        #expect(found.first?.contains("flush of /srv/state/models") == true, "\(found)")
    }

    @Test func missingDataFlushFails() {
        let lines = Self.atomicWrite.filter { !$0.contains("fsync(7<") }
        let found = Self.violations(lines, Self.promise(at: 10.002))
        #expect(found.count == 1)
        #expect(found.first?.contains("its data") == true, "\(found)")
    }

    @Test func missingParentFlushOfNewDirectoryFails() {
        let lines = Self.atomicWrite.filter { !$0.contains("fsync(5</srv/state>)") }
        let found = Self.violations(lines, Self.promise(at: 10.002))
        #expect(found.count == 1)
        #expect(found.first?.contains("directory /srv/state/models") == true, "\(found)")
    }

    /// The directory flush returns at 10.001800, after a client that received its reply at 10.001750.
    @Test func flushAfterReplyFails() {
        let found = Self.violations(Self.atomicWrite, Self.promise(at: 10.00175))
        #expect(found.count == 1)
        #expect(found.first?.contains("its name") == true, "\(found)")
    }

    /// A flush that started before the write returned may not cover it.
    @Test func flushDuringWriteFails() {
        var lines = Self.atomicWrite
        lines[5] = "10.001110 fsync(7</srv/state/models/.v2.safetensors.tmp-Ab12Cd>) = 0 <0.000300>"
        let found = Self.violations(lines, Self.promise(at: 10.002))
        #expect(found.count == 1)
        #expect(found.first?.contains("its data") == true, "\(found)")
    }

    @Test func unknownFileFails() {
        let found = Self.violations(Self.atomicWrite, Self.promise(at: 10.002, path: "/srv/state/models/v3.safetensors"))
        #expect(found.count == 1)
        #expect(found.first?.contains("no recorded call created") == true, "\(found)")
    }

    /// A file replaced by a rename is new: the replacement's data needs its own flush.
    @Test func replacedFileNeedsItsOwnFlush() {
        let replacement = [
            "10.003000 openat(AT_FDCWD</srv>, \"/srv/state/models/.v2.safetensors.tmp-Zz99Yy\", O_RDWR|O_CREAT|O_EXCL, 0600)"
                + " = 7</srv/state/models/.v2.safetensors.tmp-Zz99Yy> <0.000010>",
            "10.003100 write(7</srv/state/models/.v2.safetensors.tmp-Zz99Yy>, \"\"..., 4096) = 4096 <0.000020>",
            "10.003600 rename(\"/srv/state/models/.v2.safetensors.tmp-Zz99Yy\", \"/srv/state/models/v2.safetensors\")"
                + " = 0 <0.000010>",
            "10.003700 fsync(8</srv/state/models>) = 0 <0.000100>",
        ]
        let found = Self.violations(Self.atomicWrite + replacement, Self.promise(at: 10.004))
        #expect(found.count == 1)
        #expect(found.first?.contains("its data") == true, "\(found)")
    }

    /// With `PRAGMA synchronous=NORMAL` in WAL mode SQLite commits without flushing the WAL, which the check finds.
    @Test func unflushedWriteAheadLogFails() {
        let lines = [
            "10.000100 openat(AT_FDCWD</srv>, \"/srv/state/registry.sqlite-wal\", O_RDWR|O_CREAT|O_NOFOLLOW|O_CLOEXEC, 0644)"
                + " = 4</srv/state/registry.sqlite-wal> <0.000010>",
            "10.000200 pwrite64(4</srv/state/registry.sqlite-wal>, \"\"..., 4152, 0) = 4152 <0.000010>",
            "10.000300 fdatasync(4</srv/state/registry.sqlite-wal>) = 0 <0.000100>",
            "10.000400 fsync(5</srv/state>) = 0 <0.000100>",
            "10.001000 pwrite64(4</srv/state/registry.sqlite-wal>, \"\"..., 4152, 4152) = 4152 <0.000010>",
        ]
        let walPath = "/srv/state/registry.sqlite-wal"
        #expect(Self.violations(Array(lines.prefix(4)), Self.promise(at: 10.0006, path: walPath)) == [])
        let found = Self.violations(lines, Self.promise(at: 10.0011, path: walPath))
        #expect(found.count == 1)
        #expect(found.first?.contains("its data") == true, "\(found)")
    }
}
