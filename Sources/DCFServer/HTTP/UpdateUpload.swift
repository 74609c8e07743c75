// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFSupport
import DCFTransport
import Dispatch
import Foundation

/// Streams one `POST /dcf/update` body into a spool file, computing its SHA-256 on the way.
///
/// Each chunk is written on `queue`, off the event loop, and the next chunk is requested only after the write,
/// so a fast client cannot fill memory faster than the disk takes the bytes. The body limit is enforced as
/// bytes arrive. When the body is complete, `onComplete` runs on `queue` with the spooled body. The spool file
/// is deleted after `onComplete` returns, unless the strategy moved it away.
final class UpdateUpload: @unchecked Sendable {  // Mutable state is touched only on `queue`.
    private let spool: UpdateSpool
    private let limit: Int
    private let declaredSHA256: String?
    private let admit: @Sendable () throws(DCFErrorResponse) -> Void
    private let responder: HTTPResponder
    private let queue: DispatchQueue
    private let logger: Logger
    private let onReject: @Sendable (DCFErrorResponse) -> Void
    private let onComplete: @Sendable (RequestBody) -> Void
    private let onFinish: @Sendable () -> Void
    private let admission: UploadAdmission
    private let pace: UploadPace?
    private var slot: UploadSlot?
    /// `byteCount` at the last pace check.
    private var bytesAtPaceCheck = 0
    /// The demand of the last chunk, through which the pace check finds out whether the body waits on the server.
    private var latestDemand: HTTPBodyDemand?

    private var fileURL: URL?
    private var hasher: SHA256Hasher?
    /// Looks for NaN and infinity while each chunk is in cache; nil for a compressed body.
    private var finiteScan: SafeTensorsFiniteScan?
    private var byteCount = 0
    private var isAdmitted = false
    /// Bytes of the spool file whose writeback has been started.
    private var writebackStarted = 0
    private var isFinished = false

    /// Writeback of the spool file starts every this many bytes, so the disk writes while the body arrives and
    /// the strategy's `fsync` before accepting the update finds little left to write.
    static let writebackStep = 4 << 20
    /// Lets one line about a failed spool write through every 10 s. With the disk full every upload fails the same
    /// way, and workers that resend would otherwise log dozens of lines a second.
    static let spoolFailureLines = LogRepeatLimit(interval: .seconds(10))

    /// - Parameters:
    ///   - onReject: runs on `queue` after the upload was rejected with an error response of its own.
    ///   - onFinish: runs on `queue` once the upload ended in any way: completed and handled, rejected, or
    ///     abandoned by the client.
    /// - Parameters:
    ///   - declaredSHA256: the digest the head declared and the signature covers; a body with another digest
    ///     is rejected as `bad_signature` before the strategy receives it.
    ///   - admit: runs on `queue` before the first body byte is stored; an error it throws is the response.
    ///   - admission: the queue of uploads; the body is read only once this upload's turn comes, after `admit`.
    ///   - pace: the minimum rate an admitted body must keep while other uploads wait; nil turns the check off.
    ///   - scansValues: whether the body is an uncompressed safetensors file whose floating-point values are
    ///     checked as they arrive; the result goes to the completed body's `nonFiniteTensors`.
    ///   - scanHeaderLimit: the largest header the scan collects and parses. For a larger header the scan stops,
    ///     so `nonFiniteTensors` is nil and the strategy checks the values itself.
    init(
        spool: UpdateSpool, limit: Int, declaredSHA256: String? = nil, scansValues: Bool,
        scanHeaderLimit: Int = SafeTensors.defaultMaximumHeaderSize, responder: HTTPResponder,
        queue: DispatchQueue, logger: Logger,
        admit: @escaping @Sendable () throws(DCFErrorResponse) -> Void = {},
        admission: UploadAdmission,
        pace: UploadPace? = nil,
        onReject: @escaping @Sendable (DCFErrorResponse) -> Void,
        onComplete: @escaping @Sendable (RequestBody) -> Void,
        onFinish: @escaping @Sendable () -> Void = {}
    ) {
        self.spool = spool
        self.limit = limit
        self.declaredSHA256 = declaredSHA256
        self.admit = admit
        self.admission = admission
        self.pace = pace
        finiteScan = scansValues ? SafeTensorsFiniteScan(maximumHeaderSize: scanHeaderLimit) : nil
        self.responder = responder
        self.queue = queue
        self.logger = logger
        self.onReject = onReject
        self.onComplete = onComplete
        self.onFinish = onFinish
    }

    /// The body handling to return to the transport.
    var handling: HTTPRequestBodyHandling {
        .stream(
            HTTPBodyStream(
                onStart: { [self] demand in queue.async { self.start(demand) } },
                onChunk: { [self] chunk, demand in queue.async { self.append(chunk, demand) } },
                onEnd: { [self] in queue.async { self.complete() } },
                onError: { [self] error in queue.async { self.abandon(error) } }))
    }

    /// Checks the head, then waits for the upload's turn before the first body byte is read.
    private func start(_ demand: HTTPBodyDemand) {
        guard !isFinished, admitIfNeeded() else { return }
        slot = admission.enter(
            { [self] in queue.async { self.granted(demand) } },
            reject: { [self] in
                queue.async {
                    guard !self.isFinished else { return }
                    self.reject(DCFErrorResponse(
                        .unavailable, "the server is shutting down before this upload's turn; send it again later"))
                }
            })
    }

    private func granted(_ demand: HTTPBodyDemand) {
        guard !isFinished else { return }
        latestDemand = demand
        schedulePaceCheck()
        demand.requestMore()
    }

    private func schedulePaceCheck() {
        guard let pace else { return }
        queue.asyncAfter(deadline: .now() + pace.window.secondsDouble) { [self] in checkPace() }
    }

    /// Rejects the upload when, with other uploads waiting, its body arrived slower than `pace` during the last
    /// window, so a few slow or stalling clients cannot hold every place. A body that the server has not read
    /// as fast as it arrived keeps its place: the server, not the client, is behind.
    private func checkPace() {
        guard !isFinished, let pace else { return }
        let received = byteCount - bytesAtPaceCheck
        bytesAtPaceCheck = byteCount
        let waiting = admission.waitingCount
        guard waiting > 0, received < pace.minimumBytesPerWindow, let latestDemand else {
            schedulePaceCheck()
            return
        }
        latestDemand.checkUnreadInput { [self] unread in
            queue.async { self.finishPaceCheck(received: received, waiting: waiting, serverBehind: unread) }
        }
    }

    private func finishPaceCheck(received: Int, waiting: Int, serverBehind: Bool) {
        guard !isFinished, let pace else { return }
        let fields = [
            ("bytes_in_window", String(received)), ("window_s", String(pace.window.components.seconds)),
            ("waiting", String(waiting)),
        ]
        if serverBehind {
            admission.recordSlowUploadKept()
            logger.debug("kept a slow update upload: its unread bytes show that the server is behind", fields)
            schedulePaceCheck()
            return
        }
        logger.info("rejected a slow update upload to free its place", fields)
        reject(DCFErrorResponse(
            .unavailable,
            "the update body arrived at \(received) bytes in \(pace.window.components.seconds) s while \(waiting) "
                + "other uploads waited; the server needs at least \(pace.bytesPerSecond) bytes/s then "
                + "(limits.min_upload_rate); send the update again"))
    }

    /// Gives back the upload's place in `admission`, then runs `onFinish`.
    private func finished() {
        slot?.release()
        slot = nil
        onFinish()
    }

    private func append(_ chunk: [UInt8], _ demand: HTTPBodyDemand) {
        guard !isFinished, admitIfNeeded() else { return }
        latestDemand = demand
        byteCount += chunk.count
        guard byteCount <= limit else {
            reject(DCFErrorResponse(
                .bodyTooLarge, "the update body passed the limit of \(limit) bytes; send a smaller update"))
            return
        }
        do {
            try openFileIfNeeded()
            try hasher?.update(chunk)
            chunk.withUnsafeBytes { finiteScan?.consume($0) }
            try writeToFile(chunk, endingAt: byteCount)
        } catch {
            if let held = Self.spoolFailureLines.admit() {
                logger.error(
                    "failed to write update body to the spool",
                    [("file", fileURL?.path ?? "none"), ("error", "\(error)"), ("repeats_since_last_line", String(held))])
            }
            reject(Self.storageFailure(error))
            return
        }
        admission.requestNextChunk(demand)
    }

    private func complete() {
        guard !isFinished, admitIfNeeded() else { return }
        isFinished = true
        let body: RequestBody
        do {
            try openFileIfNeeded()
            // A reused spool file may be longer than this body.
            if let path = fileURL?.path, truncate(path, off_t(byteCount)) != 0 {
                throw SpoolWriteError(call: "truncate", path: path, code: errno)
            }
            let digest = try hasher?.finalize().hexString ?? ""
            if let declaredSHA256, digest != declaredSHA256 {
                removeFile()
                respondError(DCFErrorResponse(
                    .badSignature,
                    "the body's SHA-256 is \(digest) but \(DCFHeader.bodySHA256) says \(declaredSHA256); the body "
                        + "changed after it was signed"))
                finished()
                return
            }
            body = .spooled(
                file: fileURL!, byteCount: byteCount, sha256: digest, nonFiniteTensors: finiteScan?.nonFiniteTensors)
        } catch {
            logger.error(
                "failed to finish update body in the spool", [("file", fileURL?.path ?? "none"), ("error", "\(error)")])
            removeFile()
            respondError(Self.storageFailure(error))
            finished()
            return
        }
        onComplete(body)
        removeFile()
        finished()
    }

    /// Runs `admit` once; on failure responds with its error and ends the upload. Returns whether the upload
    /// may go on.
    private func admitIfNeeded() -> Bool {
        guard !isAdmitted else { return true }
        do {
            try admit()
            isAdmitted = true
            return true
        } catch {
            reject(error)
            return false
        }
    }

    private func abandon(_ error: HTTPRequestError) {
        guard !isFinished else { return }
        isFinished = true
        logger.debug("update upload ended early", [("bytes", String(byteCount)), ("reason", error.description)])
        removeFile()
        finished()
    }

    private func reject(_ error: DCFErrorResponse) {
        isFinished = true
        removeFile()
        respondError(error)
        finished()
    }

    private func respondError(_ error: DCFErrorResponse) {
        if responder.respond(ServerResponse.error(error).httpResponse) { onReject(error) }
    }

    private func openFileIfNeeded() throws {
        guard fileURL == nil else { return }
        fileURL = try spool.createFile(kind: "upload")
        hasher = try SHA256Hasher()
    }

    /// Writes `chunk` to the spool file at its place in the body, overwriting what a reused file held there.
    /// The file is opened for each chunk rather than held open, so thousands of uploads in flight need no
    /// descriptor each besides their socket.
    private func writeToFile(_ chunk: [UInt8], endingAt end: Int) throws {
        guard let path = fileURL?.path else { return }
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SpoolWriteError(call: "open", path: path, code: errno) }
        defer { close(descriptor) }
        let start = end - chunk.count
        try chunk.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = pwrite(
                    descriptor, buffer.baseAddress! + offset, buffer.count - offset, off_t(start + offset))
                if written < 0 {
                    if errno == EINTR { continue }
                    throw SpoolWriteError(call: "write", path: path, code: errno)
                }
                offset += written
            }
        }
        if end - writebackStarted >= Self.writebackStep {
            Writeback.start(descriptor: descriptor, offset: writebackStarted, count: end - writebackStarted)
            writebackStarted = end
        }
    }

    /// Returns the response to an upload that could not be spooled. A full disk or quota gets 503 `unavailable`,
    /// which workers retry, because the update was not taken and space may come back. Other failures get 500.
    static func storageFailure(_ error: any Error) -> DCFErrorResponse {
        UpdateSpool.isOutOfSpace(error)
            ? UpdateSpool.diskFullResponse
            : DCFErrorResponse(.internalError, "the server cannot store the update; see its log")
    }

    private func removeFile() {
        if let fileURL { try? FileManager.default.removeItem(at: fileURL) }
    }
}

/// A system call on a spool file failed; the description names the call, the file and the error.
struct SpoolWriteError: Error, CustomStringConvertible {
    let call: String
    let path: String
    let code: Int32

    var description: String { "\(call) \(path) failed: \(String(cString: strerror(code))) (errno \(code))" }
}

/// The minimum rate at which an admitted update body must arrive while other uploads wait for a place.
struct UploadPace: Sendable {
    let bytesPerSecond: Int
    /// How often the rate is checked, over the bytes received since the last check.
    let window: Duration

    var minimumBytesPerWindow: Int {
        Int((Double(bytesPerSecond) * window.secondsDouble).rounded(.up))
    }
}
