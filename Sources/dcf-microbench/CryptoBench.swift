// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import Foundation

/// Single-thread Ed25519 verification rate and SHA-256 throughput of DCFCrypto (OpenSSL underneath).
enum CryptoBench {
    static func run(seconds: Double) throws {
        print("\n== crypto (one thread) ==")
        let key = try Ed25519PrivateKey()
        // A canonical string of the size a real long-poll request signs.
        let content = try SignedRequestContent(
            protocolVersion: 1, method: "GET", target: DCFRoute.modelWaitTarget(knownVersion: 41),
            workerID: WorkerID(key.publicKey.hexString)!, nonce: String(repeating: "ab", count: 16), baseVersion: "",
            bodySHA256: try SHA256.hash(Data()).hexString)
        let message = content.canonicalBytes
        let signature = try key.signature(for: message)
        guard key.publicKey.isValidSignature(signature, for: message) else {
            throw BenchError("a fresh Ed25519 signature did not verify")
        }
        let verifications = countCalls(for: seconds) {
            precondition(key.publicKey.isValidSignature(signature, for: message), "signature stopped verifying")
        }
        print(String(format: "ed25519 verify: %.0f per second (%d-byte message)", verifications, message.count))
        let signatures = countCalls(for: seconds) { _ = try? key.signature(for: message) }
        print(String(format: "ed25519 sign: %.0f per second", signatures))

        let buffer = Data((0..<(64 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let hashSeconds = try BenchMachine.bestSeconds(repeats: 3) { _ = try SHA256.hash(buffer) }
        print(String(format: "sha256: %.2f GB/s (64 MiB buffer, best of 3)", Double(buffer.count) / hashSeconds / 1e9))
    }

    /// Calls `body` repeatedly for about `seconds` and returns the calls per second.
    private static func countCalls(for seconds: Double, _ body: () -> Void) -> Double {
        let start = ContinuousClock.now
        var calls = 0
        var elapsed = 0.0
        while elapsed < seconds {
            for _ in 0..<256 { body() }
            calls += 256
            elapsed = BenchMachine.seconds(since: start)
        }
        return Double(calls) / elapsed
    }
}
