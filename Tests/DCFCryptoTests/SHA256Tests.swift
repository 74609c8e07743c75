// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import Testing

struct SHA256Tests {
    // FIPS 180-4 example messages and their digests.
    static let vectors: [(String, String)] = [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ]

    @Test("one-shot digest", arguments: vectors)
    func oneShot(_ message: String, _ expected: String) throws {
        #expect(try SHA256.hash(Array(message.utf8)).hexString == expected)
    }

    @Test("incremental digest in chunks", arguments: [1, 3, 7, 64, 1000])
    func incremental(chunkSize: Int) throws {
        let message = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        let hasher = try SHA256Hasher()
        var start = 0
        while start < message.count {
            let end = min(start + chunkSize, message.count)
            try message[start..<end].withUnsafeBytes { try hasher.update($0) }
            start = end
        }
        #expect(try hasher.finalize().hexString == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func millionLetters() throws {
        let hasher = try SHA256Hasher()
        let block = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 {
            try hasher.update(block)
        }
        #expect(try hasher.finalize().hexString == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func finalizeResetsHasher() throws {
        let hasher = try SHA256Hasher()
        try hasher.update(Array("abc".utf8))
        _ = try hasher.finalize()
        #expect(try hasher.finalize().hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func digestBytesMatchHex() throws {
        let digest = try SHA256.hash(Array("abc".utf8))
        #expect(digest.bytes.count == 32)
        #expect(Hex.encode(digest.bytes) == digest.hexString)
    }
}
