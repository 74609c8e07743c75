// SPDX-License-Identifier: Apache-2.0
import COpenSSL

/// Checks that 32 bytes encode an Ed25519 public key that can protect a worker (RFC 8032, section 5.1.3).
///
/// OpenSSL verifies signatures against any 32 bytes. A key that encodes a point of small order (order 1, 2, 4
/// or 8) lets anyone forge signatures without a private key: with the identity point, the signature R = identity,
/// S = 0 verifies for every message. So keys are checked once, when they are admitted, rather than on every
/// verification: the y coordinate must be below p = 2^255 - 19, the point must lie on the curve, and it must not
/// have small order.
///
/// The curve is -x^2 + y^2 = 1 + d x^2 y^2 over GF(p). For a given y, x^2 = (y^2 - 1) / (d y^2 + 1). Small-order
/// points are found without computing x: y = 1 and y = -1 (orders 1 and 2, where x^2 = 0), y = 0 (order 4), and the
/// points whose double has y = 0, which by the doubling formula are those with x^2 + y^2 = 0 (order 8).
enum Ed25519PointCheck {
    /// Returned when OpenSSL cannot do the arithmetic; the key then counts as unusable.
    static let arithmeticFailed = "it could not be checked (OpenSSL big-number arithmetic failed)"

    /// Returns why `raw` cannot serve as a public key, or nil when it can.
    static func problem(with raw: [UInt8]) -> String? {
        guard raw.count == 32 else { return "it is \(raw.count) bytes, not 32" }
        guard let context = BN_CTX_new() else { return arithmeticFailed }
        defer { BN_CTX_free(context) }
        var yBytes = raw
        let xIsOdd = yBytes[31] & 0x80 != 0
        yBytes[31] &= 0x7F
        let numbers = (0..<7).map { _ in BN_new() }
        defer { numbers.forEach { BN_free($0) } }
        guard numbers.allSatisfy({ $0 != nil }) else { return arithmeticFailed }
        let (p, d, y, ySquared, u, v, scratch) =
            (numbers[0]!, numbers[1]!, numbers[2]!, numbers[3]!, numbers[4]!, numbers[5]!, numbers[6]!)

        // p = 2^255 - 19; d = -121665 / 121666 mod p.
        guard BN_set_word(p, 0) == 1, BN_set_bit(p, 255) == 1, BN_sub_word(p, 19) == 1,
            BN_set_word(scratch, 121_666) == 1, BN_mod_inverse(d, scratch, p, context) != nil,
            BN_set_word(scratch, 121_665) == 1, BN_mod_mul(d, d, scratch, p, context) == 1,
            BN_sub(d, p, d) == 1
        else { return arithmeticFailed }

        guard yBytes.withUnsafeBufferPointer({ BN_lebin2bn($0.baseAddress, 32, y) }) != nil else { return arithmeticFailed }
        if BN_cmp(y, p) >= 0 { return "its y coordinate is not reduced modulo 2^255 - 19" }
        if BN_is_zero(y) == 1 { return "it is a point of small order (4)" }

        // u = y^2 - 1 and v = d y^2 + 1, both mod p; x^2 = u / v. v is never 0 because d is not a square mod p.
        guard BN_mod_sqr(ySquared, y, p, context) == 1,
            BN_set_word(scratch, 1) == 1, BN_mod_sub(u, ySquared, scratch, p, context) == 1,
            BN_mod_mul(v, d, ySquared, p, context) == 1, BN_mod_add(v, v, scratch, p, context) == 1
        else { return arithmeticFailed }
        if BN_is_zero(u) == 1 {
            // y = 1 or y = -1, so x = 0; an odd x bit has no point to name.
            return xIsOdd ? "it is not a point on the curve" : "it is a point of small order (1 or 2)"
        }
        let xSquared = u
        guard BN_mod_inverse(v, v, p, context) != nil, BN_mod_mul(xSquared, u, v, p, context) == 1 else { return arithmeticFailed }

        // x^2 must be a square mod p: Euler's criterion, (x^2)^((p - 1) / 2) = 1.
        guard BN_copy(scratch, p) != nil, BN_sub_word(scratch, 1) == 1, BN_rshift1(scratch, scratch) == 1,
            BN_mod_exp(v, xSquared, scratch, p, context) == 1
        else { return arithmeticFailed }
        if BN_is_one(v) != 1 { return "it is not a point on the curve" }

        guard BN_mod_add(scratch, xSquared, ySquared, p, context) == 1 else { return arithmeticFailed }
        if BN_is_zero(scratch) == 1 { return "it is a point of small order (8)" }
        return nil
    }
}

extension Ed25519PublicKey {
    /// Returns why these 32 bytes cannot serve as a worker's public key, or nil when they can. A key is unusable
    /// when it is not a canonical curve point, or when it is a point of small order, with which signatures can
    /// be forged.
    ///
    /// The check costs a modular exponentiation, so run it when a key is admitted, not on each verification.
    public static func unusableReason(rawRepresentation raw: [UInt8]) -> String? {
        Ed25519PointCheck.problem(with: raw)
    }

    /// `unusableReason(rawRepresentation:)` for a key written as 64 hex digits.
    public static func unusableReason(hex: String) -> String? {
        guard let raw = try? Hex.decode(hex), raw.count == byteCount else { return "it is not 64 hex digits" }
        return unusableReason(rawRepresentation: raw)
    }
}
