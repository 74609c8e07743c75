// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Foundation
import Testing

/// A 405 response names the methods the path takes in an `Allow` header.
struct MethodNotAllowedTests {
    @Test func wrongMethodGetsAllowHeader() throws {
        let harness = try ServerHarness()
        let request = ServerRequest(method: "POST", target: DCFRoute.modelPath, headers: [], body: try .memory(Data()))
        let response = try #require(harness.send(request))
        #expect(response.status == 405)
        #expect(response.header("Allow") == "GET")
    }
}
