// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// A file of allowed worker public keys: one 64-digit hex key per line, as dc_federated's key tool writes
/// them. Blank lines and lines starting with `#` are skipped.
public struct KeyListFile: Sendable {
    public let url: URL

    public init(url: URL) { self.url = url }

    /// An invalid key list, naming the file and line.
    public struct InvalidLine: Error, CustomStringConvertible {
        public let path: String
        public let line: Int
        public let text: String
        /// The reason a well-formed key cannot be used, or nil when the line is not 64 hex digits at all.
        public var unusableReason: String?

        public var description: String {
            if let unusableReason {
                return "\(path):\(line): \(text) cannot be a worker key: \(unusableReason); remove the line and "
                    + "make a key pair with dcf-agent keygen"
            }
            return "\(path):\(line): \"\(text.prefix(80))\" is not an Ed25519 public key; "
                + "expected 64 hex digits (a .pub file's contents), a blank line or a # comment" + joinedKeysHint
        }

        /// A hint for a line of several keys, which `cat a.pub b.pub` writes, because .pub files end without a
        /// newline.
        private var joinedKeysHint: String {
            let isHex = text.allSatisfy(\.isHexDigit)
            guard isHex, text.count > 64, text.count.isMultiple(of: 64) else { return "" }
            return ". The line has \(text.count) hex digits, \(text.count / 64) keys joined: write one key per line, "
                + "because .pub files end without a newline"
        }
    }

    /// Every bad line of a key list, in file order, so one edit can fix them all.
    public struct InvalidLines: Error, CustomStringConvertible {
        public let lines: [InvalidLine]

        /// How many lines the description names; the rest are counted.
        static let describedLines = 10

        public var description: String {
            let named = lines.prefix(Self.describedLines).map(\.description)
            let rest = lines.count - named.count
            return (named + (rest > 0 ? ["and \(rest) more bad lines"] : [])).joined(separator: "; ")
        }
    }

    /// Reads the keys, lowercased and in file order, without duplicates.
    ///
    /// - Throws: `InvalidLines` naming every bad line, or the file system's error when the file cannot be read.
    public func load() throws -> [String] {
        let contents = try String(contentsOf: url, encoding: .utf8)
        return try Self.parse(contents, path: url.path)
    }

    static func parse(_ contents: String, path: String) throws -> [String] {
        var keys: [String] = []
        var seen: Set<String> = []
        var invalid: [InvalidLine] = []
        // Splitting on every newline character handles LF, CRLF (one Character in Swift) and CR line ends.
        let lines = contents.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        for (index, rawLine) in lines.enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let key = PublicKeyHex.normalize(line) else {
                invalid.append(InvalidLine(path: path, line: index + 1, text: line))
                continue
            }
            if let reason = PublicKeyHex.unusableReason(key) {
                invalid.append(InvalidLine(path: path, line: index + 1, text: key, unusableReason: reason))
                continue
            }
            if seen.insert(key).inserted { keys.append(key) }
        }
        guard invalid.isEmpty else { throw InvalidLines(lines: invalid) }
        return keys
    }
}
