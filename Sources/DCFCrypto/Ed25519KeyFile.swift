// SPDX-License-Identifier: Apache-2.0

/// Ed25519 key files in the format of dc_federated's key tool.
///
/// The private key file contains the 32-byte seed as 64 hexadecimal digits with mode 0600. The public key
/// file is the private key file's path plus `.pub` and contains the 32-byte public key as 64 hexadecimal
/// digits. Files are written without a trailing newline, which Python's `bytes.fromhex` and
/// `binascii.unhexlify` both accept; reading ignores surrounding whitespace.
public enum Ed25519KeyFile {
    /// Permission of a written private key file: read and write for the owner only.
    public static let privateKeyMode: UInt32 = 0o600
    /// Permission of a written public key file.
    public static let publicKeyMode: UInt32 = 0o644

    /// Returns the path of the public key file that belongs to the private key file at `path`.
    public static func publicKeyPath(forPrivateKeyAt path: String) -> String {
        path + ".pub"
    }

    /// Reads the private key file at `path`. Its mode is the caller's to check, with `SecretFileMode` in
    /// DCFSupport, because only the caller knows the setting that names the file.
    ///
    /// - Throws: `CryptoError` naming the file if its name ends in `.pub`, or if it cannot be read or does not
    ///   hold 64 hex digits. Both key files hold 64 hex digits, so the name is what tells a public key file
    ///   passed by mistake from a private one.
    public static func readPrivateKey(at path: String) throws -> Ed25519PrivateKey {
        if path.hasSuffix(".pub") {
            throw CryptoError.keyFile(
                path, "is a public key file (its name ends in .pub); pass the private key file "
                    + "\(path.dropLast(4)) instead")
        }
        let text = try KeyFileIO.readText(path)
        do {
            return try Ed25519PrivateKey(seedHex: text)
        } catch let error as CryptoError {
            throw CryptoError.keyFile(path, "is not an Ed25519 private key: \(error.description)")
        }
    }

    /// Reads the public key file at `path` (a `.pub` file or a file in a list of worker keys).
    ///
    /// - Throws: `CryptoError` naming the file if it cannot be read or does not hold 64 hex digits.
    public static func readPublicKey(at path: String) throws -> Ed25519PublicKey {
        let text = try KeyFileIO.readText(path)
        do {
            return try Ed25519PublicKey(hex: text)
        } catch let error as CryptoError {
            throw CryptoError.keyFile(path, "is not an Ed25519 public key: \(error.description)")
        }
    }

    /// Writes `key` to `path` (mode 0600) and its public key to `path.pub` (mode 0644).
    ///
    /// - Parameter overwrite: Without it, an existing file at either path is an error and neither file is
    ///   written.
    /// - Throws: `CryptoError` naming the file that exists or cannot be written.
    public static func write(_ key: Ed25519PrivateKey, to path: String, overwrite: Bool = false) throws {
        let publicPath = publicKeyPath(forPrivateKeyAt: path)
        if !overwrite {
            for existing in [path, publicPath] where KeyFileIO.exists(existing) {
                throw CryptoError.keyFile(existing, "already exists; remove it first or choose to overwrite it")
            }
        }
        try KeyFileIO.writeText(key.seedHex, to: path, mode: privateKeyMode, overwrite: overwrite)
        try KeyFileIO.writeText(
            key.publicKey.hexString, to: publicPath, mode: publicKeyMode, overwrite: overwrite)
    }

    /// Generates a new key pair, writes it as `write(_:to:overwrite:)` does, and returns the private key.
    public static func generate(at path: String, overwrite: Bool = false) throws -> Ed25519PrivateKey {
        let key = try Ed25519PrivateKey()
        try write(key, to: path, overwrite: overwrite)
        return key
    }

    /// Reads the private key at `path`, as `readPrivateKey` does, and checks that `path.pub` contains its public key.
    ///
    /// - Throws: `CryptoError` naming the file that is unreadable or malformed, or the `.pub` file if it
    ///   contains a different public key.
    public static func readVerifiedPair(at path: String) throws -> Ed25519PrivateKey {
        let key = try readPrivateKey(at: path)
        let publicPath = publicKeyPath(forPrivateKeyAt: path)
        let stored = try readPublicKey(at: publicPath)
        guard stored == key.publicKey else {
            throw CryptoError.keyFile(
                publicPath,
                "contains public key \(stored.hexString), but the private key in \(path) has public key "
                    + "\(key.publicKey.hexString); restore the matching .pub file or generate a new pair")
        }
        return key
    }
}
