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
        /// Why a well-formed key cannot be used; nil when the line is not 64 hex digits at all.
        public var unusableReason: String?

        public var description: String {
            if let unusableReason {
                return "\(path):\(line): \(text) cannot be a worker key: \(unusableReason); remove the line and "
                    + "make a key pair with dcf-agent keygen"
            }
            return "\(path):\(line): \"\(text.prefix(80))\" is not an Ed25519 public key; "
                + "expected 64 hex digits (a .pub file's contents), a blank line or a # comment"
        }
    }

    /// Reads the keys, lowercased and in file order, without duplicates.
    ///
    /// - Throws: `InvalidLine` for the first bad line, or the file system's error when the file cannot be read.
    public func load() throws -> [String] {
        let contents = try String(contentsOf: url, encoding: .utf8)
        return try Self.parse(contents, path: url.path)
    }

    static func parse(_ contents: String, path: String) throws -> [String] {
        var keys: [String] = []
        var seen: Set<String> = []
        for (index, rawLine) in contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let key = PublicKeyHex.normalize(line) else {
                throw InvalidLine(path: path, line: index + 1, text: line)
            }
            if let reason = PublicKeyHex.unusableReason(key) {
                throw InvalidLine(path: path, line: index + 1, text: key, unusableReason: reason)
            }
            if seen.insert(key).inserted { keys.append(key) }
        }
        return keys
    }
}
