// SPDX-License-Identifier: Apache-2.0
internal import COpenSSL

extension TLSContext {
    /// True when the context's own certificate (the leaf of the chain it presents) is past its notAfter
    /// date. Peers reject such a certificate, so a server should warn at start-up and on reload.
    public var certificateHasExpired: Bool {
        guard let certificate = SSL_CTX_get0_certificate(pointer), let notAfter = X509_get0_notAfter(certificate)
        else { return false }
        return X509_cmp_current_time(notAfter) < 0
    }
}
