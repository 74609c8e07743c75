// SPDX-License-Identifier: Apache-2.0

extension DCFRoute {
    /// Parses a request; throws `not_found`, `method_not_allowed` or `bad_request` naming the target.
    ///
    /// - Parameters:
    ///   - method: the HTTP method, any case.
    ///   - target: the request target as sent, path plus optional query string.
    public init(method: String, target: String) throws(DCFErrorResponse) {
        let (path, query) = Self.split(target)
        let method = method.uppercased()
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        guard path.hasPrefix("/"), let route = try Self.match(segments, method: method, query: query) else {
            throw DCFErrorResponse(.notFound, "no endpoint at \(path)")
        }
        self = route
    }

    private static func split(_ target: String) -> (path: String, query: [String: String]) {
        guard let mark = target.firstIndex(of: "?") else { return (target, [:]) }
        var query: [String: String] = [:]
        for pair in target[target.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            query[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return (String(target[..<mark]), query)
    }

    /// Returns nil when no endpoint has this path; throws when the path exists but the request is wrong.
    private static func match(_ segments: [String], method: String, query: [String: String])
        throws(DCFErrorResponse) -> DCFRoute?
    {
        switch segments.joined(separator: "/") {
        case "dcf/protocol": return try readOnly(method, .protocolInfo)
        case "dcf/nonce": return try only("POST", method, .nonce)
        case "dcf/register": return try only("POST", method, .register)
        case "dcf/update": return try only("POST", method, .update)
        case "dcf/model": return try only("GET", method, .currentModel)
        case "dcf/model/wait": return try only("GET", method, .modelWait(knownVersion: try waitVersion(query)))
        case "admin/workers":
            if method == "GET" { return .adminListWorkers }
            return try only("POST", method, .adminAddWorker, allowed: "GET, POST")
        case "admin/status": return try only("GET", method, .adminStatus)
        case "healthz": return try readOnly(method, .healthz)
        case "metrics": return try readOnly(method, .metrics)
        default: break
        }
        guard segments.count == 3, !segments[2].isEmpty else { return nil }
        switch (segments[0], segments[1]) {
        case ("dcf", "model"): return try modelRoute(segments[2], method: method)
        case ("admin", "workers"): return try workerRoute(segments[2], method: method)
        default: return nil
        }
    }

    private static func modelRoute(_ text: String, method: String) throws(DCFErrorResponse) -> DCFRoute {
        guard let version = ModelVersion(text) else {
            throw DCFErrorResponse(.badRequest, "model version \"\(text)\" is not a decimal integer")
        }
        return try only("GET", method, .model(version))
    }

    private static func workerRoute(_ text: String, method: String) throws(DCFErrorResponse) -> DCFRoute {
        guard let id = WorkerID(text) else {
            throw DCFErrorResponse(.badRequest, "worker id \"\(text)\" is not 8 to 128 hex digits")
        }
        if method == "DELETE" { return .adminRemoveWorker(id) }
        return try only("PUT", method, .adminSetRegistration(id), allowed: "DELETE, PUT")
    }

    /// Reads `version` from the query: empty means the worker has no model yet.
    private static func waitVersion(_ query: [String: String]) throws(DCFErrorResponse) -> ModelVersion? {
        guard let text = query["version"] else {
            throw DCFErrorResponse(.badRequest, "missing query parameter \"version\"; send ?version=<known version>")
        }
        if text.isEmpty { return nil }
        guard let version = ModelVersion(text) else {
            throw DCFErrorResponse(.badRequest, "query parameter version=\"\(text)\" is not a decimal integer")
        }
        return version
    }

    /// Accepts GET and HEAD, for routes that load balancers and monitoring probe with either. The transport
    /// sends no body in a response to HEAD.
    private static func readOnly(_ method: String, _ route: DCFRoute) throws(DCFErrorResponse) -> DCFRoute {
        method == "HEAD" ? route : try only("GET", method, route, allowed: "GET, HEAD")
    }

    private static func only(_ expected: String, _ method: String, _ route: DCFRoute, allowed: String? = nil)
        throws(DCFErrorResponse) -> DCFRoute
    {
        guard method == expected else {
            var error = DCFErrorResponse(.methodNotAllowed, "method \(method) not allowed here; use \(allowed ?? expected)")
            error.allowedMethods = allowed ?? expected
            throw error
        }
        return route
    }
}
