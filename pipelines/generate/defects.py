"""Every deviation of sources.md's "What real deliveries get wrong", injected on purpose:
plan() spreads each kind over the deliveries, Injector puts them into one frame
and records where they went. The kinds and counts are in docs/generator.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.sources.contract import FileSpec
from pipelines.generate.cell_defects import CELL_KINDS, Kind

REPAIRED, QUARANTINED, CONFLICT, FORMAT = "repaired", "quarantined", "conflict", "format"
RECORD_SCHEMA = {
    "rid": pl.Int64, "column_name": pl.String, "kind": pl.String, "raw_value": pl.String,
    "repairable": pl.Boolean, "expected_value": pl.String, "effect": pl.String, "note": pl.String,
    "line_number": pl.Int64,
}

# Planned row-level and cross-source kinds: (rate per row, file key)
DUPLICATE_RATE = 5e-4
CONFLICT_RATES = {
    "member_in_two_households": (1e-4, "mz_members"),
    "household_size_mismatch": (2e-4, "mz_households"),
    "member_household_missing": (1e-4, "mz_households"),
}
MINIMUM = 4


# ------------------------------------------------------------ planning

@dataclass(frozen=True)
class Slot:
    file: str  # FileSpec.key
    column: str | None  # header; None for row-level kinds
    kind: str


def plan(rng: np.random.Generator, files: list[FileSpec],
         rows: dict[str, list[int]]) -> dict[tuple[str, int], list[tuple[Slot, int]]]:
    """How many defects of each slot go into each delivery.

    `rows[file key]` lists the (expected) data rows of that file in each of its
    deliveries, in delivery order. Returns {(file key, delivery number): [(slot, n)]}.
    """
    slots: dict[str, list[Slot]] = {}
    for f in files:
        for c in f.columns:
            for k in CELL_KINDS:
                if k.applies(f, c):
                    slots.setdefault(k.name, []).append(Slot(f.key, c.header, k.name))
        slots.setdefault("duplicate_row", []).append(Slot(f.key, None, "duplicate_row"))
    for name, (_, key) in CONFLICT_RATES.items():
        slots[name] = [Slot(key, None, name)]
    rate = {k.name: k.rate for k in CELL_KINDS} | {"duplicate_row": DUPLICATE_RATE} | {
        name: r for name, (r, _) in CONFLICT_RATES.items()}

    out: dict[tuple[str, int], list[tuple[Slot, int]]] = {}
    for name in sorted(slots):
        kind_slots = slots[name]
        totals = np.array([sum(rows.get(s.file, [])) for s in kind_slots], np.float64)
        if totals.sum() == 0:
            continue
        quota = max(MINIMUM, len(kind_slots), round(rate[name] * totals.sum()))
        per_slot = np.zeros(len(kind_slots), np.int64)
        live = np.flatnonzero(totals > 0)
        if quota >= len(live):
            per_slot[live] = 1
            quota -= len(live)
        per_slot += rng.multinomial(quota, totals / totals.sum())
        for slot, n in zip(kind_slots, per_slot):
            r = np.array(rows[slot.file], np.float64)
            if n == 0 or r.sum() == 0:
                continue
            for d, k in enumerate(rng.multinomial(int(n), r / r.sum())):
                if k:
                    out.setdefault((slot.file, d), []).append((slot, int(k)))
    return out


# ------------------------------------------------------------ injection

class Injector:
    """Applies defects to one clean frame and remembers where they went.

    Rows are identified by `_rid` (stable across sorting and insertion); line
    numbers are assigned once the final row order is known.
    """

    def __init__(self, df: pl.DataFrame, rng: np.random.Generator):
        self.df = df.with_columns(_rid=pl.int_range(df.height, dtype=pl.Int64))
        self.rng = rng
        self.records: list[dict] = []
        self.bad_rids: set[int] = set()  # rows a pipeline must quarantine
        self._dirty: dict[str, set[int]] = {}
        self.duplicates: list[tuple[int, bool]] = []  # (rid, placed right after the original)

    # cells ------------------------------------------------------------

    def cells(self, header: str, kind: Kind, n: int) -> int:
        """Put n defects of a kind in a column; returns how many did not fit."""
        df = self.df
        mask = df.select(kind.eligible(header).fill_null(False)).to_series().to_numpy()
        mask &= ~df["_protect"].to_numpy()
        if not kind.repairable:
            mask &= ~df["_planted"].to_numpy()
        rid = df["_rid"].to_numpy()
        dirty = self._dirty.setdefault(header, set())
        if dirty:
            mask &= ~np.isin(rid, np.fromiter(dirty, np.int64))
        candidates = np.flatnonzero(mask)
        take = min(n, len(candidates))
        if take == 0:
            return n
        chosen = np.sort(self.rng.choice(candidates, size=take, replace=False))
        clean = df[header].gather(chosen).to_list()
        raw = [kind.make(v, self.rng, header) for v in clean]
        s = df[header].clone()
        s.scatter(chosen, raw)
        self.df = df.with_columns(s)
        for i, c, r in zip(rid[chosen], clean, raw):
            self._record(int(i), header, kind.name, r, kind.repairable, c if kind.repairable else None,
                         REPAIRED if kind.repairable else QUARANTINED)
            dirty.add(int(i))
            if not kind.repairable:
                self.bad_rids.add(int(i))
        return n - take

    def duplicate(self, n: int) -> int:
        df = self.df
        dirty = set().union(*self._dirty.values()) if self._dirty else set()
        rid = df["_rid"].to_numpy()
        ok = ~df["_protect"].to_numpy() & ~df["_planted"].to_numpy() & ~np.isin(
            rid, np.fromiter(dirty, np.int64) if dirty else np.zeros(0, np.int64))
        candidates = np.flatnonzero(ok)
        take = min(n, len(candidates))
        for i in self.rng.choice(candidates, size=take, replace=False):
            self.duplicates.append((int(rid[i]), bool(self.rng.random() < 0.5)))
        return n - take

    def _record(self, rid: int, column: str | None, kind: str, raw: str | None, repairable: bool,
                expected: str | None, effect: str, note: str | None = None) -> None:
        self.records.append(dict(rid=rid, column_name=column, kind=kind, raw_value=raw,
                                 repairable=repairable, expected_value=expected, effect=effect,
                                 note=note))

    def conflict(self, rids: np.ndarray, column: str, kind: str, raws: list[str],
                 notes: list[str | None]) -> None:
        for rid, raw, note in zip(rids, raws, notes):
            self._record(int(rid), column, kind, raw, False, None, CONFLICT, note)

    # layout -----------------------------------------------------------

    def final(self) -> tuple[pl.DataFrame, list[dict]]:
        """The rows in file order (duplicates inserted) and the records with
        line numbers (header = line 1)."""
        df = self.df
        rid = df["_rid"].to_numpy()
        pos_of = {int(r): i for i, r in enumerate(rid)}
        keys = [(2 * i, i) for i in range(df.height)]
        dup_records = []
        for j, (r, after) in enumerate(self.duplicates):
            i = pos_of[r]
            key = 2 * i + 1 if after else 2 * df.height + j
            keys.append((key, i))
            dup_records.append(key)
        keys.sort()
        order = np.array([i for _, i in keys], np.int64)
        line_of_key = {k: n + 2 for n, (k, _) in enumerate(keys)}
        out = df[order]
        records = []
        for rec in self.records:
            records.append({**rec, "line_number": line_of_key[2 * pos_of[rec["rid"]]]})
        for key, (r, _) in zip(dup_records, self.duplicates):
            records.append(dict(rid=r, column_name=None, kind="duplicate_row", raw_value=None,
                                repairable=False, expected_value=None, effect=QUARANTINED, note=None,
                                line_number=line_of_key[key]))
        return out, records
