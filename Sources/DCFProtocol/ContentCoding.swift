// SPDX-License-Identifier: Apache-2.0

/// An HTTP content coding dcf can send or accept for model payloads.
public enum ContentCoding: String, Sendable, Hashable, CaseIterable {
    case identity
    /// The zlib format (RFC 1950), which is what HTTP calls `deflate`.
    case deflate
    case gzip

    /// Parses a `Content-Encoding` value; an absent or empty header means `identity`.
    public init?(contentEncoding: String?) {
        let token = (contentEncoding ?? "").trimmingASCIISpaces().lowercased()
        if token.isEmpty {
            self = .identity
            return
        }
        guard let coding = ContentCoding(rawValue: token) else { return nil }
        self = coding
    }

    /// Chooses the coding to send from an `Accept-Encoding` header, following RFC 9110 section 12.5.3.
    ///
    /// Among the codings the client accepts with the highest q-value, the first in `preference` wins.
    /// `identity` is acceptable unless the header excludes it (`identity;q=0` or `*;q=0`);
    /// returns nil only when nothing in `preference` is acceptable.
    public static func negotiate(acceptEncoding: String?, preference: [ContentCoding] = [.deflate, .gzip, .identity])
        -> ContentCoding?
    {
        let weights = parseWeights(acceptEncoding ?? "")
        var best: (coding: ContentCoding, weight: Double)?
        for coding in preference {
            let weight = weights[coding.rawValue] ?? weights["*"] ?? (coding == .identity ? 0.001 : 0)
            guard weight > 0 else { continue }
            if best == nil || weight > best!.weight {
                best = (coding, weight)
            }
        }
        return best?.coding
    }

    /// Maps each listed coding (lowercase) to its q-value; a missing or unparsable q counts as 1.
    private static func parseWeights(_ header: String) -> [String: Double] {
        var weights: [String: Double] = [:]
        for element in header.split(separator: ",") {
            let parts = element.split(separator: ";").map { String($0).trimmingASCIISpaces() }
            guard let name = parts.first?.lowercased(), !name.isEmpty else { continue }
            var weight = 1.0
            for parameter in parts.dropFirst() where parameter.lowercased().hasPrefix("q=") {
                weight = Double(parameter.dropFirst(2)) ?? 1.0
            }
            weights[name] = weight
        }
        return weights
    }
}

extension String {
    func trimmingASCIISpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
