// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
import Foundation

extension DCFServer {
    /// Runs an `/admin` route after checking the Basic credentials.
    func handleAdmin(_ route: DCFRoute, _ request: ServerRequest) throws -> ServerResponse {
        guard let credentials = configuration.adminCredentials else {
            throw DCFErrorResponse(
                .adminDisabled,
                "the admin API is off on this server; its operator turns it on by setting "
                    + "\(AdminCredentials.usernameVariable) and \(AdminCredentials.passwordVariable) in the server's "
                    + "environment or admin.credentials_file in its config, then restarting it")
        }
        if let address = request.peerAddress, let remaining = adminLogins.blockedFor(address) {
            let seconds = Int(remaining.components.seconds) + 1
            var response = ServerResponse.error(
                DCFErrorResponse(
                    .tooManyLoginFailures,
                    "\(adminLogins.maximumFailures) wrong admin credentials came from \(address) within "
                        + "\(adminLogins.window.components.seconds) s; try again in \(seconds) s"))
            response.headers.append(("Retry-After", String(seconds)))
            return response
        }
        guard credentials.accepts(authorization: request.header("Authorization")) else {
            if let address = request.peerAddress, adminLogins.recordFailure(address) {
                logger.warning(
                    "admin API blocked for a client address after wrong credentials",
                    [("address", address), ("failures", String(adminLogins.maximumFailures)),
                     ("blocked_for_s", String(adminLogins.window.components.seconds))])
            }
            // The rejection log writes the line for this 401, rate-limited like every other rejection.
            var response = ServerResponse.error(DCFErrorResponse(.unauthorized, "wrong or missing admin credentials"))
            response.headers.append(("WWW-Authenticate", "Basic realm=\"dcf admin\", charset=\"UTF-8\""))
            return response
        }
        if let address = request.peerAddress { adminLogins.recordSuccess(address) }
        switch route {
        case .adminListWorkers:
            return .json(registry.workers.map(\.adminEntry))
        case .adminAddWorker:
            let message = try decodeJSON(AdminAddWorkerRequest.self, request)
            return adminResult(
                try changeRegistration { try registry.addWorker(publicKey: message.publicKey, registered: message.registered) })
        case .adminRemoveWorker(let id):
            let record = try changeRegistration { try registry.removeWorker(id) }
            logger.info("admin removed worker", [("worker", id.short)])
            return .json(AdminWorkerResult(workerID: record.id, registered: false, warnings: warningsAfterChange()))
        case .adminSetRegistration(let id):
            let message = try decodeJSON(AdminSetRegistrationRequest.self, request)
            return adminResult(try changeRegistration { try registry.setRegistered(id, message.registered) })
        case .adminStatus:
            return .json(status())
        default:
            throw DCFErrorResponse(.notFound, "no admin endpoint at \(request.target)")
        }
    }

    private func adminResult(_ record: WorkerRecord) -> ServerResponse {
        logger.info("admin changed worker", [("worker", record.id.short), ("status", record.status.rawValue)])
        return .json(
            AdminWorkerResult(workerID: record.id, registered: record.isRegistered, warnings: warningsAfterChange()))
    }

    /// Logs each warning that remains after an admin change and returns their texts for the reply. Without any it
    /// returns nil, so the reply keeps the shape that older clients expect.
    private func warningsAfterChange() -> [String]? {
        let warnings = adminWarnings()
        for warning in warnings { logger.warning(warning.message, warning.fields) }
        return warnings.isEmpty ? nil : warnings.map(\.text)
    }

    /// Returns the warnings of the check set with `setAdminWarningSource(_:)`, or none when no check is set.
    func adminWarnings() -> [AdminWarning] {
        adminWarningSource.withLock { $0 }?() ?? []
    }

    /// The round status for `GET /admin/status`.
    public func status() -> AdminStatusResponse {
        let workers = registry.workers
        let warnings = adminWarnings().map(\.text)
        return AdminStatusResponse(
            modelVersion: models.current?.version, registeredWorkers: workers.filter(\.isRegistered).count,
            knownWorkers: workers.count, waitingWorkers: polls.parkedCount, admissionMode: configuration.admission.name,
            round: callbacks.roundStatus(), warnings: warnings.isEmpty ? nil : warnings)
    }
}
