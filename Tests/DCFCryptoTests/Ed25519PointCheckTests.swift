// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import Testing

/// Public keys that cannot protect a worker are found before they are admitted.
struct Ed25519PointCheckTests {
    /// Encodings (little-endian y, x sign in the top bit) worked out from the curve equation; the order-8 values
    /// satisfy x^2 + y^2 = 0, so their double has y = 0.
    static let unusable: [(String, String)] = [
        ("01" + String(repeating: "00", count: 31), "small order (1 or 2)"),
        ("ec" + String(repeating: "ff", count: 30) + "7f", "small order (1 or 2)"),
        (String(repeating: "00", count: 32), "small order (4)"),
        (String(repeating: "00", count: 31) + "80", "small order (4)"),
        ("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", "small order (8)"),
        ("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", "small order (8)"),
        ("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", "small order (8)"),
        ("01" + String(repeating: "00", count: 30) + "80", "not a point on the curve"),
        ("02" + String(repeating: "00", count: 31), "not a point on the curve"),
        (String(repeating: "ff", count: 32), "not reduced modulo"),
        ("ed" + String(repeating: "ff", count: 30) + "7f", "not reduced modulo"),
    ]

    @Test(arguments: unusable)
    func unusableKeyHasReason(_ hex: String, _ expected: String) {
        let reason = Ed25519PublicKey.unusableReason(hex: hex)
        #expect(reason?.contains(expected) == true, "\(hex): \(reason ?? "accepted")")
    }

    @Test func generatedKeysAreUsable() throws {
        for _ in 0..<64 {
            let key = try Ed25519PrivateKey().publicKey
            #expect(Ed25519PublicKey.unusableReason(rawRepresentation: key.rawRepresentation) == nil, "\(key)")
        }
    }

    /// y = 3 lies on the curve and is not of small order.
    @Test func pointOnCurveWithSmallCoordinateIsUsable() {
        #expect(Ed25519PublicKey.unusableReason(hex: "03" + String(repeating: "00", count: 31)) == nil)
    }
}
