// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFSupport
import DCFTraining
import Foundation

/// The subcommands besides `run`: key files and model files.
enum ToolCommands {
    static let keygen = Subcommand(
        name: "keygen", summary: "Generate an Ed25519 key pair: FILE (hex seed, mode 0600) and FILE.pub.",
        options: [
            .value("output", valueName: "file", help: "Path of the private key file; the public key goes to FILE.pub."),
            .flag("force", help: "Overwrite existing key files."),
        ])

    static let verifyKey = Subcommand(
        name: "verify-key", summary: "Check that a private key file and its .pub file belong together.",
        options: [
            .value(
                "key", valueName: "file",
                help: "Private key file to check, named as run names it. It may also be given as the argument."),
        ],
        argumentsUsage: "[<private-key-file>]")

    static let initModel = Subcommand(
        name: "init-model", summary: "Write a freshly initialized built-in MLP as the server's initial model.",
        options: [
            .value("layers", valueName: "sizes", default: "784,128,10", help: "Layer sizes, input first."),
            .value("seed", valueName: "integer", default: "1", help: "Seed of the initial weights."),
            .value("output", valueName: "file", help: "Path of the safetensors file to write."),
            .flag("force", help: "Overwrite an existing output file."),
        ])

    static let evaluate = Subcommand(
        name: "evaluate", summary: "Report loss and accuracy of a model file on the Fashion-MNIST test set.",
        options: [
            .value("model", valueName: "file", help: "safetensors file of the built-in MLP."),
            .value("layers", valueName: "sizes", default: "784,128,10", help: "Layer sizes, input first."),
            .value("data-dir", valueName: "dir", default: FashionMNIST.defaultDirectory,
                   help: "Directory with the Fashion-MNIST gzip IDX files."),
        ])

    static func runKeygen(_ command: ParsedCommand) throws {
        let output = try requiredOption(command, "output")
        let key: Ed25519PrivateKey
        do {
            key = try Ed25519KeyFile.generate(at: output, overwrite: command.flag("force"))
        } catch let error as CryptoError where !command.flag("force") && error.description.contains("already exists") {
            // The library's message mentions overwriting in general terms, so the agent builds its own with --force.
            let publicPath = Ed25519KeyFile.publicKeyPath(forPrivateKeyAt: output)
            let existing = [output, publicPath].first { path in
                var status = stat()
                return lstat(path, &status) == 0
            } ?? output
            throw KeyFileExistsError(
                description: "key file \(existing): already exists; remove it first, or pass --force to overwrite it")
        } catch let error as CryptoError {
            // A missing directory or one the user may not write to: the key file cannot be created.
            throw ToolError(description: "\(error); check that the directory of --output exists and is writable",
                            exitCode: .cannotCreate)
        }
        print("wrote \(output) and \(Ed25519KeyFile.publicKeyPath(forPrivateKeyAt: output))")
        print("public key: \(key.publicKey.hexString)")
    }

    static func runVerifyKey(_ command: ParsedCommand) throws {
        let files = command.arguments + (command.option("key").map { [$0] } ?? [])
        guard files.count == 1, let path = files.first, !path.isEmpty else {
            throw UsageError(
                "verify-key takes one private key file, e.g. dcf-agent verify-key site.key "
                    + "or dcf-agent verify-key --key site.key")
        }
        let key: Ed25519PrivateKey
        do {
            key = try Ed25519KeyFile.readVerifiedPair(at: path)
        } catch let error as CryptoError {
            // A missing file is a missing input; anything else is a file whose contents are wrong.
            let files = [path, Ed25519KeyFile.publicKeyPath(forPrivateKeyAt: path)]
            let missing = files.contains { !FileManager.default.fileExists(atPath: $0) }
            throw ToolError(description: error.description, exitCode: missing ? .noInput : .dataError)
        }
        // Checked once the file proved to be a private key, so a .pub file passed by mistake gets no warning.
        if let warning = SecretFileMode.warning(forFileAt: path, setting: nil) {
            StandardStream.error.write("dcf-agent: warning: \(warning)\n")
        }
        print("ok: \(path) matches \(Ed25519KeyFile.publicKeyPath(forPrivateKeyAt: path)) (public key \(key.publicKey.hexString))")
    }

    static func runInitModel(_ command: ParsedCommand) throws {
        let output = try requiredOption(command, "output")
        let sizes = try layerSizes(command)
        guard let seed = UInt64(command.option("seed") ?? "1") else {
            throw UsageError("--seed \"\(command.option("seed") ?? "")\" is not a non-negative integer")
        }
        let network = try MultilayerPerceptron(layerSizes: sizes, seed: seed)
        // Checked without following a symbolic link, which the write would replace too.
        if !command.flag("force"), (try? FileManager.default.attributesOfItem(atPath: output)) != nil {
            throw ToolError(
                description: "model file \(output): already exists; remove it first, or pass --force to overwrite it",
                exitCode: .cannotCreate)
        }
        do {
            try AtomicFile.write(network.exportSafeTensors(), to: output)
        } catch {
            throw ToolError(
                description: "cannot write --output \(output): \(error); check that its directory exists and is writable",
                exitCode: .cannotCreate)
        }
        print("wrote \(output): MLP \(sizes.map(String.init).joined(separator: "-")), seed \(seed)")
    }

    static func runEvaluate(_ command: ParsedCommand) throws {
        let path = try requiredOption(command, "model")
        let sizes = try layerSizes(command)
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ToolError(description: "--model \(path): the file does not exist or is not readable", exitCode: .noInput)
        }
        let file: SafeTensors
        do {
            file = try SafeTensors(bytes: bytes)
        } catch {
            throw ToolError(description: "--model \(path) is not a safetensors file: \(error)", exitCode: .dataError)
        }
        let network: MultilayerPerceptron
        do {
            network = try MultilayerPerceptron(layerSizes: sizes, safeTensors: file)
        } catch {
            throw ToolError(
                description: "--model \(path) is not a \(sizes.map(String.init).joined(separator: ",")) MLP: \(error); "
                    + "pass the model's layer sizes with --layers", exitCode: .dataError)
        }
        let test: Dataset
        do {
            test = try FashionMNIST.load(.test, directory: command.option("data-dir") ?? FashionMNIST.defaultDirectory)
        } catch let error as DatasetError {
            throw ToolError(description: error.description, exitCode: error.isUnreadableFile ? .noInput : .dataError)
        }
        let result = try network.evaluate(on: test)
        print(String(format: "test set: %d images, accuracy %.4f, loss %.4f", result.examples, result.accuracy, result.loss))
    }

    private static func layerSizes(_ command: ParsedCommand) throws -> [Int] {
        let text = command.option("layers") ?? "784,128,10"
        guard let sizes = AgentSettings.layerSizes(text) else {
            throw UsageError("--layers " + AgentSettings.layerSizesProblem(text))
        }
        return sizes
    }

    private static func requiredOption(_ command: ParsedCommand, _ name: String) throws -> String {
        guard let value = command.option(name), !value.isEmpty else {
            throw UsageError("\(command.subcommand.name) needs --\(name); run dcf-agent \(command.subcommand.name) --help")
        }
        return value
    }
}

/// A tool command failure with the exit status it ends the process with.
struct ToolError: Error, CustomStringConvertible, ExitCodeProviding {
    let description: String
    let exitCode: ExitCode
}

/// A key file that `keygen` would overwrite without `--force`; exits with `EX_CANTCREAT` (73).
struct KeyFileExistsError: Error, CustomStringConvertible, ExitCodeProviding {
    let description: String

    var exitCode: ExitCode { .cannotCreate }
}
