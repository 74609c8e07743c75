// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Renders the round history as a standalone SVG: evaluation accuracy in the top panel, evaluation and
/// training loss in the bottom panel, both against the round, numbered by the version it started from.
/// A round's evaluation figures are those of that starting version.
enum HistoryChart {
    private static let width = 640.0
    private static let panelHeight = 220.0
    private static let margin = (left: 56.0, right: 16.0, top: 28.0, bottom: 36.0)

    struct Series {
        var label: String
        var color: String
        var points: [(x: Double, y: Double)]
    }

    static func render(_ points: [HistoryChartSample.Point]) -> String {
        let accuracy = Series(
            label: "evaluation accuracy", color: "#1f77b4",
            points: points.compactMap { point in point.evaluationAccuracy.map { (Double(point.baseVersion), $0) } }
        )
        let evaluationLoss = Series(
            label: "evaluation loss", color: "#d62728",
            points: points.compactMap { point in point.evaluationLoss.map { (Double(point.baseVersion), $0) } }
        )
        let trainingLoss = Series(
            label: "training loss", color: "#ff7f0e",
            points: points.compactMap { point in point.trainingLoss.map { (Double(point.baseVersion), $0) } }
        )
        let versions = points.map { Double($0.baseVersion) }
        let xRange = (versions.min() ?? 0, max(versions.max() ?? 1, (versions.min() ?? 0) + 1))
        let losses = (evaluationLoss.points + trainingLoss.points).map(\.y)
        let lossRange = (0.0, max(losses.max() ?? 1, 1e-9) * 1.1)

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(2 * panelHeight))" \
            font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>

            """
        svg += panel(title: "Accuracy per round", top: 0, xRange: xRange, yRange: (0, 1), series: [accuracy])
        svg += panel(
            title: "Loss per round", top: panelHeight, xRange: xRange, yRange: lossRange,
            series: [evaluationLoss, trainingLoss]
        )
        svg += "</svg>\n"
        return svg
    }

    private static func panel(
        title: String, top: Double, xRange: (Double, Double), yRange: (Double, Double), series: [Series]
    ) -> String {
        let plotLeft = margin.left
        let plotRight = width - margin.right
        let plotTop = top + margin.top
        let plotBottom = top + panelHeight - margin.bottom
        func x(_ value: Double) -> Double {
            plotLeft + (value - xRange.0) / (xRange.1 - xRange.0) * (plotRight - plotLeft)
        }
        func y(_ value: Double) -> Double {
            plotBottom - (value - yRange.0) / (yRange.1 - yRange.0) * (plotBottom - plotTop)
        }

        var out = "<text x=\"\(plotLeft)\" y=\"\(top + 18)\" font-weight=\"bold\">\(title)</text>\n"
        out += "<rect x=\"\(plotLeft)\" y=\"\(plotTop)\" width=\"\(plotRight - plotLeft)\" "
        out += "height=\"\(plotBottom - plotTop)\" fill=\"none\" stroke=\"#888\"/>\n"
        for step in 0...4 {
            let value = yRange.0 + (yRange.1 - yRange.0) * Double(step) / 4
            out += "<text x=\"\(plotLeft - 6)\" y=\"\(y(value) + 4)\" text-anchor=\"end\">"
            out += "\(format(value))</text>\n"
        }
        out += "<text x=\"\(plotLeft)\" y=\"\(plotBottom + 16)\">round \(Int(xRange.0))</text>\n"
        out += "<text x=\"\(plotRight)\" y=\"\(plotBottom + 16)\" text-anchor=\"end\">round \(Int(xRange.1))</text>\n"
        for (index, line) in series.enumerated() {
            let legendY = plotTop + 14 + Double(index) * 14
            out += "<text x=\"\(plotRight - 8)\" y=\"\(legendY)\" text-anchor=\"end\" fill=\"\(line.color)\">"
            out += "\(line.label)</text>\n"
            guard !line.points.isEmpty else { continue }
            let path = line.points.map { "\(coordinate(x($0.x))),\(coordinate(y($0.y)))" }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\" points=\"\(path)\"/>\n"
            for point in line.points {
                out += "<circle cx=\"\(coordinate(x(point.x)))\" cy=\"\(coordinate(y(point.y)))\" r=\"3\" "
                out += "fill=\"\(line.color)\"/>\n"
            }
        }
        return out
    }

    private static func format(_ value: Double) -> String {
        String(format: "%.3g", value)
    }

    private static func coordinate(_ value: Double) -> String {
        String(format: "%.1f", value)
    }
}
