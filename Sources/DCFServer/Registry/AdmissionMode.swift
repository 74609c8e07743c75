// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// Which workers the server admits.
public enum AdmissionMode: Sendable {
    /// Only keys from the key list or added by an admin; with no key list, only admin-added keys.
    case safe(keyList: KeyListFile?)
    /// Any key, each registration getting a fresh worker id. Anyone who reaches the port can take part.
    case unsafe

    /// Builds the mode from configuration, rejecting a key list combined with unsafe mode.
    public static func make(keyListURL: URL?, allowUnsafe: Bool) throws -> AdmissionMode {
        switch (keyListURL, allowUnsafe) {
        case (let url?, true):
            throw ConfigurationError(
                "a key list (\(url.path)) and unsafe mode were both set; unsafe mode admits every key, "
                    + "so remove one of the two")
        case (let url?, false): return .safe(keyList: KeyListFile(url: url))
        case (nil, true): return .unsafe
        case (nil, false): return .safe(keyList: nil)
        }
    }

    public var name: String {
        switch self {
        case .safe: "safe"
        case .unsafe: "unsafe"
        }
    }
}

/// Invalid server configuration; the message names the setting and the fix.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
