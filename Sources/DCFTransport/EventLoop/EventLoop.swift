// SPDX-License-Identifier: Apache-2.0
import Foundation
import CLinux
import Glibc
import Synchronization

/// An object that owns a file descriptor registered with an `EventLoop` and reacts to its readiness.
protocol EventHandler: AnyObject {
    /// Called on the loop thread with the `epoll` event bits that fired.
    func handleEvents(_ events: EpollEvents)
}

/// One thread running an `epoll` loop: file descriptor readiness, timers and tasks sent from other threads.
///
/// Handlers, timers and registrations are used only on the loop thread. Other threads reach the loop only
/// through `execute`, which queues a task under a lock and wakes the loop through an `eventfd`.
final class EventLoop: @unchecked Sendable {  // Loop state is confined to the loop thread; `pending` is locked.
    private struct Pending {
        var tasks: [@Sendable () -> Void] = []
        var wakeScheduled = false
    }

    let index: Int
    private let epoll: Int32
    private let wakeFD: Int32
    private let pending = Mutex(Pending())
    private let threadID = Atomic<UInt>(0)
    private let running = Atomic<Bool>(true)
    private var handlers: [Int32: EventHandler] = [:]
    private var timers = TimerHeap()
    private var stopCallbacks: [@Sendable () -> Void] = []

    init(index: Int) throws(SystemError) {
        self.index = index
        epoll = try syscall("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        let wake = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wake >= 0 else {
            let code = errno
            close(epoll)
            throw SystemError(call: "eventfd", code: code)
        }
        wakeFD = wake
        var event = epoll_event()
        event.events = EpollEvents.readable.rawValue
        event.data.fd = wakeFD
        _ = try? syscall("epoll_ctl") { epoll_ctl(epoll, EPOLL_CTL_ADD, wakeFD, &event) }
    }

    deinit {
        close(wakeFD)
        close(epoll)
    }

    /// Whether the caller runs on this loop's thread.
    var inEventLoop: Bool { threadID.load(ordering: .acquiring) == pthread_self() }

    /// Queues `task` to run on the loop thread; callable from any thread, including the loop's own.
    func execute(_ task: @escaping @Sendable () -> Void) {
        let mustWake = pending.withLock { state -> Bool in
            state.tasks.append(task)
            if state.wakeScheduled { return false }
            state.wakeScheduled = true
            return true
        }
        if mustWake {
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
    }

    /// Schedules `action` to run on the loop thread after `delay`. Call only on the loop thread.
    @discardableResult
    func schedule(after delay: Duration, _ action: @escaping () -> Void) -> TimerID {
        assertInEventLoop()
        return timers.schedule(at: MonotonicClock.now() &+ delay.nanoseconds, action)
    }

    /// Schedules `action` to run at a monotonic `deadline` in nanoseconds. Call only on the loop thread.
    @discardableResult
    func schedule(at deadline: UInt64, _ action: @escaping () -> Void) -> TimerID {
        assertInEventLoop()
        return timers.schedule(at: deadline, action)
    }

    func cancel(_ timer: TimerID) {
        assertInEventLoop()
        timers.cancel(timer)
    }

    func assertInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        precondition(inEventLoop, "called off the event loop thread", file: file, line: line)
    }
}

// MARK: - Registration

extension EventLoop {
    /// Adds `fd` to the interest list with `events`; `handler` is kept until `deregister`.
    func register(_ fd: Int32, events: EpollEvents, handler: EventHandler) throws(SystemError) {
        assertInEventLoop()
        var event = epoll_event()
        event.events = events.rawValue
        event.data.fd = fd
        try syscall("epoll_ctl") { epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) }
        handlers[fd] = handler
    }

    func modify(_ fd: Int32, events: EpollEvents) throws(SystemError) {
        assertInEventLoop()
        var event = epoll_event()
        event.events = events.rawValue
        event.data.fd = fd
        try syscall("epoll_ctl") { epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event) }
    }

    /// Removes `fd` from the interest list; call before closing it.
    func deregister(_ fd: Int32) {
        assertInEventLoop()
        var event = epoll_event()
        _ = epoll_ctl(epoll, EPOLL_CTL_DEL, fd, &event)
        handlers[fd] = nil
    }

    /// The number of registered descriptors, excluding the loop's wake-up `eventfd`.
    var registeredCount: Int { handlers.count }
}

// MARK: - Running

extension EventLoop {
    /// Starts the loop on a new thread named after `name`.
    func start(name: String) {
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            Self.nameKernelThread(name)
            threadID.store(pthread_self(), ordering: .releasing)
            ready.signal()
            run()
        }
        thread.name = name
        thread.start()
        ready.wait()
    }

    /// Gives the calling thread `name` (at most 15 bytes kept) in `/proc`, `top -H` and `perf`, because
    /// Foundation on Linux keeps `Thread.name` to itself. Glibc's module does not export `pthread_setname_np`.
    static func nameKernelThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Asks the loop to finish; `completion` runs on the loop thread after its last iteration.
    func stop(completion: @escaping @Sendable () -> Void = {}) {
        execute { [self] in
            running.store(false, ordering: .relaxed)
            stopCallbacks.append(completion)
        }
    }

    private func run() {
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while running.load(ordering: .relaxed) {
            let count = epoll_wait(epoll, events, Int32(capacity), waitTimeout())
            if count < 0 {
                precondition(errno == EINTR, "epoll_wait failed: \(SystemError(call: "epoll_wait", code: errno))")
                continue
            }
            for offset in 0..<Int(count) {
                let fd = events[offset].data.fd
                if fd == wakeFD {
                    var counter: UInt64 = 0
                    _ = read(wakeFD, &counter, 8)
                } else {
                    handlers[fd]?.handleEvents(EpollEvents(rawValue: events[offset].events))
                }
            }
            runExpiredTimers()
            runPendingTasks()
        }
        for callback in stopCallbacks { callback() }
    }

    /// The `epoll_wait` timeout in milliseconds: 0 with tasks queued, -1 with no timer, else to the next timer.
    private func waitTimeout() -> Int32 {
        if pending.withLock({ !$0.tasks.isEmpty }) { return 0 }
        guard let deadline = timers.nextDeadline else { return -1 }
        let now = MonotonicClock.now()
        guard deadline > now else { return 0 }
        // Round up so the loop never wakes just before the deadline and spins.
        return Int32(min((deadline - now + 999_999) / 1_000_000, UInt64(Int32.max)))
    }

    private func runExpiredTimers() {
        guard !timers.isEmpty else { return }
        for action in timers.popExpired(now: MonotonicClock.now()) { action() }
    }

    private func runPendingTasks() {
        let tasks = pending.withLock { state -> [@Sendable () -> Void] in
            state.wakeScheduled = false
            defer { state.tasks = [] }
            return state.tasks
        }
        for task in tasks { task() }
    }
}

/// The `epoll` event bits the loop uses, with the values of Linux `<sys/epoll.h>` (Swift does not import
/// glibc's `EPOLL_EVENTS` enumerators).
struct EpollEvents: OptionSet {
    let rawValue: UInt32
    static let readable = EpollEvents(rawValue: 0x001)  // EPOLLIN
    static let writable = EpollEvents(rawValue: 0x004)  // EPOLLOUT
    static let error = EpollEvents(rawValue: 0x008)  // EPOLLERR
    static let hangUp = EpollEvents(rawValue: 0x010)  // EPOLLHUP
    /// The peer shut down its writing side (end of stream), reported even when `readable` is not requested.
    static let readHangUp = EpollEvents(rawValue: 0x2000)  // EPOLLRDHUP
}
