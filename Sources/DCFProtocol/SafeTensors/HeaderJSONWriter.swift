// SPDX-License-Identifier: Apache-2.0

/// Compact JSON text for the safetensors header.
///
/// Strings are escaped as serde_json, which the safetensors package uses, escapes them: `"`, `\` and control
/// characters are escaped, and non-ASCII text stays UTF-8.
struct HeaderJSONWriter {
    private(set) var bytes: [UInt8] = []
    private var needsComma = false

    mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func key(_ name: String) {
        separate()
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    mutating func string(_ value: String) {
        appendQuoted(value)
        needsComma = true
    }

    mutating func integers(_ values: [Int]) {
        bytes.append(contentsOf: Array(("[" + values.map(String.init).joined(separator: ",") + "]").utf8))
        needsComma = true
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func appendQuoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: Array(#"\""#.utf8))
            case UInt8(ascii: "\\"): bytes.append(contentsOf: Array(#"\\"#.utf8))
            case 0x08: bytes.append(contentsOf: Array(#"\b"#.utf8))
            case 0x0c: bytes.append(contentsOf: Array(#"\f"#.utf8))
            case 0x0a: bytes.append(contentsOf: Array(#"\n"#.utf8))
            case 0x0d: bytes.append(contentsOf: Array(#"\r"#.utf8))
            case 0x09: bytes.append(contentsOf: Array(#"\t"#.utf8))
            case 0x00..<0x20:
                let hex = String(byte, radix: 16)
                bytes.append(contentsOf: Array(("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
