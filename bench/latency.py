"""Sequential latency of the requests a traveller's map and search make.

Usage: python3 bench/latency.py BASE_URL [REQUESTS]
Prints one line per request kind: p50, p95, p99 and max in milliseconds, and the size of
the answer. Each kind is warmed up with 5 requests first.
"""
import json
import sys
import time
import urllib.request

BASE = sys.argv[1].rstrip("/")
N = int(sys.argv[2]) if len(sys.argv) > 2 else 200

CASES = [
    ("clusters, world view (zoom 2)", "/api/v1/map/clusters?zoom=2&bbox=-180,-85,180,85"),
    ("clusters, world view, sports", "/api/v1/map/clusters?zoom=2&bbox=-180,-85,180,85&category=sports"),
    ("clusters, Europe (zoom 4)", "/api/v1/map/clusters?zoom=4&bbox=-25,34,45,66"),
    ("clusters, city view (Tokyo, zoom 11)", "/api/v1/map/clusters?zoom=11&bbox=139.45,35.45,140.05,35.85"),
    ("clusters, world, combined filter", "/api/v1/map/clusters?zoom=2&bbox=-180,-85,180,85&category=concerts&rank_min=60&from=2027-03-01&to=2027-06-30"),
    ("search, combined filter", "/api/v1/events?country=US&category=concerts&rank_min=50&from=2027-03-01&to=2027-06-30"),
    ("search, near Paris 50 km + category", "/api/v1/events?near=48.8566,2.3522&radius_km=50&category=sports"),
    ("search, first page unfiltered", "/api/v1/events"),
    ("home page HTML", "/"),
    ("stats: categories", "/api/v1/stats/categories"),
    ("stats: countries", "/api/v1/stats/countries"),
    ("stats: timeline by month", "/api/v1/stats/timeline"),
    ("stats: spend", "/api/v1/stats/spend"),
    ("stats: rank-attendance", "/api/v1/stats/rank-attendance"),
    ("stats: cards", "/api/v1/stats/cards"),
    ("stats: countries, filtered", "/api/v1/stats/countries?category=sports&rank_min=50"),
    ("dashboard page HTML", "/dashboard"),
]


def fetch(path):
    t = time.perf_counter()
    with urllib.request.urlopen(BASE + path) as r:
        body = r.read()
        status = r.status
    return (time.perf_counter() - t) * 1000.0, status, body


def pct(sorted_ms, p):
    k = min(len(sorted_ms) - 1, max(0, int(round(p / 100.0 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[k]


print(f"{'request':44} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  answer")
for name, path in CASES:
    for _ in range(5):
        fetch(path)
    times = []
    size = ""
    for _ in range(N):
        ms, status, body = fetch(path)
        if status != 200:
            raise SystemExit(f"{path}: status {status}")
        times.append(ms)
    if path.startswith("/api/v1/stats"):
        items = json.loads(body)["items"]
        size = f"{len(items)} items" if isinstance(items, list) else "cards"
    elif path.startswith("/api/v1/map"):
        c = json.loads(body)["clusters"]
        size = f"{len(c)} clusters, {sum(x['count'] for x in c)} events"
    elif path.startswith("/api/v1/events"):
        size = f"total {json.loads(body)['total']}"
    else:
        size = f"{len(body)} bytes"
    times.sort()
    print(f"{name:44} {pct(times, 50):7.1f} {pct(times, 95):7.1f} {pct(times, 99):7.1f} {times[-1]:7.1f}  {size}")
