// SPDX-License-Identifier: Apache-2.0

/// The body of the 400 that a TLS port sends in reply to a plaintext HTTP/1 request. The transport sends it before
/// any dcf code reads the request, so it carries no dcf error code, and clients recognise it by its exact bytes.
public enum TLSPortPlaintextReply {
    public static let body = "This port requires TLS: use https:// here.\r\n"
}
