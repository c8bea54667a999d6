"""Sequential latency of the requests a traveller's map and search make.

Usage: python3 bench/latency.py BASE_URL [REQUESTS] [map|dashboard]
Prints one line per request kind: the first request's time, then p50, p95, p99 and max in
milliseconds of the next REQUESTS (after 4 more warm-up requests), and the size of the
answer. The first request computes the answer; map clusters and event list pages are kept
until the events change, so the later ones of those kinds read the kept copy.
"""
import json
import os
import sys
import urllib.parse
import time
import urllib.request

BASE = sys.argv[1].rstrip("/")
N = int(sys.argv[2]) if len(sys.argv) > 2 else 200
SET = sys.argv[3] if len(sys.argv) > 3 else "map"

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
]

# Every chart's query: unfiltered, by category or country (answered from the rollups), and
# with filters the rollups cannot answer (counted from the events).
STATS = ["categories", "countries", "fares", "timeline", "timeline?unit=week", "spend",
         "visitors", "rank-attendance", "cards"]
FILTERS = [
    ("", ""),
    ("sports", "category=sports"),
    ("sports, JP", "category=sports&country=JP"),
    ("rank>=60", "rank_min=60"),
    ("sports, rank>=60, spring", "category=sports&rank_min=60&from=2027-03-01&to=2027-05-31"),
    ("US, 2027-06", "country=US&from=2027-06-01&to=2027-06-30"),
]
DASHBOARD = []
for label, query in FILTERS:
    for name in STATS:
        sep = "&" if "?" in name else "?"
        path = f"/api/v1/stats/{name}" + (sep + query if query else "")
        DASHBOARD.append((f"{name} [{label or 'all'}]", path))
DASHBOARD += [("dashboard page HTML", "/dashboard"),
              ("dashboard page HTML, rank>=60", "/dashboard?rank_min=60")]
if SET == "dashboard":
    CASES = DASHBOARD
elif os.environ.get("BENCH_EVENT_ID"):
    # One event's page and its trip bundle (BENCH_EVENT_ID names a stored event).
    event = urllib.parse.quote(os.environ["BENCH_EVENT_ID"], safe="")
    CASES += [("event page HTML", f"/events/{event}"),
              ("trip bundle API", f"/api/v1/events/{event}/trip")]


def fetch(path):
    t = time.perf_counter()
    with urllib.request.urlopen(BASE + path) as r:
        body = r.read()
        status = r.status
    return (time.perf_counter() - t) * 1000.0, status, body


def pct(sorted_ms, p):
    k = min(len(sorted_ms) - 1, max(0, int(round(p / 100.0 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[k]


print(f"{'request':44} {'first':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  answer")
for name, path in CASES:
    # The first request computes the answer; map clusters and event lists are then kept
    # until the events change (store::cache), so the later ones read the cached copy.
    first, _, _ = fetch(path)
    for _ in range(4):
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
        if isinstance(items, list):
            size = f"{len(items)} items"
        elif "rows" in items:
            size = f"{len(items['rows'])} fare rows from {items['origin']}"
        else:
            size = "cards"
    elif path.startswith("/api/v1/map"):
        c = json.loads(body)["clusters"]
        size = f"{len(c)} clusters, {sum(x['count'] for x in c)} events"
    elif path.startswith("/api/v1/events") and path.endswith("/trip"):
        size = f"trip bundle, {len(body)} bytes"
    elif path.startswith("/api/v1/events"):
        size = f"total {json.loads(body)['total']}"
    else:
        size = f"{len(body)} bytes"
    times.sort()
    print(f"{name:44} {first:7.1f} {pct(times, 50):7.1f} {pct(times, 95):7.1f} {pct(times, 99):7.1f} {times[-1]:7.1f}  {size}")
