// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import Foundation
import Synchronization
import Testing

struct Ed25519Tests {
    struct Vector: Sendable, CustomStringConvertible {
        let name: String
        let seed: String
        let publicKey: String
        let message: String
        let signature: String
        var description: String { name }
    }

    // RFC 8032, section 7.1, TEST 1 to TEST 3.
    static let vectors = [
        Vector(
            name: "TEST 1",
            seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            message: "",
            signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                + "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        Vector(
            name: "TEST 2",
            seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            message: "72",
            signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                + "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        Vector(
            name: "TEST 3",
            seed: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            message: "af82",
            signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
                + "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ]

    @Test("RFC 8032 vectors", arguments: vectors)
    func rfcVector(_ vector: Vector) throws {
        let key = try Ed25519PrivateKey(seedHex: vector.seed)
        let message = try Hex.decode(vector.message)
        #expect(key.publicKey.hexString == vector.publicKey)
        #expect(Hex.encode(try key.signature(for: message)) == vector.signature)
        let publicKey = try Ed25519PublicKey(hex: vector.publicKey)
        #expect(publicKey.isValidSignature(try Hex.decode(vector.signature), for: message))
    }

    @Test func generatedKeySignsAndVerifies() throws {
        let key = try Ed25519PrivateKey()
        let message = Array("update for version 7".utf8)
        let signature = try key.signature(for: message)
        #expect(signature.count == 64)
        #expect(key.publicKey.isValidSignature(signature, for: message))
        #expect(key.publicKey.isValidSignature(signature, for: Data(message)))
    }

    @Test func generatedKeysDiffer() throws {
        let first = try Ed25519PrivateKey()
        let second = try Ed25519PrivateKey()
        #expect(first.seed != second.seed)
        #expect(first.publicKey != second.publicKey)
    }

    @Test func tamperedMessageRejected() throws {
        let key = try Ed25519PrivateKey()
        var message = Array("payload digest".utf8)
        let signature = try key.signature(for: message)
        message[0] ^= 0x01
        #expect(!key.publicKey.isValidSignature(signature, for: message))
    }

    @Test func tamperedSignatureRejected() throws {
        let key = try Ed25519PrivateKey()
        let message = Array("payload digest".utf8)
        let signature = try key.signature(for: message)
        for index in [0, 31, 32, 63] {
            var tampered = signature
            tampered[index] ^= 0x80
            #expect(!key.publicKey.isValidSignature(tampered, for: message), "byte \(index) flipped")
        }
    }

    @Test func wrongKeyRejected() throws {
        let signer = try Ed25519PrivateKey()
        let other = try Ed25519PrivateKey()
        let message = Array("hello".utf8)
        #expect(!other.publicKey.isValidSignature(try signer.signature(for: message), for: message))
    }

    @Test func wrongSignatureLengthRejected() throws {
        let key = try Ed25519PrivateKey()
        let message = Array("hello".utf8)
        let signature = try key.signature(for: message)
        #expect(!key.publicKey.isValidSignature(Array(signature.dropLast()), for: message))
        #expect(!key.publicKey.isValidSignature(signature + [0], for: message))
        #expect(!key.publicKey.isValidSignature([UInt8](), for: message))
    }

    @Test func sharedKeyAcrossThreads() throws {
        let key = try Ed25519PrivateKey()
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for round in 0..<50 {
                let message = Array("thread \(thread) round \(round)".utf8)
                let valid = (try? key.signature(for: message)).map { key.publicKey.isValidSignature($0, for: message) }
                if valid != true { failures.withLock { $0 += 1 } }
            }
        }
        #expect(failures.withLock { $0 } == 0)
    }

    @Test func invalidKeyLengths() throws {
        let seedError = #expect(throws: CryptoError.self) {
            try Ed25519PrivateKey(seed: [UInt8](repeating: 1, count: 31))
        }
        #expect(seedError?.description.contains("got 31") == true)
        let rawError = #expect(throws: CryptoError.self) {
            try Ed25519PublicKey(rawRepresentation: [UInt8](repeating: 1, count: 33))
        }
        #expect(rawError?.description.contains("got 33") == true)
        let hexError = #expect(throws: CryptoError.self) { try Ed25519PublicKey(hex: "abcd") }
        #expect(hexError?.description.contains("64 hex digits, got 4") == true)
    }

    @Test func publicKeyHexIgnoresWhitespaceAndCase() throws {
        let key = try Ed25519PublicKey(hex: "  D75A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A\n")
        #expect(key.hexString == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    }
}
