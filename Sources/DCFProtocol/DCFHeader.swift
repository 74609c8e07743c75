// SPDX-License-Identifier: Apache-2.0

/// Names of the HTTP headers the dcf protocol defines. HTTP header names are case-insensitive;
/// these are the spellings dcf sends.
public enum DCFHeader {
    /// The protocol version a request speaks; required on every worker request.
    public static let protocolVersion = "DCF-Protocol"
    /// The worker id a request is signed by (the public key hex on `POST /dcf/register`).
    public static let workerID = "DCF-Worker-Id"
    /// The single-use server nonce a signed request consumes.
    public static let nonce = "DCF-Nonce"
    /// The hex Ed25519 signature over `SignedRequestContent.canonicalString`.
    public static let signature = "DCF-Signature"
    /// The global model version an update was trained from; empty on other requests.
    public static let baseVersion = "DCF-Base-Version"
    /// The lowercase hex SHA-256 of a request body as sent, the digest the signature covers. Required on
    /// `POST /dcf/update`, so the server checks the signature before it reads the body; the body must then
    /// match it.
    public static let bodySHA256 = "DCF-Body-SHA256"
    /// A fresh nonce the server returns with every authenticated response.
    public static let nextNonce = "DCF-Next-Nonce"
    /// The global model version a model response carries.
    public static let modelVersion = "DCF-Model-Version"
}
