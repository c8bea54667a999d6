"""Uncached reads under named filters: the first request of each (map clusters, search,
every dashboard chart's query, the dashboard page) after the server started.

Usage: python3 bench/reads.py BASE_URL LABEL
Prints one line per request: LABEL, kind, filter name, milliseconds, status. Each filter
is asked once per kind, so every answer is computed (a server keeps map and list answers
between requests; bench/reads.sh starts a fresh server for every round).
"""
import sys
import time
import urllib.error
import urllib.request

BASE = sys.argv[1].rstrip("/")
LABEL = sys.argv[2]
# A request still unanswered after this many seconds is counted as such, at this time.
TIMEOUT = 60

# Twenty-two filters a traveller or a script asks, by name.
FILTERS = [
    ("all", ""),
    ("concerts", "category=concerts"),
    ("sports+festivals", "category=sports,festivals"),
    ("US", "country=US"),
    ("FR concerts", "country=FR&category=concerts"),
    ("rank>=60", "rank_min=60"),
    ("rank>=60 concerts", "rank_min=60&category=concerts"),
    ("rank>=80 US", "rank_min=80&country=US"),
    ("spring", "from=2027-03-01&to=2027-05-31"),
    ("June festivals", "from=2027-06-01&to=2027-06-30&category=festivals"),
    ("q=festival", "q=festival"),
    ("q=music rank>=50", "q=music&rank_min=50"),
    ("attendance>=10000", "attendance_min=10000"),
    ("local rank>=70", "local_rank_min=70"),
    ("Europe box", "bbox=-10,35,30,60"),
    ("North America box sports", "bbox=-130,20,-60,55&category=sports"),
    ("near Paris 100 km", "near=48.8566,2.3522&radius_km=100"),
    ("DE expos", "category=expos&country=DE"),
    ("rank<=30", "rank_max=30"),
    ("JP 2027", "country=JP&from=2027-01-01&to=2027-12-31"),
    ("q=Korean", "q=%EC%84%9C%EC%9A%B8"),
    ("conferences rank>=40 attendance>=1000", "category=conferences&rank_min=40&attendance_min=1000"),
]
CHARTS = ["categories", "countries", "fares", "timeline", "spend", "visitors",
          "rank-attendance", "cards"]


def with_filter(path, query):
    if not query:
        return path
    return path + ("&" if "?" in path else "?") + query


def fetch(path):
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(BASE + path, timeout=TIMEOUT) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    except TimeoutError:
        status = "timeout"
    return (time.perf_counter() - t) * 1000.0, status


for name, query in FILTERS:
    requests = [
        ("clusters", "/api/v1/map/clusters?zoom=2" + ("" if "bbox=" in query else "&bbox=-180,-85,180,85")),
        ("search", "/api/v1/events?limit=50"),
    ]
    requests += [(f"chart {c}", f"/api/v1/stats/{c}") for c in CHARTS]
    requests.append(("dashboard page", "/dashboard"))
    for kind, path in requests:
        ms, status = fetch(with_filter(path, query))
        print(f"{LABEL}\t{kind}\t{name}\t{ms:.1f}\t{status}", flush=True)
