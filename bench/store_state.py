#!/usr/bin/env python3
"""Prints what a refresh decides in a store, in a comparable form, for bench/faults.sh.

STORE is a SQLite file's path or a postgres:// URL (read with psql).

Usage: store_state.py STORE state    -> one line per fact (events, airports, places, offers,
                                        lookups, owed work, the derived map cells and
                                        rollups), without timestamps or run ids
       store_state.py STORE lookups  -> how many provider lookups are stored (one call each)
       store_state.py STORE run      -> the latest run: id status stage
       store_state.py STORE events   -> how many events are active
       store_state.py STORE copy TO  -> a consistent copy (SQLite: the write-ahead log
                                        included; PostgreSQL: TO is a new database's name,
                                        made from STORE as its template)
"""
import sqlite3
import subprocess
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
    "CAST(ROUND(sum_lat * 1000000) AS BIGINT) || '|' || CAST(ROUND(sum_lon * 1000000) AS BIGINT) || '|' || "
    "COALESCE(single_id, '') || '|' || COALESCE(single_title, '') FROM cluster_cells ORDER BY 1",
    "SELECT 'stats|' || category || '|' || country || '|' || month || '|' || week || '|' || events || '|' || "
    "spend_events || '|' || spend_total FROM stats_rollup ORDER BY 1",
    "SELECT 'visitors|' || category || '|' || country || '|' || day || '|' || visitors || '|' || contributions "
    "FROM visitor_rollup ORDER BY 1",
]


class Store:
    """Runs a query on SQLite or PostgreSQL and answers rows of text."""

    def __init__(self, where: str):
        self.pg = where.startswith("postgres")
        self.where = where
        if not self.pg:
            self.db = sqlite3.connect(f"file:{where}?mode=ro", uri=True, timeout=30)

    def rows(self, sql: str) -> list:
        if not self.pg:
            return [tuple(str(v) for v in r) for r in self.db.execute(sql)]
        out = subprocess.run(["psql", "-qAt", "-F", "\t", self.where, "-c", sql],
                             check=True, capture_output=True, text=True).stdout
        return [tuple(line.split("\t")) for line in out.splitlines()]


def copy(where: str, to: str) -> None:
    if where.startswith("postgres"):
        admin = where.rsplit("/", 1)[0] + "/postgres"
        source = where.rsplit("/", 1)[1].split("?")[0]
        subprocess.run(["psql", "-q", admin, "-c", f"CREATE DATABASE {to} TEMPLATE {source}"],
                       check=True, capture_output=True)
        return
    src = sqlite3.connect(where, timeout=30)
    dst = sqlite3.connect(to)
    src.backup(dst)
    dst.close()


def main() -> None:
    where, what = sys.argv[1], sys.argv[2]
    if what == "copy":
        copy(where, sys.argv[3])
        return
    db = Store(where)
    if what == "state":
        for q in QUERIES:
            for (line,) in db.rows(q):
                print(line)
    elif what == "lookups":
        n = sum(int(db.rows(q)[0][0]) for q in (
            "SELECT count(*) FROM place_lookups", "SELECT count(*) FROM flight_lookups"))
        print(n)
    elif what == "run":
        rows = db.rows("SELECT id, status, stage FROM refresh_runs ORDER BY id DESC LIMIT 1")
        print(*(rows[0] if rows else ("-", "-", "-")))
    elif what == "events":
        print(db.rows("SELECT count(*) FROM events WHERE state = 'active'")[0][0])
    else:
        sys.exit(f"unknown: {what}")


if __name__ == "__main__":
    main()
