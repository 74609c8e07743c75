// SPDX-License-Identifier: Apache-2.0

extension String {
    /// The text with each control character (C0, DEL and C1) written as `\n`, `\r`, `\t` or `\u{XX}`.
    ///
    /// Text from a client or a server passes through this before it reaches a log line or a terminal, so it
    /// cannot start a forged line, move the cursor or send terminal commands.
    public var escapingControlCharacters: String {
        guard unicodeScalars.contains(where: Self.isControl) else { return self }
        var escaped = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where Self.isControl(scalar): escaped += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
