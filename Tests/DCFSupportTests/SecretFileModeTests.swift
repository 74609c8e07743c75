// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Testing

@Suite struct SecretFileModeTests {
    /// A file mode and whether it gets a warning: only the read and write bits of other users count.
    static let modes: [(mode: Int, warns: Bool)] = [
        (0o600, false), (0o640, false), (0o660, false), (0o400, false), (0o601, false),
        (0o604, true), (0o602, true), (0o644, true), (0o606, true),
    ]

    /// The warning names what other users can do with the file.
    @Test(arguments: [(0o604, "may read it;"), (0o602, "may change it;"), (0o606, "may read or change it;")])
    func warningNamesWhatOthersCanDo(mode: Int, words: String) throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("secret", "secret\n")
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        let text = try #require(SecretFileMode.warning(forFileAt: path, setting: nil))
        #expect(text.contains("so other users \(words)"), "\(text)")
    }

    @Test(arguments: modes)
    func warnsOnlyForOtherUsers(mode: Int, warns: Bool) throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("secret", "secret\n")
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)

        let warning = SecretFileMode.warning(forFileAt: path, setting: "tls.private_key")
        guard warns else {
            #expect(warning == nil)
            return
        }
        let text = try #require(warning)
        #expect(text.contains("\(path) (tls.private_key)"), "\(text)")
        #expect(text.contains("mode 0\(String(mode, radix: 8))"), "\(text)")
        #expect(text.contains("chmod o-rwx \(path)"), "\(text)")
    }

    /// A file named on the command line rather than by a setting, such as the one `dcf-agent verify-key` checks.
    @Test func warningWithoutSetting() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("site.key", "secret\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o604], ofItemAtPath: path)

        let text = try #require(SecretFileMode.warning(forFileAt: path, setting: nil))
        #expect(text.hasPrefix("\(path) has mode 0604"), "\(text)")
        #expect(!text.contains("()"), "\(text)")
        #expect(text.contains("chmod o-rwx \(path)"), "\(text)")
    }

    @Test func missingFileGetsNoWarning() throws {
        let directory = try TemporaryDirectory()
        #expect(SecretFileMode.warning(forFileAt: directory.file("absent"), setting: "admin.credentials_file") == nil)
    }
}
