// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFServer
import DCFSupport
import Foundation
import Synchronization
import Testing

@Suite struct WorkerRegistryTests {
    let logger = Logger(component: "test", sink: LogSink(level: .critical) { _ in })

    private func key() throws -> String { try Ed25519PrivateKey().publicKey.hexString }

    @Test func registrationSurvivesReopen() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try key()
        let second = try key()
        do {
            let registry = try WorkerRegistry(stateDirectory: directory.url, mode: .safe(keyList: nil), logger: logger)
            _ = try registry.addWorker(publicKey: first, registered: true)
            _ = try registry.addWorker(publicKey: second, registered: false)
            _ = try registry.setRegistered(WorkerID(second)!, false)
        }
        let reopened = try WorkerRegistry(stateDirectory: directory.url, mode: .safe(keyList: nil), logger: logger)
        #expect(reopened.workers.count == 2)
        #expect(reopened.record(for: WorkerID(first)!)?.status == .registered)
        #expect(reopened.record(for: WorkerID(first)!)?.source == .admin)
        #expect(reopened.record(for: WorkerID(second)!)?.status == .disabled)
    }

    @Test func keyListReloadAddsAndRemoves() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (kept, dropped, added, adminKey) = (try key(), try key(), try key(), try key())
        let list = try directory.file("keys.txt", contents: "# workers\n\(kept)\n\n\(dropped)\n")
        let registry = try WorkerRegistry(
            stateDirectory: directory.url, mode: .safe(keyList: KeyListFile(url: list)), logger: logger)
        #expect(registry.workers.map(\.publicKey).sorted() == [kept, dropped].sorted())
        _ = try registry.register(WorkerID(dropped)!, bodyKey: nil)
        _ = try registry.addWorker(publicKey: adminKey, registered: true)

        try "\(kept)\n\(added.uppercased())\n".write(to: list, atomically: true, encoding: .utf8)
        let reload = try registry.reloadKeyList()

        #expect(reload.added == [WorkerID(added)!])
        #expect(reload.removed == [WorkerID(dropped)!])
        #expect(reload.changes == [.unregistered(WorkerID(dropped)!)])
        #expect(registry.workers.map(\.publicKey).sorted() == [kept, added, adminKey].sorted())
        #expect(registry.record(for: WorkerID(adminKey)!)?.isRegistered == true)
    }

    /// The first read of the key list, at start, is logged as a load, and a later one as a reload.
    @Test func keyListLogLoadThenReload() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let list = try directory.file("keys.txt", contents: "\(try key())\n")
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .info) { line in lines.withLock { $0.append(line) } }
        let registry = try WorkerRegistry(
            stateDirectory: directory.url, mode: .safe(keyList: KeyListFile(url: list)),
            logger: Logger(component: "registry", sink: sink))
        let atStart = lines.withLock { $0 }
        #expect(atStart.contains { $0.contains("registry: loaded key list") }, "\(atStart)")
        #expect(!atStart.contains { $0.contains("reloaded") }, "\(atStart)")

        _ = try registry.reloadKeyList()
        let afterReload = lines.withLock { $0 }
        #expect(afterReload.last?.contains("registry: reloaded key list") == true, "\(afterReload)")
    }

    /// A bad line after a good key, and the parts the error must name.
    static let badKeyListLines: [(line: String, expected: [String])] = [
        ("not-a-key", ["keys.txt:2:", "not-a-key", "64 hex digits"]),
        ("01" + String(repeating: "00", count: 31), ["keys.txt:2:", "small order", "keygen"]),
        // Two .pub files joined with `cat`, which end without a newline.
        (String(repeating: "ab", count: 64), ["keys.txt:2:", "128 hex digits", "one key per line"]),
    ]

    @Test(arguments: badKeyListLines)
    func invalidKeyListLineNamesFileAndLine(_ line: String, _ expected: [String]) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let list = try directory.file("keys.txt", contents: "\(try key())\n\(line)\n# note\n")
        #expect {
            _ = try WorkerRegistry(stateDirectory: directory.url, mode: .safe(keyList: KeyListFile(url: list)), logger: logger)
        } throws: { error in
            let text = String(describing: error)
            return expected.allSatisfy { text.contains($0) }
        }
    }

    @Test func everyBadKeyListLineIsNamed() throws {
        let smallOrder = "01" + String(repeating: "00", count: 31)
        let contents = "\(try key())\nfirst-bad\n# note\n\(smallOrder)\n\(try key())\n"
            + (0..<12).map { "junk\($0)\n" }.joined()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let list = try directory.file("keys.txt", contents: contents)
        #expect {
            _ = try KeyListFile(url: list).load()
        } throws: { error in
            let text = String(describing: error)
            let lines = (error as? KeyListFile.InvalidLines)?.lines.map(\.line)
            return lines == [2, 4] + Array(6...17) && text.contains("keys.txt:2: \"first-bad\"")
                && text.contains("keys.txt:4: \(smallOrder) cannot be a worker key")
                && text.contains("keys.txt:13: \"junk7\"") && !text.contains("junk8")
                && text.hasSuffix("and 4 more bad lines")
        }
    }

    @Test func keyListWithCRLFLineEnds() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let keys = [try key(), try key(), try key()]
        let list = try directory.file("keys.txt", contents: "# sites\r\n" + keys.joined(separator: "\r\n") + "\r\n")
        #expect(try KeyListFile(url: list).load() == keys)

        let bad = try directory.file("bad.txt", contents: "\(keys[0])\r\nnot-a-key\r\n\(keys[1])\r\n")
        #expect {
            _ = try KeyListFile(url: bad).load()
        } throws: { error in
            (error as? KeyListFile.InvalidLines)?.lines.map(\.line) == [2]
        }
    }

    @Test func failedReloadChangesNothing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try key()
        let list = try directory.file("keys.txt", contents: first + "\n")
        let registry = try WorkerRegistry(
            stateDirectory: directory.url, mode: .safe(keyList: KeyListFile(url: list)), logger: logger)
        try "zz\n".write(to: list, atomically: true, encoding: .utf8)
        #expect(throws: KeyListFile.InvalidLines.self) { try registry.reloadKeyList() }
        #expect(registry.workers.map(\.publicKey) == [first])
    }

    @Test func keyListWithUnsafeModeIsRejected() {
        #expect {
            _ = try AdmissionMode.make(keyListURL: URL(fileURLWithPath: "/tmp/keys.txt"), allowUnsafe: true)
        } throws: { error in
            String(describing: error).contains("keys.txt") && String(describing: error).contains("unsafe")
        }
    }

    @Test func safeModeDropsUnsafeRegistrations() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let workerKey = try key()
        do {
            let unsafe = try WorkerRegistry(stateDirectory: directory.url, mode: .unsafe, logger: logger)
            let (record, changes) = try unsafe.register(WorkerID(workerKey)!, bodyKey: workerKey)
            #expect(record.id.rawValue != workerKey)
            #expect(changes == [.registered(record.id)])
        }
        let safe = try WorkerRegistry(stateDirectory: directory.url, mode: .safe(keyList: nil), logger: logger)
        #expect(safe.workers.isEmpty)
    }

    @Test func unsafeModeAssignsFreshIDs() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let registry = try WorkerRegistry(stateDirectory: directory.url, mode: .unsafe, logger: logger)
        let workerKey = try key()
        let first = try registry.register(WorkerID(workerKey)!, bodyKey: workerKey).0
        let second = try registry.register(WorkerID(workerKey)!, bodyKey: workerKey).0
        #expect(first.id != second.id)
        #expect(first.publicKey == workerKey)
        #expect(throws: DCFErrorResponse.self) { try registry.register(WorkerID(workerKey)!, bodyKey: nil) }
    }

    @Test func unsafeRegistrationsStopAtMaximum() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let registry = try WorkerRegistry(
            stateDirectory: directory.url, mode: .unsafe, maximumUnsafeRegistrations: 3, logger: logger)
        let workerKey = try key()
        for _ in 0..<3 { _ = try registry.register(WorkerID(workerKey)!, bodyKey: workerKey) }
        let error = #expect(throws: DCFErrorResponse.self) {
            try registry.register(WorkerID(workerKey)!, bodyKey: workerKey)
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("limits.max_workers") == true)
        #expect(registry.workers.count == 3)

        // Removing a worker makes room for the next registration.
        _ = try registry.removeWorker(try #require(registry.workers.first).id)
        _ = try registry.register(WorkerID(workerKey)!, bodyKey: workerKey)
        #expect(registry.workers.count == 3)
    }

    @Test func adminStatusChangesReportTransitions() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let registry = try WorkerRegistry(stateDirectory: directory.url, mode: .safe(keyList: nil), logger: logger)
        let workerKey = try key()
        let id = WorkerID(workerKey)!
        #expect(try registry.addWorker(publicKey: workerKey, registered: false).1 == [])
        #expect(try registry.setRegistered(id, true).1 == [.registered(id)])
        #expect(try registry.setRegistered(id, true).1 == [])
        #expect(try registry.setRegistered(id, false).1 == [.unregistered(id)])
        #expect(throws: DCFErrorResponse.self) { try registry.register(id, bodyKey: nil) }
        #expect(try registry.removeWorker(id).1 == [])
        #expect(throws: DCFErrorResponse.self) { try registry.addWorker(publicKey: "abc", registered: true) }
    }

    /// A disabled worker's errors name the admin command that enables it again.
    @Test func disabledWorkerNamesEnableCommand() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let registry = try WorkerRegistry(stateDirectory: directory.url, mode: .safe(keyList: nil), logger: logger)
        let workerKey = try key()
        let id = WorkerID(workerKey)!
        _ = try registry.addWorker(publicKey: workerKey, registered: true)
        _ = try registry.setRegistered(id, false)

        let checked = #expect(throws: DCFErrorResponse.self) { try registry.checkRegistered(id) }
        #expect(checked?.message.contains("dcfctl enable \(id.short)") == true, "\(String(describing: checked))")
        #expect(checked?.message.contains("register it again") == false, "\(String(describing: checked))")
        let registered = #expect(throws: DCFErrorResponse.self) { try registry.register(id, bodyKey: nil) }
        #expect(registered?.message.contains("dcfctl enable \(id.short)") == true, "\(String(describing: registered))")
    }
}
