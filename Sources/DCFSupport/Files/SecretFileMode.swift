// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The check of a file that contains a secret, such as a TLS private key or admin credentials, for a mode that
/// lets other users read or write it.
public enum SecretFileMode {
    /// Returns a warning that names `path`, the setting that names it, its mode and the `chmod` that fixes it,
    /// when other users may read or write the file (the o+r and o+w bits), and nil otherwise or when `stat` fails. Group
    /// bits are accepted, because Debian gives private keys mode 0640 and the `ssl-cert` group so that services
    /// in that group can read them. dcf-serverd and dcf-agent both check their secret files with this rule.
    ///
    /// - Parameter setting: the setting that names the file, or nil for a file named on the command line.
    public static func warning(forFileAt path: String, setting: String?) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        let mode = UInt32(status.st_mode) & 0o7777
        let access = [(0o004, "read"), (0o002, "change")].filter { mode & $0.0 != 0 }.map(\.1)
        guard !access.isEmpty else { return nil }
        let file = setting.map { "\(path) (\($0))" } ?? path
        return "\(file) has mode 0\(String(mode, radix: 8)), so other users may \(access.joined(separator: " or ")) it; "
            + "run chmod o-rwx \(path)"
    }
}
