#!/usr/bin/env python3
"""Mock providers for the pipeline benchmark, speaking the documented wire formats:

- PredictHQ `GET /v1/events/` (Bearer token; `active.gte`/`active.lte`, `start.gte`,
  `updated.gte`, `state`, `category`, `limit`/`offset`, `sort=start`; `next` as an absolute
  URL; at most 10,000 results are paged through, beyond that `overflow: true`),
- Google Places (New) `POST /v1/places:searchNearby` (`X-Goog-Api-Key`, field mask),
- Duffel `POST /air/offer_requests?return_offers=true` (`Duffel-Version: v2`).

N synthetic events (`--events`) are spread over the real cities of app/data/airports.csv,
weighted like `toursherpa generate`. Generation G >= 1 (`--generation G`, or later
`GET /control/generation/G`) changes 5% of them as a provider's next snapshot would: 4% get
a new title and rank, 1% move about 2 km; each changed record's `updated` is the time the
generation was set, so an incremental sync (`updated.gte`) asks only for them. Every event
is serialised once, so the provider's own time stays small beside the pipeline's.

Usage: bench/mock_providers.py --events N [--generation G] [--port P]
Prints `ready <port>` on stdout when it listens.
"""

import argparse
import bisect
import csv
import datetime as dt
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATEGORIES = ["concerts", "festivals", "expos", "sports", "conferences", "performing-arts"]
MAX_RESULTS = 10_000


def splitmix(x):
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


def cities():
    by_city = {}
    with open(os.path.join(ROOT, "app/data/airports.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if row["scheduled"] != "1" or not row["city"]:
                continue
            key = (row["city"], row["country"])
            if key in by_city:
                by_city[key][1] += 1
            else:
                by_city[key] = [row, 1]
    out, cumulative, total = [], [], 0
    for key in sorted(by_city):
        row, w = by_city[key]
        total += w * w
        out.append(row)
        cumulative.append(total)
    return out, cumulative, total


class Feed:
    """The provider's events, sorted by start. A generation changes records in place (their
    start never changes), so moving to the next snapshot re-serialises only 5%+5%."""

    def __init__(self, n, today):
        self.n, self.today = n, today
        self.cities = cities()
        self.generation, self.changed = 0, []
        base = [(i,) + self.record(i, 0, "") for i in range(n)]
        base.sort(key=lambda e: e[1])
        self.position = [0] * n
        for p, e in enumerate(base):
            self.position[e[0]] = p
        self.events = [e[1:] for e in base]
        self.starts = [e[0] for e in self.events]

    def set_generation(self, generation):
        changed_at = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        for i in self.changed:
            self.events[self.position[i]] = self.record(i, 0, "")
        self.changed = [i for i in range(self.n) if generation and splitmix(i * 13 + generation) % 100 < 5]
        for i in self.changed:
            self.events[self.position[i]] = self.record(i, generation, changed_at)
        self.generation = generation
        return len(self.changed)

    def record(self, i, generation, changed_at):
        """Event i as generation `generation` has it: (start, end, updated, json)."""
        city_rows, cumulative, total = self.cities
        r = splitmix(i * 7 + 1)
        c = city_rows[min(bisect.bisect_right(cumulative, r % total), len(city_rows) - 1)]
        r2, r3, r4 = splitmix(r), splitmix(r + 1), splitmix(r + 2)
        category = CATEGORIES[r2 % len(CATEGORIES)]
        lat = float(c["lat"]) + ((r3 % 10_000) / 10_000 - 0.5) * 0.27
        lon = float(c["lon"]) + ((r4 % 10_000) / 10_000 - 0.5) * 0.35
        rank = 20 + (r2 >> 8) % 76
        attendance = 200 + (r3 >> 8) % 50_000
        start = self.today + dt.timedelta(days=1 + (r4 >> 8) % 360)
        days = (r >> 20) % 4
        end = start + dt.timedelta(days=days)
        title = f"Mock {category} #{i} in {c['city']}"
        updated = "2026-11-01T00:00:00Z"
        # The 5% a later snapshot changes: 4% retitled and re-ranked, 1% moved 2 km.
        bucket = splitmix(i * 13 + generation) % 100 if generation else 100
        if bucket < 4:
            title += f" (update {generation})"
            rank = min(100, rank + 1 + generation % 5)
            updated = changed_at
        elif bucket < 5:
            lat += 0.018 * (1 if generation % 2 else -1)
            updated = changed_at
        lat = max(-89.9, min(89.9, lat))
        lon = max(-179.99, min(179.99, lon))
        record = {
            "id": f"mock{i:07d}",
            "title": title,
            "description": "Mock provider record for the pipeline benchmark.",
            "category": category,
            "labels": [category],
            "rank": rank,
            "local_rank": min(100, rank + 5),
            "phq_attendance": attendance,
            "predicted_event_spend": attendance * 150,
            "predicted_event_spend_industries": {
                "accommodation": attendance * 60,
                "hospitality": attendance * 55,
                "transportation": attendance * 35,
            },
            "entities": [{"entity_id": f"v{i % 997}", "name": f"Venue {i % 997}",
                          "type": "venue", "formatted_address": f"{i % 200} Main St, {c['city']}"}],
            "duration": (days + 1) * 86400 - 1,
            "start": f"{start}T18:00:00Z",
            "end": f"{end}T22:00:00Z",
            "updated": updated,
            "first_seen": "2026-10-01T00:00:00Z",
            "timezone": c["tz"],
            "location": [round(lon, 5), round(lat, 5)],
            "geo": {"geometry": {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]},
                    "address": {"country_code": c["country"], "locality": c["city"],
                                "region": c["subdivision"] or None,
                                "formatted_address": f"{c['city']}, {c['country']}"}},
            "scope": "locality",
            "country": c["country"],
            "state": "active",
            "brand_safe": True,
            "private": False,
        }
        if i % 3:
            record["impact_patterns"] = [{
                "vertical": "accommodation", "impact_type": "phq_attendance",
                "impacts": [{"date_local": str(start + dt.timedelta(days=d)),
                             "value": attendance // (days + 1),
                             "position": "event_day"} for d in range(days + 1)],
            }]
        return (str(start), str(end), updated, json.dumps(record, separators=(",", ":")))


class Mock(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle's algorithm and the
    # client's delayed ACK add 40 ms to every answer.
    disable_nagle_algorithm = True
    feed = None
    counts = {"events": 0, "places": 0, "flights": 0}
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def send_json(self, status, body):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def count(self, what):
        with self.lock:
            self.counts[what] += 1

    # The events one query matches, by (generation, active.gte, active.lte, updated.gte,
    # start.gte): a client pages through the same query, and a real provider answers each
    # page from an index, so the mock's own scan of its list is done once per query, not
    # once per page.
    matches = {}

    def matching(self, lo, hi, since, start_from):
        feed = self.feed
        key = (feed.generation, lo, hi, since, start_from)
        found = self.matches.get(key)
        if found is None:
            # Events active in [lo, hi]: start <= hi and end >= lo (events last at most 4 days),
            # and with `start.gte`, starting on or after it.
            earliest = str(dt.date.fromisoformat(lo) - dt.timedelta(days=4))
            if start_from is not None:
                earliest = max(earliest, start_from[:10])
            first = bisect.bisect_left(feed.starts, earliest)
            last = bisect.bisect_right(feed.starts, hi)
            found = [e for e in feed.events[first:last]
                     if e[1] >= lo and (since is None or e[2] >= since)]
            with self.lock:
                if len(self.matches) >= 64:
                    self.matches.clear()
                self.matches[key] = found
        return found

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/counts":
            return self.send_json(200, json.dumps(self.counts))
        if url.path.startswith("/control/generation/"):
            # The next snapshot: /control/generation/G (benchmark control, not PredictHQ).
            with self.lock:
                changed = self.feed.set_generation(int(url.path.rsplit("/", 1)[1]))
                self.matches.clear()
            return self.send_json(200, json.dumps({"generation": self.feed.generation, "changed": changed}))
        if url.path != "/v1/events/":
            return self.send_json(404, '{"error":"Not found"}')
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            return self.send_json(401, '{"error":"Authentication credentials were not provided."}')
        self.count("events")
        q = dict(urllib.parse.parse_qsl(url.query))
        lo, hi = q.get("active.gte", "0000-00-00"), q.get("active.lte", "9999-12-31")
        since = q.get("updated.gte")
        limit = min(int(q.get("limit", "10")), 1000)
        offset = int(q.get("offset", "0"))
        matching = self.matching(lo, hi, since, q.get("start.gte"))
        overflow = len(matching) > MAX_RESULTS
        pageable = matching[:MAX_RESULTS]
        page = pageable[offset:offset + limit]
        nxt = None
        if offset + limit < len(pageable):
            params = dict(q, offset=str(offset + limit), limit=str(limit))
            nxt = "https://api.predicthq.com/v1/events/?" + urllib.parse.urlencode(params)
        body = ('{"count":%d,"overflow":%s,"next":%s,"previous":null,"results":[%s]}'
                % (len(matching), "true" if overflow else "false", json.dumps(nxt),
                   ",".join(e[3] for e in page)))
        self.send_json(200, body)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        if url.path == "/v1/places:searchNearby":
            if not self.headers.get("X-Goog-Api-Key"):
                return self.send_json(403, '{"error":{"code":403,"status":"PERMISSION_DENIED"}}')
            self.count("places")
            kind = body["includedTypes"][0]
            center = body["locationRestriction"]["circle"]["center"]
            lat, lon = center["latitude"], center["longitude"]
            places = []
            for k in range(8):
                h = splitmix(hash((round(lat, 4), round(lon, 4), kind, k)) & 0xFFFFFFFF)
                places.append({
                    "id": f"ChIJ{h:016x}",
                    "displayName": {"text": f"Mock {kind} {k}", "languageCode": "en"},
                    "formattedAddress": "Mock street",
                    "location": {"latitude": lat + ((h % 100) - 50) / 10_000,
                                 "longitude": lon + (((h >> 8) % 100) - 50) / 10_000},
                    "rating": 3.5 + (h % 15) / 10,
                    "userRatingCount": 10 + h % 2000,
                    "priceLevel": ["PRICE_LEVEL_INEXPENSIVE", "PRICE_LEVEL_MODERATE",
                                   "PRICE_LEVEL_EXPENSIVE"][h % 3],
                    "types": [kind],
                    "googleMapsUri": f"https://maps.google.com/?cid={h}",
                })
            return self.send_json(200, json.dumps({"places": places}))
        if url.path == "/air/offer_requests":
            if self.headers.get("Duffel-Version") != "v2":
                return self.send_json(400, '{"errors":[{"code":"unsupported_version","type":"invalid_request_error","title":"Unsupported version","message":"Duffel-Version"}]}')
            self.count("flights")
            s = body["data"]["slices"][0]
            offers = []
            for k in range(3):
                amount = 150 + splitmix(hash((s["origin"], s["destination"], k)) & 0xFFFFFFFF) % 900
                offers.append({
                    "id": f"off_{k}", "total_amount": f"{amount}.00", "total_currency": "USD",
                    "owner": {"iata_code": "ZZ", "name": "Mock Air"},
                    "slices": [{"duration": "PT8H", "segments": [{
                        "departing_at": f"{s['departure_date']}T10:00:00",
                        "arriving_at": f"{s['departure_date']}T18:00:00",
                        "marketing_carrier": {"iata_code": "ZZ", "name": "Mock Air"},
                        "marketing_carrier_flight_number": str(100 + k)}]}],
                })
            return self.send_json(201, json.dumps({"data": {"id": "orq_mock", "offers": offers}}))
        self.send_json(404, '{"error":"Not found"}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--generation", type=int, default=0)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    Mock.feed = Feed(args.events, dt.datetime.now(dt.timezone.utc).date())
    Mock.feed.set_generation(args.generation)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Mock)
    print(f"ready {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
