// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A self-signed server certificate for 127.0.0.1 that is also its own CA, made with the `openssl` command, so a
/// client trusting only this file can tell it apart from the fixture's certificate after a reload.
struct ReplacementCertificate {
    let certificateFile: String
    let privateKeyFile: String

    init(in directory: String) throws {
        certificateFile = directory + "/replacement.crt"
        privateKeyFile = directory + "/replacement.key"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", privateKeyFile, "-out", certificateFile, "-days", "2", "-subj", "/CN=dcf-replacement",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
            "-addext", "extendedKeyUsage=serverAuth",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ServerdTestError("openssl req failed with status \(process.terminationStatus)")
        }
    }
}
