# SPDX-License-Identifier: Apache-2.0
"""Reads the dcf and Flower result files of bench-full.sh, prints the side-by-side table with the
dcf/Flower ratios and writes an SVG chart of median round time against the number of workers.

Usage: compare.py DIR SVG [N:SIZE ...]. With scenarios, only those rows are read, so results left in DIR by
an earlier run with other scenarios stay out of the table and the chart.

Columns: dcf_s and flower_s are the median round times, time_ratio is dcf_s / flower_s (below 1: dcf is
faster); dcf_MB and flower_MB are the servers' peak resident memory (VmHWM of dcf-serverd, ru_maxrss of the
Flower server), mem_ratio is dcf_MB / flower_MB; dcf_err counts failed requests and rejected updates,
flw_err the clients that failed. A "-" means that Flower did not run the scenario or did not finish it."""
import json
import statistics
import sys
from pathlib import Path


def load(path):
    data = json.loads(Path(path).read_text())
    times = [r["seconds"] for r in data["rounds"]]
    return {"median": statistics.median(times) if times else None, "rounds": len(times),
            "peak": data.get("server_vmhwm_bytes", 0) / 1e6,
            "errors": data.get("errors", 0) + sum(r.get("failures", 0) for r in data["rounds"])}


def size_value(size):
    """Return the number in a model size such as 13MB, so that sizes sort as 1MB, 13MB, 100MB."""
    digits = size.rstrip("kMGiB")
    return float(digits) if digits.replace(".", "", 1).isdigit() else 0.0


def chart(series, out):
    width, height, left, bottom, top, right = 640, 400, 70, 50, 30, 150
    points = [(n, t) for rows in series.values() for n, t in rows]
    if not points:
        return
    import math
    xs = sorted({n for n, _ in points})
    tmin = min(t for _, t in points)
    tmax = max(t for _, t in points)
    lo, hi = math.floor(math.log10(tmin)), math.ceil(math.log10(tmax))
    hi = max(hi, lo + 1)
    xlo, xhi = math.log10(min(xs)), math.log10(max(xs))
    if xhi - xlo < 1:  # a single worker count goes in the middle, not on the left edge
        middle = (xlo + xhi) / 2
        xlo, xhi = middle - 0.5, middle + 0.5

    def px(n):
        return left + (math.log10(n) - xlo) / (xhi - xlo) * (width - left - right)

    def py(t):
        return height - bottom - (math.log10(t) - lo) / (hi - lo) * (height - bottom - top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="{left}" y="18" font-size="14">Median FedAvg round time (log-log; lower is faster)</text>']
    for e in range(lo, hi + 1):
        y = py(10 ** e)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{10 ** e:g} s</text>')
    for n in xs:
        x = px(n)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - bottom}" stroke="#eee"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle">{n}</text>')
    parts.append(f'<text x="{(left + width - right) / 2}" y="{height - 10}" text-anchor="middle">workers</text>')
    # One colour per model size, solid for dcf and dashed for Flower, so the two lines of a size pair up.
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]

    def size_of(name):  # "dcf 13MB" -> "13MB"
        return name.split(" ", 1)[1]

    sizes = sorted({size_of(name) for name in series}, key=lambda size: (size_value(size), size))
    ordered = sorted(series.items(), key=lambda item: (sizes.index(size_of(item[0])), item[0].startswith("Flower")))
    for i, (name, rows) in enumerate(ordered):
        rows = sorted(rows)
        color = colors[sizes.index(size_of(name)) % len(colors)]
        dash = ' stroke-dasharray="5,4"' if name.startswith("Flower") else ""
        path = " ".join(f"{px(n):.1f},{py(t):.1f}" for n, t in rows)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        # Filled points for dcf, hollow ones for Flower, which tell the two apart where a series has one point.
        fill = "white" if name.startswith("Flower") else color
        marker = f'r="3.5" fill="{fill}" stroke="{color}" stroke-width="1.5"'
        for n, t in rows:
            parts.append(f'<circle cx="{px(n):.1f}" cy="{py(t):.1f}" {marker}/>')
        ly = top + 10 + 18 * i
        parts.append(f'<line x1="{width - right + 10}" y1="{ly}" x2="{width - right + 30}" y2="{ly}" '
                     f'stroke="{color}" stroke-width="2"{dash}/>')
        parts.append(f'<circle cx="{width - right + 20}" cy="{ly}" {marker}/>')
        parts.append(f'<text x="{width - right + 35}" y="{ly + 4}">{name}</text>')
    parts.append("</svg>")
    Path(out).write_text("\n".join(parts) + "\n")


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: compare.py DIR SVG [N:SIZE ...]")
    directory, svg = Path(sys.argv[1]), sys.argv[2]
    selected = {f"n{s.split(':')[0]}-{s.split(':')[1]}" for s in sys.argv[3:] if s.count(":") == 1}
    print(f"{'scenario':<16} {'dcf_s':>8} {'flower_s':>9} {'time_ratio':>10} {'dcf_MB':>8} {'flower_MB':>10} "
          f"{'mem_ratio':>9} {'dcf_err':>7} {'flw_err':>7}")
    series = {}

    def order(path):  # by workers, then by model size: n10-1MB, n10-13MB, n10-100MB, n100-1MB, ...
        workers, size = path.parent.name.split("-")[:2]
        return int(workers[1:]), size_value(size), size

    for dcf_file in sorted(directory.glob("n*-tls/result.json"), key=order):
        name = dcf_file.parent.name
        if sys.argv[3:] and name.removesuffix("-tls") not in selected:
            continue
        workers, size = name.split("-")[0][1:], name.split("-")[1]
        dcf = load(dcf_file)
        if dcf["median"]:
            series.setdefault(f"dcf {size}", []).append((int(workers), dcf["median"]))
        flower_file = directory / f"flower-n{workers}-{size}.json"
        flower = load(flower_file) if flower_file.exists() else None
        if flower and flower["median"]:
            series.setdefault(f"Flower {size}", []).append((int(workers), flower["median"]))

        def fmt(value, spec):
            if value is not None:
                return format(value, spec)
            return format("-", ">" + spec.split(".")[0].rstrip("d"))  # a missing figure keeps its column
        ratio_t = dcf["median"] / flower["median"] if flower and flower["median"] and dcf["median"] else None
        ratio_m = dcf["peak"] / flower["peak"] if flower and flower["peak"] else None
        print(f"{workers + ' x ' + size:<16} {fmt(dcf['median'], '8.3f')} "
              f"{fmt(flower and flower['median'], '9.3f')} {fmt(ratio_t, '10.2f')} {dcf['peak']:8.1f} "
              f"{fmt(flower and flower['peak'], '10.1f')} {fmt(ratio_m, '9.2f')} {dcf['errors']:7d} "
              f"{fmt(flower and flower['errors'], '7d')}")
    chart(series, svg)


if __name__ == "__main__":
    main()
