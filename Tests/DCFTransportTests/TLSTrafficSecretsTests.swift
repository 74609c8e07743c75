// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import DCFTransport

/// Key material that `TLSTrafficSecrets` drops must not stay readable in freed memory.
@Suite struct TLSTrafficSecretsTests {
    @Test func forgetWipesStoredSecrets() {
        let pattern = [UInt8](repeating: 0xA7, count: 32)
        let secrets = TLSTrafficSecrets()
        // Built in place, so the secrets object holds the only reference to each array's storage.
        secrets.client = (0..<32).map { _ in 0xA7 }
        secrets.server = (0..<32).map { _ in 0xA7 }
        secrets.forget()
        #expect(secrets.client == nil)
        #expect(secrets.server == nil)

        // glibc's malloc hands the chunks just freed, of the same size, to the next allocations on this thread.
        // Their bytes after the array header are left as they were, so an unwiped secret shows there. Another
        // allocator may return other memory, and then the check passes without showing anything.
        let chunks = [malloc(64)!, malloc(64)!]
        defer { chunks.forEach { free($0) } }
        for chunk in chunks {
            let bytes = [UInt8](UnsafeRawBufferPointer(start: chunk, count: 64))
            #expect(!bytes.indices.dropLast(31).contains { Array(bytes[$0..<$0 + 32]) == pattern })
        }
    }
}
