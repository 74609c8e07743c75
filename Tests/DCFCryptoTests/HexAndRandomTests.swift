// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import Testing

struct HexAndRandomTests {
    @Test func hexRoundTrip() throws {
        let bytes: [UInt8] = Array(0...255)
        let text = Hex.encode(bytes)
        #expect(text.count == 512)
        #expect(text.hasPrefix("000102"))
        #expect(try Hex.decode(text) == bytes)
        #expect(try Hex.decode(text.uppercased()) == bytes)
    }

    @Test func hexOddLengthRejected() {
        let error = #expect(throws: CryptoError.self) { try Hex.decode("abc") }
        #expect(error?.description.contains("odd number of digits (3)") == true)
    }

    @Test func hexBadCharacterNamed() {
        let error = #expect(throws: CryptoError.self) { try Hex.decode("00zz") }
        #expect(error?.description.contains("'z' at position 2") == true)
    }

    @Test func randomBytesHaveLengthAndVary() throws {
        let first = try SecureRandom.bytes(count: 32)
        let second = try SecureRandom.bytes(count: 32)
        #expect(first.count == 32)
        #expect(first != second)
        #expect(try SecureRandom.bytes(count: 0).isEmpty)
    }

    @Test func constantTimeEquality() {
        let secret = Array("correct horse".utf8)
        #expect(ConstantTime.equals(secret, Array("correct horse".utf8)))
        #expect(!ConstantTime.equals(secret, Array("correct horsf".utf8)))
        #expect(!ConstantTime.equals(secret, Array("correct hors".utf8)))
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
    }
}
