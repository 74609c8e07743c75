// SPDX-License-Identifier: Apache-2.0
import COpenSSL
import Foundation

@testable import DCFTransport

/// Incremental SHA-256 through OpenSSL's EVP interface, for checking large bodies in tests.
final class SHA256Digest {
    private let context: OpaquePointer

    init() {
        context = EVP_MD_CTX_new()
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit {
        EVP_MD_CTX_free(context)
    }

    func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = EVP_DigestUpdate(context, $0.baseAddress, $0.count) }
    }

    /// Returns the digest as lowercase hex; call once.
    func finish() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return digest.map { String(format: "%02x", $0) }.joined()
    }
}

/// A deterministic test body made of 1 MiB blocks: a fixed pseudo-random pattern whose first eight bytes hold
/// the block number, so reordered or repeated blocks change the digest.
enum TestBody {
    static let blockSize = 1 << 20

    static let pattern: [UInt8] = {
        var state: UInt32 = 2_463_534_242
        return (0..<blockSize).map { _ in
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        }
    }()

    static func block(_ index: Int) -> [UInt8] {
        var block = pattern
        withUnsafeBytes(of: UInt64(index).littleEndian) { block.replaceSubrange(0..<8, with: $0) }
        return block
    }

    static func digest(blocks: Int) -> String {
        let digest = SHA256Digest()
        for index in 0..<blocks { digest.update(block(index)) }
        return digest.finish()
    }
}

/// Responds to an upload with the SHA-256 of its body, hashing each chunk on a serial queue before
/// requesting the next.
enum HashingUploadHandler {
    static func make() -> ClosureHandler {
        ClosureHandler { _, responder in handling(responder) }
    }

    static func handling(_ responder: HTTPResponder) -> HTTPRequestBodyHandling {
        let queue = DispatchQueue(label: "upload-hash")
        let digest = QueueBoundDigest()
        return .stream(HTTPBodyStream(
            onChunk: { chunk, demand in
                queue.async {
                    digest.value.update(chunk)
                    demand.requestMore()
                }
            },
            onEnd: { queue.async { responder.respond(.text(.ok, digest.value.finish())) } },
            onError: { _ in }
        ))
    }
}

/// A digest touched only from one serial queue.
private final class QueueBoundDigest: @unchecked Sendable {  // Used only on the upload's serial queue.
    let value = SHA256Digest()
}
