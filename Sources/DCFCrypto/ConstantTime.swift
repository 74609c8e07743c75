// SPDX-License-Identifier: Apache-2.0
internal import COpenSSL
public import Foundation

/// Comparisons whose duration does not depend on where the inputs differ.
public enum ConstantTime {
    /// Returns whether `lhs` and `rhs` hold the same bytes.
    ///
    /// The time taken depends only on the lengths, never on the contents, so it is safe for comparing a
    /// password or token with the expected one. Inputs of different lengths return false at once, so the
    /// length itself is not hidden: compare digests of fixed length when the length is secret.
    public static func equals(_ lhs: some ContiguousBytes, _ rhs: some ContiguousBytes) -> Bool {
        lhs.withUnsafeBytes { left in
            rhs.withUnsafeBytes { right in
                guard left.count == right.count else { return false }
                guard left.count > 0 else { return true }
                return CRYPTO_memcmp(left.baseAddress, right.baseAddress, left.count) == 0
            }
        }
    }
}
