#!/usr/bin/env python3
"""Runs `checker bench` at several numbers of sockets and plots what it
measured: fan-out latency and the server's memory against the number of
sockets, as one SVG for the book (book/src/images/bench-sockets.svg).

    scripts/plot-bench.py                      the newest solution, 100 to 5,000 sockets
    scripts/plot-bench.py --series 'mine=7'    the student's exercise 7 instead
    scripts/plot-bench.py --series 'shipped=--solutions' \\
        --series 'small buffers=--server-cmd "exec ./server"'
    scripts/plot-bench.py --replot             redraw from the saved figures

Each --series is LABEL=ARGS, ARGS being what follows `checker bench` (split
like a shell would). Each point is the median of --repeat runs (3 by
default): the machine's other work moves a single run. The figures are
saved next to the SVG as JSON, every run with them, so the plot can be
redrawn without running the load again. Only Python's standard library is
used: the SVG is written by hand, not drawn by a plotting package.
"""

import argparse
import json
import math
import pathlib
import shlex
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
IMAGES = ROOT / "book" / "src" / "images"
SIZES = [100, 200, 500, 1000, 2000, 5000]
COLOURS = ["#1f6fb4", "#d9480f", "#2b8a3e", "#862e9c"]


def run_bench(args, sockets):
    """One `checker bench` run; returns its JSON figures."""
    # `--typists 1`: the plot draws one `typing` at a time only, so the
    # rounds of several at once would only make each run longer.
    command = ["cargo", "run", "--quiet", "--release", "-p", "checker", "--",
               "bench", *args, "--sockets", str(sockets), "--typists", "1",
               "--format", "json"]
    print("+", " ".join(shlex.quote(part) for part in command), file=sys.stderr)
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, check=True)
    return json.loads(done.stdout)


def median_run(repeats):
    """One run made of the median of each figure over repeated runs."""
    median = dict(repeats[0])
    for key, value in repeats[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            median[key] = statistics.median(run[key] for run in repeats)
    median["repeats"] = repeats
    return median


def measure(series, sizes, repeat):
    data = []
    for label, args in series:
        runs = [median_run([run_bench(shlex.split(args), sockets) for _ in range(repeat)])
                for sockets in sizes]
        data.append({"label": label, "args": args, "runs": runs})
    return data


class Panel:
    """One chart: log-scaled sockets across, a linear value up."""

    def __init__(self, x, y, width, height, title, unit, top):
        self.x, self.y, self.width, self.height = x, y, width, height
        self.title, self.unit, self.top = title, unit, top

    def px(self, sockets, low, high):
        span = math.log10(high) - math.log10(low)
        return self.x + (math.log10(sockets) - math.log10(low)) / span * self.width

    def py(self, value):
        return self.y + self.height - value / self.top * self.height

    def frame(self, sizes):
        low, high = sizes[0], sizes[-1]
        parts = [f'<text x="{self.x}" y="{self.y - 12}" class="title">{self.title}</text>']
        for step in range(5):
            value = self.top * step / 4
            y = self.py(value)
            parts.append(f'<line x1="{self.x}" x2="{self.x + self.width}" y1="{y:.1f}" '
                         f'y2="{y:.1f}" class="grid"/>')
            parts.append(f'<text x="{self.x - 6}" y="{y + 4:.1f}" class="tick" '
                         f'text-anchor="end">{value:g}</text>')
        for sockets in sizes:
            x = self.px(sockets, low, high)
            parts.append(f'<text x="{x:.1f}" y="{self.y + self.height + 16}" class="tick" '
                         f'text-anchor="middle">{sockets:,}</text>')
        parts.append(f'<text x="{self.x + self.width / 2}" y="{self.y + self.height + 34}" '
                     f'class="axis" text-anchor="middle">sockets in one board</text>')
        parts.append(f'<text x="{self.x - 44}" y="{self.y + self.height / 2}" class="axis" '
                     f'text-anchor="middle" transform="rotate(-90 {self.x - 44} '
                     f'{self.y + self.height / 2})">{self.unit}</text>')
        return parts

    def line(self, sizes, values, colour, dashed=False):
        low, high = sizes[0], sizes[-1]
        points = " ".join(f"{self.px(s, low, high):.1f},{self.py(v):.1f}"
                          for s, v in zip(sizes, values))
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        dots = [f'<circle cx="{self.px(s, low, high):.1f}" cy="{self.py(v):.1f}" r="3" '
                f'fill="{colour}"/>' for s, v in zip(sizes, values)]
        return [f'<polyline points="{points}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dash}/>', *dots]


def nice_top(value):
    """The next round number above value, for an axis."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def svg(data):
    sizes = [run["sockets"] for run in data[0]["runs"]]
    latency_top = nice_top(max(run["fanout_p99_ms"] for d in data for run in d["runs"]))
    memory_top = nice_top(max(run["rss_idle_kib"] / 1024 for d in data for run in d["runs"]))
    latency = Panel(70, 40, 300, 220, "fan-out latency, one typing to its last receiver",
                    "ms (solid p50, dashed p99)", latency_top)
    memory = Panel(490, 40, 300, 220, "server memory with every socket idle",
                   "RSS, MiB", memory_top)
    parts = latency.frame(sizes) + memory.frame(sizes)
    for index, series in enumerate(data):
        colour = COLOURS[index % len(COLOURS)]
        runs = series["runs"]
        parts += latency.line(sizes, [r["fanout_p50_ms"] for r in runs], colour)
        parts += latency.line(sizes, [r["fanout_p99_ms"] for r in runs], colour, dashed=True)
        parts += memory.line(sizes, [r["rss_idle_kib"] / 1024 for r in runs], colour)
        y = 330 + 18 * index
        parts.append(f'<rect x="70" y="{y - 10}" width="14" height="4" fill="{colour}"/>')
        parts.append(f'<text x="92" y="{y - 4}" class="tick">{series["label"]}</text>')
    height = 340 + 18 * len(data)
    style = ("<style>text{font-family:sans-serif;fill:#222}.title{font-size:13px;"
             "font-weight:bold}.tick{font-size:11px}.axis{font-size:12px}"
             ".grid{stroke:#ddd;stroke-width:1}</style>")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 840 {height}" '
            f'width="840" height="{height}">{style}'
            f'<rect width="840" height="{height}" fill="white"/>' + "".join(parts) + "</svg>\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", action="append", metavar="LABEL=ARGS",
                        help="a line on the plot: its label and the arguments of `checker bench`")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="numbers of sockets, comma-separated (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per point, the median plotted (default: %(default)s)")
    parser.add_argument("--name", default="bench-sockets",
                        help="file name in book/src/images, without extension")
    parser.add_argument("--replot", action="store_true",
                        help="redraw from the saved JSON instead of running the bench")
    args = parser.parse_args()
    data_file = IMAGES / f"{args.name}.json"
    if args.replot:
        data = json.loads(data_file.read_text())
    else:
        series = [tuple(s.split("=", 1)) for s in (args.series or ["newest solution=--solutions"])]
        sizes = [int(size) for size in args.sizes.split(",")]
        data = measure(series, sizes, args.repeat)
        data_file.write_text(json.dumps(data, indent=1) + "\n")
    (IMAGES / f"{args.name}.svg").write_text(svg(data))
    print(f"wrote {IMAGES / (args.name + '.svg')}", file=sys.stderr)


if __name__ == "__main__":
    main()
