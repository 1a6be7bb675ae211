# -*- coding: utf-8 -*-
"""Baseline (bureau sort) and oracle figures of world C, computed exactly as evaluate_world.py does.

    python metrics.py [TRUTH_DIR]      (default ./out/truth)
"""
import csv
import datetime as dt
import importlib.util
import os
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
truth = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "out", "truth")
spec = importlib.util.spec_from_file_location("ev", "/work/shared/tools/evaluate_world.py")
ev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ev)          # only its pure functions are used (auc, precision_recall_at_k, dibao_std)

hh = list(csv.DictReader(open(os.path.join(truth, "households.csv"), encoding="utf-8")))
base = {r["household_id"]: r for r in csv.DictReader(open(os.path.join(truth, "baseline_inputs.csv"), encoding="utf-8"))}
sc = [r for r in hh if r["scored"] == "1"]
ids = [r["household_id"] for r in sc]
lab = [int(r["fell_below_within_3m"]) for r in sc]
d = dt.date.fromisoformat(sc[0]["as_of_date"])
k = max(1, round(0.10 * len(sc)))
ratios = {}
for h in ids:
    v = ev.fnum(base[h]["stale_pc_income"]) if base[h]["stale_pc_income"].strip() else None
    if v is not None:
        ratios[h] = v / ev.dibao_std(d, base[h]["urban_rural"] == "城市")
med = sorted(ratios.values())[len(ratios) // 2]
bs = [-ratios.get(h, med) for h in ids]
tr = {r["household_id"]: r for r in sc}
os_ = [-(ev.fnum(tr[h]["true_pc_income_asof"]) or 0.0) / ev.dibao_std(d, tr[h]["urban_rural"] == "城市") for h in ids]
bp, br = ev.precision_recall_at_k(bs, lab, k)
op, orr = ev.precision_recall_at_k(os_, lab, k)
print(f"as_of {d}; households in snapshot {len(hh)}; scored {len(sc)}; positives {sum(lab)} "
      f"(label rate {sum(lab) / len(sc):.3f}); k = {k}; non-local scored {sum(1 for r in sc if r['nonlocal'] == '1')}")
print(f"baseline (stale 月人均收入 / standard): AUC {ev.auc(bs, lab):.3f}  precision@k {bp:.3f}  recall@k {br:.3f}"
      f"  ({len(ids) - len(ratios)} without income, imputed at the median)")
print(f"oracle   (true income on as_of):        AUC {ev.auc(os_, lab):.3f}  precision@k {op:.3f}  recall@k {orr:.3f}")
print("scored by category:", dict(Counter(r["category"] for r in sc)), " by area:", dict(Counter(r["urban_rural"] for r in sc)))
print("positives by area:", dict(Counter(r["urban_rural"] for r in sc if r["fell_below_within_3m"] == "1")))
# why positives fell: last event of the household in 2024-06..2025-02 (a coarse attribution)
cause = Counter()
for r in sc:
    if r["fell_below_within_3m"] == "1":
        ev_ = [e.split(":")[1] for e in r["events_2024_06_to_2025_02"].split(";") if e]
        cause[ev_[-1] if ev_ else "no event (income noise near the line)"] += 1
print("positives, last event since 2024-06:", dict(cause.most_common()))
age = Counter()
for h in ids:
    cd = base[h]["check_date"]
    age["never checked" if not cd else ("<=3 months" if (d - dt.date.fromisoformat(cd)).days <= 92 else
                                        "4-9 months" if (d - dt.date.fromisoformat(cd)).days <= 275 else ">9 months")] += 1
print("age of the last check (scored):", dict(age))
c = list(csv.DictReader(open(os.path.join(truth, "candidates.csv"), encoding="utf-8")))
print("单人保 truth: label counts", dict(Counter(r["label"] for r in c)))
df = list(csv.DictReader(open(os.path.join(truth, "defects.csv"), encoding="utf-8")))
print("defects by expected:", dict(Counter(r["expected"] for r in df)))
