// SPDX-License-Identifier: Apache-2.0

/// The settings a program accepts, in the order `--help` and the example config file list them.
public struct ConfigSchema: Sendable {
    public let options: [ConfigOption]
    /// A one-line description per section, written above the section in the example config file.
    public let sectionHelp: [String: String]
    private let byName: [String: Int]
    private let byFlag: [String: Int]

    /// - Precondition: option names (`section.key`) and flags are unique and no flag contains a dot.
    public init(_ options: [ConfigOption], sectionHelp: [String: String] = [:]) {
        self.options = options
        self.sectionHelp = sectionHelp
        var byName: [String: Int] = [:]
        var byFlag: [String: Int] = [:]
        for (index, option) in options.enumerated() {
            precondition(byName.updateValue(index, forKey: option.name) == nil, "option \(option.name) declared twice")
            guard let flag = option.flag else { continue }
            precondition(!flag.contains("."), "flag --\(flag) of \(option.name) contains a dot")
            precondition(byFlag.updateValue(index, forKey: flag) == nil, "flag --\(flag) declared twice")
        }
        self.byName = byName
        self.byFlag = byFlag
    }

    /// Section names in order of their first option.
    public var sections: [String] {
        var seen: Set<String> = []
        return options.map(\.section).filter { seen.insert($0).inserted }
    }

    /// Returns the option named `section.key`.
    public func option(named name: String) -> ConfigOption? {
        byName[name].map { options[$0] }
    }

    /// Returns the option whose short command-line alias is `flag`.
    public func option(flag: String) -> ConfigOption? {
        byFlag[flag].map { options[$0] }
    }

    /// Returns the declared name closest to `name` by edit distance, if it is close enough to be a likely typo.
    ///
    /// When no full name is close, a dotted candidate such as `limits.long_poll_hold` is compared by its key
    /// alone with `-` for `_`, so `long-poll-hold` finds it.
    static func closest(to name: String, among candidates: [String]) -> String? {
        let limit = max(1, min(3, name.count / 3))
        func best(_ distance: (String) -> Int) -> String? {
            let scored = candidates.map { ($0, distance($0)) }
            guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= limit else { return nil }
            return best.0
        }
        if let match = best({ EditDistance.between(name, $0) }) { return match }
        let plainName = name.replacingOccurrences(of: "_", with: "-")
        return best { candidate in
            guard let key = candidate.split(separator: ".").last, key.count < candidate.count else { return Int.max }
            return EditDistance.between(plainName, key.replacingOccurrences(of: "_", with: "-"))
        }
    }
}

/// Edit distance counting insertions, deletions, substitutions and swaps of neighbors, for "did you mean" hints.
enum EditDistance {
    static func between(_ first: String, _ second: String) -> Int {
        let a = Array(first.lowercased())
        let b = Array(second.lowercased())
        var previous = Array(0...b.count)
        var beforePrevious = previous
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], beforePrevious[j - 2] + 1)
                }
            }
            beforePrevious = previous
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}
