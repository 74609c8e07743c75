// SPDX-License-Identifier: Apache-2.0
import Foundation

extension SiteDataSelection {
    /// Sets `shardIndex` and `shardCount` from text of the form `index/count`, such as `2/5` for the third
    /// of five shards.
    ///
    /// - Throws: `DatasetError` naming the text when it is not two integers with `0 <= index < count`.
    public mutating func setShard(_ text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw DatasetError.invalidSelection("shard \"\(text)\" is not of the form index/count, such as 0/4")
        }
        guard count >= 1 && index >= 0 && index < count else {
            throw DatasetError.invalidSelection("shard \"\(text)\" needs count >= 1 and 0 <= index < count; indexes start at 0, so the shards of 4 are 0/4 to 3/4")
        }
        shardIndex = index
        shardCount = count
    }

    /// Sets `classes` from a comma-separated list of class numbers, such as `0,1,2`.
    ///
    /// - Throws: `DatasetError` naming the text when an entry is not a non-negative integer or the list is
    ///   empty. Classes beyond the dataset's range are rejected later, by `apply(train:test:)`.
    public mutating func setClasses(_ text: String) throws {
        var classes = Set<Int>()
        for entry in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            guard let value = Int(trimmed), value >= 0 else {
                throw DatasetError.invalidSelection(
                    "class \"\(trimmed)\" in \"\(text)\" is not a class number; use a list such as 0,1,2"
                )
            }
            classes.insert(value)
        }
        self.classes = classes
    }
}
