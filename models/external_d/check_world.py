"""Self-check of an emitted world: files readable, row counts = files.csv, defect raw values at their lines,
_READY counts, label base rate, baseline and oracle (same formulas as the evaluator)."""
import csv, json, os, sys
from collections import Counter, defaultdict
D = sys.argv[1]
T = os.path.join(D, "truth")
rd = lambda n: list(csv.DictReader(open(os.path.join(T, n), encoding="utf-8")))
files, defects, dels = rd("files.csv"), rd("defects.csv"), rd("deliveries.csv")
def read_rows(path):
    if path.endswith(".xlsx"):
        import openpyxl
        wb = openpyxl.load_workbook(path, read_only=True)
        ws = wb.worksheets[0]
        rows = [["" if v is None else str(v) for v in r] for r in ws.iter_rows(values_only=True)]
        n = len(rows[0]); rows = [r + [""] * (n - len(r)) for r in rows]
        return rows[0], {i + 1: r for i, r in enumerate(rows) if i > 0 and any(x != "" for x in r)}
    b = open(path, "rb").read()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            s = b.decode(enc); break
        except UnicodeDecodeError:
            continue
    lines = s.splitlines()
    hdr = next(csv.reader([lines[0]]))
    out = {}
    for i, ln in enumerate(lines[1:], start=2):
        if ln.strip():
            out[i] = next(csv.reader([ln]))
    return hdr, out
bad = 0
cache = {}
for f in files:
    base = os.path.join(D, "landing", f["source"], f["extract_date"])
    p = os.path.join(base, f["file_name"])
    hdr, rows = read_rows(p)
    cache[(f["source"], f["extract_date"], f["file_name"])] = (hdr, rows)
    if len(rows) != int(f["data_rows"]):
        # mz correction: landing holds the original; same row count
        print("ROWCOUNT", p, len(rows), f["data_rows"]); bad += 1
    if os.path.exists(os.path.join(base, "_READY")):
        txt = open(os.path.join(base, "_READY")).read()
        if txt.strip():
            c = json.loads(txt)["files"][f["file_name"]]
            if c != len(rows) and f["expected"] != "rejected":
                print("READY", p, c, len(rows)); bad += 1
# defect raw values at lines (corrected version for the correction date)
mism = 0
for d in defects:
    if not d["column_name"] or d["expected"] not in ("repaired", "quarantined"):
        continue
    key = (d["source"], d["extract_date"], d["file_name"])
    hdr, rows = cache[key]
    r = rows.get(int(d["line_number"]))
    if r is not None and len(r) != len(hdr): print("SHORT", d, r); bad += 1; continue
    if r is None:
        print("NOLINE", d); bad += 1; continue
    v = r[hdr.index(d["column_name"])]
    if v != d["raw_value"]:
        mism += 1
        if mism < 5: print("RAW", d["extract_date"], d["file_name"], d["line_number"], repr(v), repr(d["raw_value"]))
print("raw mismatches", mism)
# per-file quarantine rate
q = Counter(); 
for d in defects:
    if d["expected"] in ("quarantined", "duplicate"):
        q[(d["source"], d["extract_date"], d["file_name"], d["line_number"])] = 1
qq = Counter()
for k in q: qq[k[:3]] += 1
worst = max(((qq[(f["source"], f["extract_date"], f["file_name"])] / max(1, int(f["data_rows"])), f["file_name"], f["extract_date"]) for f in files))
print("worst file quarantine+dup rate", worst)
print("defects by expected", Counter(d["expected"] for d in defects))
print("defects by kind", dict(sorted(Counter(d["kind"] for d in defects).items())))
print("deliveries", Counter(d["expected"] for d in dels))
for d in dels:
    if d["expected"] != "loaded" or d.get("note"): print("  ", d)
hh = rd("households.csv"); base = {r["household_id"]: r for r in rd("baseline_inputs.csv")}
sc = [r for r in hh if r["scored"] == "1"]
y = [int(r["fell_below_within_3m"]) for r in sc]
print("households", len(hh), "scored", len(sc), "positives", sum(y), "rate", round(sum(y) / len(sc), 4),
      "nonlocal scored", sum(r["nonlocal"] == "1" for r in sc), "urban scored", sum(r["urban_rural"] == "城市" for r in sc))
cand = rd("candidates.csv")
print("candidates", Counter(c["label"] for c in cand), Counter(c["planted"] for c in cand if c["label"] == "1"))
print("neg reasons", Counter(c["reason"] for c in cand if c["label"] != "1"))
print("bad", bad)
