// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFServer
import Foundation
import Testing

/// Reloading the key list from the reloaded configuration.
@Suite struct KeyListReloadTests {
    private static func key() throws -> String { try Ed25519PrivateKey().publicKey.hexString }

    @Test func reloadUsesNewKeyListPath() throws {
        let (first, second) = (try Self.key(), try Self.key())
        let harness = try ServerHarness(admission: { directory in
            .safe(keyList: KeyListFile(url: try directory.file("first.keys", contents: "\(first)\n")))
        })
        let newList = try harness.directory.file("second.keys", contents: "\(second)\n")

        let reload = try harness.server.reloadKeyList(mode: .safe(keyList: KeyListFile(url: newList)))

        #expect(reload.added == [WorkerID(second)!])
        #expect(reload.removed == [WorkerID(first)!])
        #expect(harness.server.registry.workers.map(\.publicKey) == [second])
        // Later reloads keep reading the new file.
        let third = try Self.key()
        try "\(second)\n\(third)\n".write(to: newList, atomically: true, encoding: .utf8)
        #expect(try harness.server.reloadKeyList().added == [WorkerID(third)!])
    }

    @Test(arguments: [true, false])
    func modeSwitchOnReloadRejected(startsSafe: Bool) throws {
        let known = try Self.key()
        let harness = try ServerHarness(admission: { directory in
            startsSafe ? .safe(keyList: KeyListFile(url: try directory.file("w.keys", contents: "\(known)\n"))) : .unsafe
        })
        let before = harness.server.registry.workers
        let newMode: AdmissionMode = startsSafe ? .unsafe : .safe(keyList: nil)
        #expect {
            _ = try harness.server.reloadKeyList(mode: newMode)
        } throws: { error in
            let text = String(describing: error)
            return error is ConfigurationError && text.contains("restart") && text.contains("unsafe")
        }
        #expect(harness.server.registry.mode.name == (startsSafe ? "safe" : "unsafe"))
        #expect(harness.server.registry.workers == before)
    }
}
