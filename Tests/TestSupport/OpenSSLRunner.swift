// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Runs the `openssl` commands behind `CertificateFactory` inside its directory.
struct OpenSSLRunner {
    enum Validity {
        case days(Int)
        case fixed(start: String, end: String)
    }

    let directory: TemporaryDirectory

    /// Writes the `openssl ca` configuration: a flat database in the directory and any subject accepted.
    func writeConfiguration() throws {
        let configuration = """
            [ ca ]
            default_ca = test_ca
            [ test_ca ]
            database = index.txt
            new_certs_dir = .
            serial = serial
            default_md = sha256
            policy = any_subject
            unique_subject = no
            copy_extensions = none
            [ any_subject ]
            commonName = supplied
            [ ca_extensions ]
            basicConstraints = critical,CA:TRUE
            keyUsage = critical,keyCertSign,cRLSign
            subjectKeyIdentifier = hash
            """
        try configuration.write(toFile: directory.file("ca.cnf"), atomically: true, encoding: .utf8)
        try "".write(toFile: directory.file("index.txt"), atomically: true, encoding: .utf8)
        try "1000\n".write(toFile: directory.file("serial"), atomically: true, encoding: .utf8)
    }

    func makeCA(name: String, subject: String) throws -> CertificateFactory.Identity {
        try run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "\(name).key", "-out", "\(name).pem", "-days", "2", "-subj", "/CN=\(subject)",
            "-config", "ca.cnf", "-extensions", "ca_extensions",
        ])
        return identity(name)
    }

    func makeLeaf(
        name: String, signer: CertificateFactory.Identity, altNames: String, usage: String,
        validity: Validity = .days(2)
    ) throws -> CertificateFactory.Identity {
        try writeExtensions(name: name, altNames: altNames, usage: usage)
        try run([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(name)",
        ])
        var arguments = [
            "ca", "-batch", "-config", "ca.cnf", "-cert", signer.certificateFile, "-keyfile", signer.privateKeyFile,
            "-in", "\(name).csr", "-out", "\(name).pem", "-notext", "-extfile", "\(name).ext",
        ]
        switch validity {
        case .days(let days): arguments += ["-days", String(days)]
        case .fixed(let start, let end): arguments += ["-startdate", start, "-enddate", end]
        }
        try run(arguments)
        return identity(name)
    }

    func makeSelfSigned(name: String, altNames: String) throws -> CertificateFactory.Identity {
        try run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "\(name).key", "-out", "\(name).pem", "-days", "2", "-subj", "/CN=\(name)",
            "-config", "ca.cnf", "-extensions", "ca_extensions", "-addext", "subjectAltName=\(altNames)",
        ])
        return identity(name)
    }

    private func writeExtensions(name: String, altNames: String, usage: String) throws {
        let extensions = """
            basicConstraints = critical,CA:FALSE
            keyUsage = critical,digitalSignature,keyEncipherment
            extendedKeyUsage = \(usage)
            subjectAltName = \(altNames)
            """
        try extensions.write(toFile: directory.file("\(name).ext"), atomically: true, encoding: .utf8)
    }

    private func identity(_ name: String) -> CertificateFactory.Identity {
        CertificateFactory.Identity(
            certificateFile: directory.file("\(name).pem"), privateKeyFile: directory.file("\(name).key")
        )
    }

    private func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = directory.url
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CertificateFactoryError(command: arguments, output: text)
        }
    }
}
