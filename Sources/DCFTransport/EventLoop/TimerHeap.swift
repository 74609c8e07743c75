// SPDX-License-Identifier: Apache-2.0

/// A handle to a timer scheduled on an `EventLoop`, used to cancel it.
struct TimerID: Hashable {
    fileprivate let value: UInt64
}

/// A binary min-heap of deadlines with lazy cancellation: a cancelled timer stays in the heap until it
/// reaches the top, where `popExpired` drops it because its action is gone.
struct TimerHeap {
    private struct Entry {
        let deadline: UInt64
        let id: UInt64
    }

    private var heap: [Entry] = []
    private var actions: [UInt64: () -> Void] = [:]
    private var nextID: UInt64 = 0

    var isEmpty: Bool { actions.isEmpty }

    mutating func schedule(at deadline: UInt64, _ action: @escaping () -> Void) -> TimerID {
        nextID += 1
        actions[nextID] = action
        push(Entry(deadline: deadline, id: nextID))
        return TimerID(value: nextID)
    }

    mutating func cancel(_ timer: TimerID) {
        actions[timer.value] = nil
        // Drop cancelled entries at the top so `nextDeadline` stays accurate.
        while let top = heap.first, actions[top.id] == nil { _ = pop() }
    }

    /// The earliest deadline of a timer that is still scheduled.
    var nextDeadline: UInt64? { heap.first?.deadline }

    /// Removes and returns the actions of every timer whose deadline is at or before `now`, earliest first.
    mutating func popExpired(now: UInt64) -> [() -> Void] {
        var expired: [() -> Void] = []
        while let top = heap.first, top.deadline <= now {
            _ = pop()
            if let action = actions.removeValue(forKey: top.id) { expired.append(action) }
        }
        while let top = heap.first, actions[top.id] == nil { _ = pop() }
        return expired
    }

    private mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func pop() -> Entry {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(from: 0)
        }
        return top
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
