// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing

@Suite struct RouteTests {
    @Test(arguments: [
        ("GET", "/dcf/protocol", DCFRoute.protocolInfo), ("POST", "/dcf/nonce", .nonce),
        ("post", "/dcf/register", .register), ("GET", "/dcf/model/wait?version=4", .modelWait(knownVersion: 4)),
        ("GET", "/dcf/model/wait?version=", .modelWait(knownVersion: nil)), ("GET", "/dcf/model", .currentModel),
        ("GET", "/dcf/model/12", .model(12)), ("POST", "/dcf/update", .update),
        ("GET", "/admin/workers", .adminListWorkers), ("POST", "/admin/workers", .adminAddWorker),
        ("DELETE", "/admin/workers/abcdef12", .adminRemoveWorker(WorkerID("abcdef12")!)),
        ("PUT", "/admin/workers/ABCDEF12", .adminSetRegistration(WorkerID("abcdef12")!)),
        ("GET", "/admin/status", .adminStatus), ("GET", "/healthz", .healthz), ("GET", "/metrics", .metrics),
        ("HEAD", "/healthz", .healthz), ("HEAD", "/metrics", .metrics), ("HEAD", "/dcf/protocol", .protocolInfo),
    ])
    func parsesRoute(method: String, target: String, expected: DCFRoute) throws {
        #expect(try DCFRoute(method: method, target: target) == expected)
    }

    @Test(arguments: [
        ("GET", "/dcf/nonce", DCFErrorCode.methodNotAllowed), ("GET", "/dcf/unknown", .notFound), ("GET", "/", .notFound),
        ("GET", "/dcf/model/wait", .badRequest), ("GET", "/dcf/model/wait?version=x", .badRequest),
        ("GET", "/dcf/model/-1", .badRequest), ("PATCH", "/admin/workers/abcdef12", .methodNotAllowed),
        ("DELETE", "/admin/workers/zz", .badRequest), ("HEAD", "/dcf/model", .methodNotAllowed),
        ("HEAD", "/admin/status", .methodNotAllowed),
    ])
    func rejectsRequest(method: String, target: String, expected: DCFErrorCode) {
        #expect {
            _ = try DCFRoute(method: method, target: target)
        } throws: { error in
            (error as? DCFErrorResponse)?.code == expected
        }
    }

    @Test(arguments: [
        ("PATCH", "/admin/workers/abcdef12", "DELETE, PUT"), ("GET", "/dcf/nonce", "POST"), ("POST", "/healthz", "GET, HEAD"),
    ])
    func wrongMethodNamesAllowedOnes(method: String, target: String, allowed: String) throws {
        let error = #expect(throws: DCFErrorResponse.self) { _ = try DCFRoute(method: method, target: target) }
        #expect(error?.allowedMethods == allowed)
        let json = String(decoding: try JSONEncoder().encode(try #require(error)), as: UTF8.self)
        #expect(!json.contains("allowedMethods"), "the Allow value is a header, not part of the JSON body: \(json)")
    }

    @Test func waitTargetRoundTrips() throws {
        #expect(try DCFRoute(method: "GET", target: DCFRoute.modelWaitTarget(knownVersion: 9)) == .modelWait(knownVersion: 9))
        #expect(
            try DCFRoute(method: "GET", target: DCFRoute.modelWaitTarget(knownVersion: nil)) == .modelWait(knownVersion: nil))
    }

    @Test func versionParsingIsStrict() {
        #expect(ModelVersion(42).entityTag == "\"v42\"")
        #expect(ModelVersion("+5") == nil)
        #expect(ModelVersion("٣") == nil)
        #expect(WorkerID("ｆｆｆｆｆｆｆｆ") == nil)
    }
}
