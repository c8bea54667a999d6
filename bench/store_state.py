#!/usr/bin/env python3
"""Prints what a refresh decides in a SQLite store, in a comparable form, for bench/faults.sh.

Usage: store_state.py DB state    -> one line per fact (events, airports, places, offers,
                                     lookups, owed work, the derived map cells, rollups
                                     and narrow copies), without timestamps or run ids
       store_state.py DB lookups  -> how many provider lookups are stored (one call each)
       store_state.py DB run      -> the latest run: id status stage
       store_state.py DB events   -> how many events are active
       store_state.py DB copy TO  -> a consistent copy (the write-ahead log included)
"""
import sqlite3
import sys

QUERIES = [
    "SELECT 'event|' || id || '|' || fingerprint || '|' || state FROM events ORDER BY id",
    "SELECT 'airport|' || event_id || '|' || iata FROM event_airports ORDER BY event_id, iata",
    "SELECT 'place|' || provider || '|' || provider_id || '|' || kind || '|' || name FROM places ORDER BY 1",
    "SELECT 'offer|' || origin || '|' || destination || '|' || depart_date || '|' || carrier_code || '|' || price_minor FROM flight_offers ORDER BY 1",
    "SELECT 'place_lookup|' || cell || '|' || kind FROM place_lookups ORDER BY 1",
    "SELECT 'flight_lookup|' || origin || '|' || destination || '|' || depart_date FROM flight_lookups ORDER BY 1",
    "SELECT 'owed|' || event_id FROM pending_enrichment ORDER BY 1",
    "SELECT 'demo_generation|' || demo_generation FROM store_state",
    # The derived tables, recomputed in the commit's transaction: a killed run leaves the
    # old counts, and the next run must reach the same ones.
    "SELECT 'cell|' || level || '|' || category || '|' || gy || '|' || gx || '|' || n || '|' || "
    "CAST(ROUND(sum_lat * 1000000) AS INTEGER) || '|' || CAST(ROUND(sum_lon * 1000000) AS INTEGER) || '|' || "
    "IFNULL(single_id, '') || '|' || IFNULL(single_title, '') FROM cluster_cells ORDER BY 1",
    "SELECT 'stats|' || category || '|' || country || '|' || month || '|' || week || '|' || events || '|' || "
    "spend_events || '|' || spend_total FROM stats_rollup ORDER BY 1",
    "SELECT 'visitors|' || category || '|' || country || '|' || day || '|' || visitors || '|' || contributions "
    "FROM visitor_rollup ORDER BY 1",
]


def main() -> None:
    path, what = sys.argv[1], sys.argv[2]
    if what == "copy":
        src = sqlite3.connect(path, timeout=30)
        dst = sqlite3.connect(sys.argv[3])
        src.backup(dst)
        dst.close()
        return
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    if what == "state":
        for q in QUERIES:
            for (line,) in db.execute(q):
                print(line)
    elif what == "lookups":
        n = sum(db.execute(q).fetchone()[0] for q in (
            "SELECT count(*) FROM place_lookups", "SELECT count(*) FROM flight_lookups"))
        print(n)
    elif what == "run":
        row = db.execute("SELECT id, status, stage FROM refresh_runs ORDER BY id DESC LIMIT 1").fetchone()
        print(*(row or ("-", "-", "-")))
    elif what == "events":
        print(db.execute("SELECT count(*) FROM events WHERE state = 'active'").fetchone()[0])
    else:
        sys.exit(f"unknown: {what}")


if __name__ == "__main__":
    main()
