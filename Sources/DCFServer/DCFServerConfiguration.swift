// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
public import Foundation

/// Settings of the server backend; every limit is explicit.
public struct DCFServerConfiguration: Sendable {
    /// Directory for the worker registry database; created when missing.
    public var stateDirectory: URL
    public var admission: AdmissionMode
    /// Credentials for `/admin`; nil turns the admin API off.
    public var adminCredentials: AdminCredentials?
    /// The protocol versions the server speaks.
    public var protocolVersions: ProtocolVersionRange = .supported
    /// Software name and version reported by `GET /dcf/protocol`.
    public var serverName: String = "dcf-serverd"
    /// How long a long poll stays parked before it returns "no change"; below common proxy idle timeouts (60 s).
    public var longPollHold: Duration = .seconds(50)
    /// How long an issued nonce stays valid.
    public var nonceLifetime: Duration = .seconds(120)
    /// Outstanding nonces per worker; issuing one more evicts the oldest.
    public var maximumNoncesPerWorker: Int = 4
    /// Outstanding nonces across all workers.
    public var maximumOutstandingNonces: Int = 100_000
    /// Maximum number of workers in the registry for unsafe-mode registrations. In unsafe mode every
    /// registration adds one, so this bounds what anyone who can reach the server can add. Admin adds and key
    /// lists may pass it.
    public var maximumWorkers: Int = 100_000
    /// Largest JSON request body, in bytes.
    public var maximumControlBodyBytes: Int = 64 * 1024
    /// Largest update body as sent, in bytes; the transport should enforce it while streaming, too.
    public var maximumUpdateBodyBytes: Int = 1 << 30
    /// Largest update after decompression, in bytes.
    public var maximumInflatedUpdateBytes: Int = 2 << 30
    /// Update bodies received at once; later uploads wait in arrival order, their bodies unsent, until a
    /// place frees up. Bounds the kernel memory that uploads hold however many workers send at once.
    public var maximumConcurrentUploads: Int = 64
    /// Minimum rate of an admitted body in bytes per second, averaged over `uploadPaceWindow`, while uploads wait
    /// for a place. A slower body is rejected with `unavailable`, and its place goes to the next. 0 turns the
    /// check off.
    public var minimumUploadRate: Int = 64 * 1024
    /// How often the rate of an admitted body is checked.
    public var uploadPaceWindow: Duration = .seconds(30)
    /// Bytes that the update files of aggregated rounds may keep on disk, for later uploads to overwrite
    /// (`UpdateSpool.setReuseLimit`). 0 empties every file it keeps.
    public var spoolReuseLimit: Int = UpdateSpool.defaultReuseLimit

    public init(stateDirectory: URL, admission: AdmissionMode, adminCredentials: AdminCredentials? = nil) {
        self.stateDirectory = stateDirectory
        self.admission = admission
        self.adminCredentials = adminCredentials
    }
}
