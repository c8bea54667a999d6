#!/usr/bin/env python3
"""SQLite's own floor for a first load: N rows of 35 text columns (about the width of a
stored event, 1.3 KB) inserted into an empty table with only its primary key, one prepared
statement, one transaction, WAL and synchronous=NORMAL as the app sets them. What the
app's commit of the same N events costs beyond this is ours.

Usage: bench/sqlite_floor.py [N] [DIR]   (defaults 1000000 and a temporary directory)
"""
import os
import sqlite3
import sys
import tempfile
import time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
folder = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp()
path = os.path.join(folder, "floor.db")
for suffix in ("", "-wal", "-shm"):
    if os.path.exists(path + suffix):
        os.remove(path + suffix)
db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
db.execute("PRAGMA cache_size=-262144")
columns = [f"c{i}" for i in range(34)]
db.execute("CREATE TABLE t(id TEXT PRIMARY KEY, " + ", ".join(f"{c} TEXT" for c in columns) + ")")
rows = ((f"mock{i:07d}",) + tuple(f"value {i} {j} some text here" for j in range(34)) for i in range(n))
started = time.time()
db.executemany("INSERT INTO t VALUES (" + ",".join("?" * 35) + ")", rows)
db.commit()
took = time.time() - started
size = sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
print(f"sqlite {sqlite3.sqlite_version}: {n} rows of 35 columns in {took:.1f} s, {size / 1e6:.0f} MB written")
db.close()
for suffix in ("", "-wal", "-shm"):
    if os.path.exists(path + suffix):
        os.remove(path + suffix)
