// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// `dcf-agent verify-key` exits 0 for a matching pair, 66 when a file is missing and 65 when one is malformed.
/// The other tool commands, and `run` without its required settings, follow the exit statuses that
/// `dcf-agent --help` lists.
@Suite struct AgentKeyToolTests {
    private func run(_ arguments: [String], in directory: TemporaryDirectory) throws -> (status: Int32, output: String) {
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-agent"), arguments: arguments,
            logFile: directory.file("agent-\(UUID().uuidString).log"))
        let status = process.waitForExit()
        return (status, process.output)
    }

    @Test func verifyKeyExitStatuses() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = directory.file("site.key")
        #expect(try run(["keygen", "--output", key], in: directory).status == 0)
        #expect(try run(["verify-key", key], in: directory).status == 0)

        let missing = try run(["verify-key", directory.file("absent.key")], in: directory)
        #expect(missing.status == 66, "\(missing.output)")

        try "zz\n".write(toFile: key + ".pub", atomically: true, encoding: .utf8)
        let malformed = try run(["verify-key", key], in: directory)
        #expect(malformed.status == 65, "\(malformed.output)")

        try FileManager.default.removeItem(atPath: key + ".pub")
        let noPublicKey = try run(["verify-key", key], in: directory)
        #expect(noPublicKey.status == 66, "\(noPublicKey.output)")
    }

    /// The help of `agent.key` states that `run` reads the private key file alone, because `run` never opens the .pub
    /// file, so a key handed over alone (as systemd's `LoadCredential=` does) works.
    @Test func keyHelpSaysRunSkipsPublicFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let help = try run(["run", "--help"], in: directory)
        #expect(help.status == 0, "\(help.output)")
        let text = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("run does not read the .pub file"), "\(help.output)")
        #expect(!text.contains("sits beside it"), "\(help.output)")
    }

    /// `verify-key` takes the key file as `--key FILE`, as `run` does, or as its argument, but not both.
    @Test func verifyKeyTakesKeyOption() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = directory.file("site.key")
        #expect(try run(["keygen", "--output", key], in: directory).status == 0)

        let byOption = try run(["verify-key", "--key", key], in: directory)
        #expect(byOption.status == 0, "\(byOption.output)")
        #expect(byOption.output.contains("ok: \(key) matches"), "\(byOption.output)")
        let missing = try run(["verify-key", "--key", directory.file("absent.key")], in: directory)
        #expect(missing.status == 66, "\(missing.output)")
        let both = try run(["verify-key", "--key", key, key], in: directory)
        #expect(both.status == 64, "\(both.output)")
        let neither = try run(["verify-key"], in: directory)
        #expect(neither.status == 64, "\(neither.output)")
        #expect(neither.output.contains("--key"), "\(neither.output)")
    }

    /// `keygen` over an existing file names the file that exists and gives the --force hint once.
    @Test func keygenOverExistingFileHintsOnce() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = directory.file("site.key")
        #expect(try run(["keygen", "--output", key], in: directory).status == 0)

        let again = try run(["keygen", "--output", key], in: directory)
        #expect(again.status == 73, "\(again.output)")
        #expect(again.output.contains("key file \(key): already exists"), "\(again.output)")
        #expect(again.output.components(separatedBy: "overwrite").count == 2, "\(again.output)")
        #expect(again.output.contains("--force"), "\(again.output)")

        try FileManager.default.removeItem(atPath: key)
        let publicOnly = try run(["keygen", "--output", key], in: directory)
        #expect(publicOnly.status == 73, "\(publicOnly.output)")
        #expect(publicOnly.output.contains("key file \(key).pub: already exists"), "\(publicOnly.output)")
    }

    /// A missing server or key for `run` names the short option that the README and --help use, beside the long one.
    @Test func missingRequiredSettingNamesShortOption() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let neither = try run(["run"], in: directory)
        #expect(neither.status == 78, "\(neither.output)")
        #expect(neither.output.contains("with --server (or --agent.server)"), "\(neither.output)")
        #expect(neither.output.contains("with --key (or --agent.key)"), "\(neither.output)")

        let noKey = try run(["run", "--server", "https://127.0.0.1:1"], in: directory)
        #expect(noKey.status == 78, "\(noKey.output)")
        #expect(noKey.output.contains("with --key (or --agent.key)"), "\(noKey.output)")
        #expect(!noKey.output.contains("agent.server"), "\(noKey.output)")
    }

    @Test func modelAndKeyToolExitStatuses() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let missingDirectory = directory.file("absent/dir")

        let keyInMissingDirectory = try run(["keygen", "--output", missingDirectory + "/site.key"], in: directory)
        #expect(keyInMissingDirectory.status == 73, "\(keyInMissingDirectory.output)")
        let modelInMissingDirectory = try run(["init-model", "--output", missingDirectory + "/m.safetensors"], in: directory)
        #expect(modelInMissingDirectory.status == 73, "\(modelInMissingDirectory.output)")
        let badLayers = try run(["init-model", "--output", directory.file("m.safetensors"), "--layers", "4"], in: directory)
        #expect(badLayers.status == 64, "\(badLayers.output)")
        #expect(badLayers.output.contains("--layers"), "\(badLayers.output)")

        let model = directory.file("model.safetensors")
        #expect(try run(["init-model", "--output", model, "--layers", "4,3,2"], in: directory).status == 0)
        // Like keygen, init-model keeps an existing file unless --force is given.
        let written = try Data(contentsOf: URL(fileURLWithPath: model))
        let again = try run(["init-model", "--output", model, "--layers", "4,3,2", "--seed", "2"], in: directory)
        #expect(again.status == 73, "\(again.output)")
        #expect(again.output.contains("--force"), "\(again.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == written)
        let forced = try run(["init-model", "--output", model, "--layers", "4,3,2", "--seed", "2", "--force"], in: directory)
        #expect(forced.status == 0, "\(forced.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) != written)
        let missingModel = try run(["evaluate", "--model", directory.file("absent.safetensors")], in: directory)
        #expect(missingModel.status == 66, "\(missingModel.output)")
        #expect(missingModel.output.contains("absent.safetensors"), "\(missingModel.output)")
        try "not a model".write(toFile: directory.file("garbage"), atomically: true, encoding: .utf8)
        let garbage = try run(["evaluate", "--model", directory.file("garbage")], in: directory)
        #expect(garbage.status == 65, "\(garbage.output)")
        #expect(garbage.output.contains("not a safetensors file"), "\(garbage.output)")
        let otherLayers = try run(["evaluate", "--model", model], in: directory)
        #expect(otherLayers.status == 65, "\(otherLayers.output)")
        #expect(otherLayers.output.contains("--layers"), "\(otherLayers.output)")
        let missingData = try run(
            ["evaluate", "--model", model, "--layers", "4,3,2", "--data-dir", missingDirectory], in: directory)
        #expect(missingData.status == 66, "\(missingData.output)")
    }
}
