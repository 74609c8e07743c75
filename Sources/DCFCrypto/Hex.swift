// SPDX-License-Identifier: Apache-2.0

/// Lowercase hexadecimal encoding and decoding of bytes, as used in key files and digests.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Encodes `bytes` as lowercase hexadecimal, two digits per byte.
    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var characters: [UInt8] = []
        characters.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            characters.append(digits[Int(byte >> 4)])
            characters.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: characters, as: UTF8.self)
    }

    /// Decodes hexadecimal digits (either case) into bytes.
    ///
    /// - Throws: `CryptoError` if the length is odd or a character is not a hexadecimal digit; the message
    ///   names the offending character and its position.
    public static func decode(_ string: some StringProtocol) throws -> [UInt8] {
        let characters = Array(string.utf8)
        guard characters.count % 2 == 0 else {
            throw CryptoError.invalidHex("hex string has an odd number of digits (\(characters.count))")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(characters.count / 2)
        var index = 0
        while index < characters.count {
            let high = try value(of: characters[index], at: index)
            let low = try value(of: characters[index + 1], at: index + 1)
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func value(of character: UInt8, at position: Int) throws -> UInt8 {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return character - UInt8(ascii: "A") + 10
        default:
            let shown = character >= 0x20 && character < 0x7f ? "'\(UnicodeScalar(character))'" : "byte \(character)"
            throw CryptoError.invalidHex("hex string has a non-hex character \(shown) at position \(position)")
        }
    }
}
