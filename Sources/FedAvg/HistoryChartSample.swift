// SPDX-License-Identifier: Apache-2.0

/// The rounds the history chart draws: every round while there are few, then an evenly thinned selection,
/// so drawing the chart after each round costs the same on the thousandth round as on the millionth.
///
/// The selection contains the rounds at multiples of `step`. When it grows past `limit`, every other one is
/// dropped and `step` doubles. The latest round is always drawn, selected or not.
struct HistoryChartSample {
    /// The figures of one round that the chart draws.
    struct Point: Equatable {
        var baseVersion: Int
        var evaluationAccuracy: Double?
        var evaluationLoss: Double?
        var trainingLoss: Double?

        init(_ record: RoundRecord) {
            baseVersion = record.baseVersion
            evaluationAccuracy = record.evaluationAccuracy
            evaluationLoss = record.evaluationLoss
            trainingLoss = record.trainingLoss
        }
    }

    let limit: Int
    private(set) var step = 1
    /// The rounds at multiples of `step`.
    private var selected: [Point] = []
    private var latest: Point?
    /// Rounds added so far.
    private(set) var count = 0

    init(limit: Int = 1000, records: [RoundRecord] = []) {
        precondition(limit >= 2, "a chart sample keeps at least two rounds")
        self.limit = limit
        records.forEach { add($0) }
    }

    mutating func add(_ record: RoundRecord) {
        let point = Point(record)
        if count % step == 0 { selected.append(point) }
        count += 1
        latest = point
        if selected.count > limit {
            selected = selected.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
            step *= 2
        }
    }

    /// The rounds to draw, in the order they were added.
    var points: [Point] {
        guard let latest, selected.last != latest else { return selected }
        return selected + [latest]
    }
}
