// SPDX-License-Identifier: Apache-2.0
import Glibc

/// A failed system call: the call's name and the `errno` it set.
public struct SystemError: Error, CustomStringConvertible, Equatable {
    /// The name of the system call that failed, such as `accept4` or `epoll_ctl`.
    public let call: String
    /// The `errno` value the call set.
    public let code: Int32

    public init(call: String, code: Int32) {
        self.call = call
        self.code = code
    }

    public var description: String {
        "\(call) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}

/// The outcome of a non-blocking system call: a value, or "try again when the descriptor is ready".
enum NonBlockingResult<Value> {
    case value(Value)
    case wouldBlock
}

/// Runs a system call that returns -1 on failure, retrying `EINTR` and returning `EAGAIN` as `.wouldBlock`.
///
/// - Throws: `SystemError` naming `call` for every other error.
@inline(__always)
func nonBlockingSyscall<T: FixedWidthInteger>(_ call: String, _ body: () -> T) throws(SystemError) -> NonBlockingResult<T> {
    while true {
        let result = body()
        if result != -1 { return .value(result) }
        let code = errno
        switch code {
        case EINTR: continue
        case EAGAIN, EWOULDBLOCK: return .wouldBlock
        default: throw SystemError(call: call, code: code)
        }
    }
}

/// Runs a system call that is not expected to block, retrying `EINTR`.
///
/// - Throws: `SystemError` naming `call` for any error, `EAGAIN` included.
@inline(__always)
@discardableResult
func syscall<T: FixedWidthInteger>(_ call: String, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR { continue }
        throw SystemError(call: call, code: code)
    }
}
