// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import Foundation
import Testing

struct KeyFileTests {
    private func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func generateWritesBothFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("worker")
        let key = try Ed25519KeyFile.generate(at: path)

        #expect(try String(contentsOfFile: path, encoding: .utf8) == key.seedHex)
        #expect(try String(contentsOfFile: path + ".pub", encoding: .utf8) == key.publicKey.hexString)
        #expect(try mode(path) == 0o600)
        #expect(try mode(path + ".pub") == 0o644)
    }

    @Test func roundTrip() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("worker")
        let written = try Ed25519KeyFile.generate(at: path)

        let read = try Ed25519KeyFile.readVerifiedPair(at: path)
        #expect(read.seed == written.seed)
        #expect(try Ed25519KeyFile.readPublicKey(at: path + ".pub") == written.publicKey)
    }

    @Test func readsFileWithNewlineFromOtherTools() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
        let path = try directory.write(seed + "\n", to: "key")
        _ = try directory.write(
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\n", to: "key.pub", mode: 0o644)
        let key = try Ed25519KeyFile.readVerifiedPair(at: path)
        #expect(key.seedHex == seed)
    }

    @Test func refusesToOverwrite() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("worker")
        let first = try Ed25519KeyFile.generate(at: path)

        let error = #expect(throws: CryptoError.self) { try Ed25519KeyFile.generate(at: path) }
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains("already exists") == true)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == first.seedHex)

        let second = try Ed25519KeyFile.generate(at: path, overwrite: true)
        #expect(second.seed != first.seed)
        #expect(try Ed25519KeyFile.readVerifiedPair(at: path).seed == second.seed)
    }

    @Test func existingPublicFileBlocksBothWrites() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("worker")
        _ = try directory.write("old", to: "worker.pub", mode: 0o644)

        let error = #expect(throws: CryptoError.self) { try Ed25519KeyFile.generate(at: path) }
        #expect(error?.description.contains("worker.pub") == true)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func overwriteTightensMode() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("old", to: "worker", mode: 0o666)
        _ = try Ed25519KeyFile.generate(at: path, overwrite: true)
        #expect(try mode(path) == 0o600)
    }

    static let badContents: [(String, String)] = [
        ("abcd", "64 hex digits, got 4"),
        (String(repeating: "ab", count: 33), "64 hex digits, got 66"),
        (String(repeating: "g", count: 64), "non-hex character 'g' at position 0"),
        ("", "64 hex digits, got 0"),
    ]

    @Test("bad private key file", arguments: badContents)
    func badPrivateKeyFile(_ content: String, _ expected: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(content, to: "worker")
        let error = #expect(throws: CryptoError.self) { try Ed25519KeyFile.readPrivateKey(at: path) }
        #expect(error?.isKeyFileFailure == true)
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }

    @Test("bad public key file", arguments: badContents)
    func badPublicKeyFile(_ content: String, _ expected: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(content, to: "worker.pub", mode: 0o644)
        let error = #expect(throws: CryptoError.self) { try Ed25519KeyFile.readPublicKey(at: path) }
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }

    @Test func publicKeyFileRefusedAsPrivateKey() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("site-a")
        _ = try Ed25519KeyFile.generate(at: path)
        let error = #expect(throws: CryptoError.self) {
            try Ed25519KeyFile.readPrivateKey(at: path + ".pub")
        }
        #expect(error?.description.contains("is a public key file") == true, "\(String(describing: error))")
        #expect(error?.description.contains("pass the private key file \(path) instead") == true)
    }

    @Test func missingFileNamed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("absent")
        let error = #expect(throws: CryptoError.self) { try Ed25519KeyFile.readPublicKey(at: path) }
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains("No such file") == true)
    }

    @Test func oversizedFileRejected() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(String(repeating: "a", count: 10_000), to: "big")
        let error = #expect(throws: CryptoError.self) { try Ed25519KeyFile.readPrivateKey(at: path) }
        #expect(error?.description.contains("larger than 4096 bytes") == true)
    }

    @Test func mismatchedPublicFileRejected() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("worker")
        _ = try Ed25519KeyFile.generate(at: path)
        let other = try Ed25519PrivateKey()
        _ = try directory.write(other.publicKey.hexString, to: "worker.pub", mode: 0o644)

        let error = #expect(throws: CryptoError.self) { try Ed25519KeyFile.readVerifiedPair(at: path) }
        #expect(error?.description.contains("worker.pub") == true)
        #expect(error?.description.contains(other.publicKey.hexString) == true)
    }
}
