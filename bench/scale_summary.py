"""Condenses bench/scale.sh output into one markdown table: how each read grows with N.

Usage: python3 bench/scale_summary.py LOG [LOG...]
Each cell is "first / p95" in milliseconds: the first request computes the answer; map
clusters and event lists are then kept until the events change, so their p95 reads the
kept copy. The dashboard row is the slowest chart query (p95) over the six filters.
"""
import re
import sys

ROWS = [
    "clusters, world view (zoom 2)",
    "clusters, Europe (zoom 4)",
    "clusters, world, combined filter",
    "search, combined filter",
    "search, near Paris 50 km + category",
    "search, first page unfiltered",
    "home page HTML",
    "event page HTML",
    "trip bundle API",
    "dashboard page HTML",
]

runs = {}  # (backend, n) -> {request: (first, p95)}
order = []
memory = {}
generate = {}
for path in sys.argv[1:]:
    key = None
    for line in open(path):
        m = re.match(r"## (\w+), (\d+) events", line)
        if m:
            key = (m.group(1), int(m.group(2)))
            if key not in runs:
                order.append(key)
            runs[key] = {}
            continue
        if key is None:
            continue
        m = re.match(r"server memory: (\d+) MB peak", line)
        if m:
            memory[key] = int(m.group(1))
            continue
        m = re.match(r"generate: ([\d.]+) s wall", line)
        if m:
            generate[key] = float(m.group(1))
            continue
        m = re.match(r"(.+?)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+\S", line)
        if m and not line.startswith("request"):
            runs[key][m.group(1).strip()] = (float(m.group(2)), float(m.group(4)))

heads = [f"{b} {n:,}" for b, n in order]
print("| read (ms: first / p95) | " + " | ".join(heads) + " |")
print("|---|" + "---|" * len(order))
for row in ROWS:
    cells = []
    for k in order:
        v = runs[k].get(row)
        cells.append(f"{v[0]:.1f} / {v[1]:.1f}" if v else "")
    print(f"| {row} | " + " | ".join(cells) + " |")
cells = []
for k in order:
    charts = {r: v for r, v in runs[k].items() if "[" in r}
    if charts:
        worst = max(charts.items(), key=lambda kv: kv[1][1])
        cells.append(f"{worst[1][1]:.1f} ({worst[0]})")
    else:
        cells.append("")
print("| slowest dashboard chart query, p95 | " + " | ".join(cells) + " |")
print("| `generate --events N` wall (s) | " + " | ".join(f"{generate.get(k, 0):.1f}" for k in order) + " |")
print("| server memory, peak (MB) | " + " | ".join(str(memory.get(k, "")) for k in order) + " |")
