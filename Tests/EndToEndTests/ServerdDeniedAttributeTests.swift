// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import TestSupport
import Testing

/// A state directory where setting the body digest attribute fails (a preloaded `fsetxattr` returns the error):
/// `ENOTSUP` as on a file system without user attributes, or `EACCES` as from a security module. The digest only
/// speeds up resend checks, so updates must still be stored without it, and a restart recognises a resend by its
/// bytes.
@Suite struct ServerdDeniedAttributeTests {
    @Test(arguments: [ENOTSUP, EACCES])
    func updatesStoredWithoutDigest(_ error: Int32) async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let keys = try fixture.workerKeyFiles.map { try ServerdFixture.publicKeyHex($0) }
        try ServerdFixture.write(keys.joined(separator: "\n") + "\n", to: fixture.keyListFile)
        let fault = try DeniedExtendedAttributes(directory: fixture.directory.path)
        try fault.deny()
        let server = try fixture.launch(["--update-lim", "3"], environment: fault.environment(failingWith: error))
        defer { server.process.terminate(signal: SIGKILL) }

        for index in 0..<2 {
            let worker = try server.worker(keyFile: fixture.workerKeyFiles[index])
            _ = try await worker.registerWorker()
            let reply = try await worker.sendModelUpdate(try ServerdFixture.update(from: 1))
            #expect(reply.message.contains("\(index + 1) of 3 updates"), "reply: \(reply.message)")
        }
        let status = try server.status()
        #expect(status.round["updates"] == .integer(2))
        let lines = server.process.output.split(separator: "\n")
        #expect(lines.filter { $0.contains("user.dcf.body_sha256") }.count == 1)
        #expect(!lines.contains { $0.contains("cannot store an update") })

        // Without a digest, a resend after a restart is recognised by its bytes.
        server.process.terminate(signal: SIGKILL)
        _ = server.process.waitForExit()
        let restarted = try fixture.launch(
            ["--update-lim", "3"], environment: fault.environment(failingWith: error), logName: "serverd-2.log")
        defer { restarted.process.terminate(signal: SIGKILL) }
        let resent = try await restarted.worker(keyFile: fixture.workerKeyFiles[0]).sendModelUpdate(
            try ServerdFixture.update(from: 1))
        #expect(resent.message.contains("already accepted"), "reply: \(resent.message)")
        #expect(try restarted.status().round["updates"] == .integer(2))
    }
}
