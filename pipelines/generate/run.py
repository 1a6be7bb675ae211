"""`generate`: population → simulation → deliveries with defects → ground truth."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl

from pipelines.sources.contract import FILES, spec
from pipelines.generate import (cell_defects, conflicts, dbrb, defects, deliver, population, regions, simulate,
                                 tables, world_truth)
from pipelines.generate import truth as truth_files
from pipelines.generate.dynamics import Dynamics, to_json
from pipelines.generate.codes import TYPES
from pipelines.generate.scales import SCALES
from pipelines.generate.standards import EARLIEST
from pipelines.generate.streams import stream
from pipelines.generate.numpy_table import Table
from pipelines.generate.timeline import Timeline, is_month_end

Progress = Callable[[str, int, int], None]
MAX_MONTHS = 120


def validate(landing: Path, truth: Path, scale: str, months: int, seed: int, start: date,
             dynamics: Dynamics | None = None) -> None:
    """Raise ValueError with a one-line message for any bad argument."""
    if dynamics is not None and not isinstance(dynamics, Dynamics):
        raise ValueError(f"dynamics must be a Dynamics, got {type(dynamics).__name__}")
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}")
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be an integer from 1 to {MAX_MONTHS}, got {months!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(start, date) or not is_month_end(start):
        raise ValueError(f"start must be a month end such as 2024-01-31, got {start!r}")
    if start < EARLIEST:
        raise ValueError(f"start must be on or after {EARLIEST} (the earliest 低保 standard known)")
    land, tru = landing.resolve(), truth.resolve()
    if land == tru or land in tru.parents:
        raise ValueError(f"truth folder {truth} must not be inside the landing folder {landing}")
    if tru in land.parents:
        raise ValueError(f"landing folder {landing} must not be inside the truth folder {truth}")
    for p in (landing, truth):
        if p.exists() and not p.is_dir():
            raise ValueError(f"{p} exists and is not a folder")
    deliver.check_landing(landing)


class _Steps:
    def __init__(self, callback: Progress | None, total: int):
        self.callback = callback
        self.total = total
        self.done = 0

    def __call__(self, label: str) -> None:
        self.done += 1
        if self.callback:
            self.callback(label, min(self.done, self.total), self.total)


def generate(landing: Path, truth: Path, scale: str = "town", months: int = 12, seed: int = 0,
             start: date = date(2024, 1, 31), progress: Progress | None = None,
             dynamics: Dynamics | None = None, preset: str = "default", regions_file: Path | None = None) -> dict:
    """Write `months` monthly deliveries per source under `landing` and the ground
    truth under `truth`; returns a summary (rows per file, defects by kind, seconds).
    `dynamics` are the city's habits (dynamics.py; `preset` only names them in
    truth/dynamics.json). The world's townships and villages are merged into the region
    file (`regions_file`, default parameters/regions/regions.csv). Raises ValueError with a
    one-line message for a bad argument."""
    landing, truth = Path(landing), Path(truth)
    validate(landing, truth, scale, months, seed, start, dynamics)
    dynamics = dynamics or Dynamics()
    began = time.perf_counter()
    tl = Timeline(start, months)
    deliveries, replays = deliver.plan(stream(seed, "deliveries"), tl)
    steps = _Steps(progress, 2 + tl.total + len(deliveries) + len(replays))
    if progress:
        progress("start", 0, steps.total)

    pop = population.build(seed, SCALES[scale], tl, dynamics)
    region_file = regions.write(pop.places.code, regions_file or regions.REGIONS_FILE)
    steps("population")
    hist = simulate.run(pop, tl, stream(seed, "simulate"), lambda t: steps(f"simulate {tl.end(t):%Y-%m}"),
                        dynamics, stream(seed, "checks"))
    _delay_header_only(hist, deliveries)

    renderer = tables.Renderer(pop, tl)
    unknown = _never_seen(pop, hist)
    rows = _expected_rows(hist, tl)
    deliver.fit_rows(deliveries, rows)
    plan = defects.plan(stream(seed, "defects"), list(FILES), rows)
    deliver.clear(landing)
    out = _Output(landing, pop, hist, tl, renderer, unknown, plan, stream(seed, "render"))
    for d in sorted(deliveries, key=lambda d: (d.extract_date, d.source)):
        out.write(d)
        steps(f"write {d.folder}")
    for r in replays:
        deliver.replay(landing, r)
        steps(f"replay {r.folder}")

    frames = {
        "household_months": truth_files.household_months(pop, hist, tl, out.left_out),
        "persons": truth_files.persons(pop, renderer.person_id, renderer.person_name),
        "dbrb_candidates": dbrb.evaluate(out.loaded, pop, tl, renderer.person_id,
                                         renderer.person_name, renderer.village_code),
        "defects": truth_files.frame(out.defects, truth_files.DEFECT_SCHEMA),
        "deliveries": truth_files.frame(out.delivery_rows(deliveries, replays), truth_files.DELIVERY_SCHEMA),
        "files": truth_files.frame(out.files, truth_files.FILE_SCHEMA),
        "corrections": truth_files.frame([], truth_files.CORRECTION_SCHEMA),
    }
    summary = _summary(scale, months, seed, start, pop, frames)
    truth_files.write(truth, frames, summary)
    (truth / "dynamics.json").write_text(to_json(dynamics, preset), encoding="utf-8")
    world_truth.write(truth, pop, hist, tl, frames)
    steps("truth")
    return summary | {"landing": str(landing), "truth": str(truth), "regions": str(region_file),
                      "seconds": round(time.perf_counter() - began, 2)}


def _delay_header_only(hist: simulate.History, deliveries: list[deliver.Delivery]) -> None:
    """The batch of a header-only contributions file comes with the next delivery
    (or the one before, for items already two deliveries late)."""
    c = hist.contribs
    for d in deliveries:
        if d.source == "rs" and d.files["contributions"].header_only:
            k = d.month
            batch = c.deliver == k
            c.deliver[batch & (c.month <= k - 2)] = k - 1
            c.deliver[batch & (c.month > k - 2)] = k + 1


def _never_seen(pop: population.Population, hist: simulate.History) -> np.ndarray:
    """People in no 民政 member row and no 残联 certificate of any delivery."""
    seen = np.zeros(len(pop.persons), bool)
    for s in hist.snapshots:
        seen[s.m_person] = True
        seen[pop.certs.person[s.c_cert]] = True
    return ~seen


def _expected_rows(hist: simulate.History, tl: Timeline) -> dict[str, list[int]]:
    regs = np.bincount(hist.regs.deliver, minlength=tl.total)
    contribs = np.bincount(hist.contribs.deliver, minlength=tl.total)
    return {
        "mz_households": [len(s.households) for s in hist.snapshots],
        "mz_members": [len(s.m_person) for s in hist.snapshots],
        "cl_disability": [len(s.c_cert) for s in hist.snapshots],
        "rs_registrations": [int(x) for x in regs[:tl.months]],
        "rs_contributions": [int(x) for x in contribs[:tl.months]],
    }


class _Output:
    """Renders, damages and writes deliveries, keeping the records the truth needs."""

    def __init__(self, landing: Path, pop: population.Population, hist: simulate.History, tl: Timeline,
                 renderer: tables.Renderer, unknown: np.ndarray, plan: dict, rng: np.random.Generator):
        self.landing = landing
        self.pop = pop
        self.hist = hist
        self.tl = tl
        self.r = renderer
        self.unknown = unknown
        self.plan = plan
        self.rng = rng
        self.carry: Counter = Counter()
        self.defects: list[dict] = []
        self.files: list[dict] = []
        self.loaded: list[dbrb.Loaded] = []
        self.left_out: dict[int, np.ndarray] = {}

    def _frames(self, d: deliver.Delivery) -> dict[str, defects.Injector]:
        k, snap, r = d.month, None, self.r
        if d.source in ("mz", "cl"):
            snap = self.hist.snapshots[k]
        if d.source == "mz":
            hh = defects.Injector(r.households(snap, d.zero_benefit_empty), self.rng)
            mem = defects.Injector(r.members(snap, k), self.rng)
            wanted = {slot.kind: n for key in ("mz_households", "mz_members")
                      for slot, n in self.plan.get((key, k), []) if slot.kind in defects.CONFLICT_RATES}
            self.left_out[k] = conflicts.mz(hh, mem, wanted, self.rng)
            return {"households": hh, "members": mem}
        if d.source == "cl":
            inj = defects.Injector(r.disability(snap), self.rng)
            _cert_conflicts(inj)
            return {"disability": inj}
        regs = _subset(self.hist.regs, self.hist.regs.deliver == k)
        contribs = _subset(self.hist.contribs, self.hist.contribs.deliver == k)
        reg = defects.Injector(r.registrations(regs, self.unknown), self.rng)
        unknown = reg.df.filter(pl.col("_protect"))
        reg.conflict(unknown["_rid"].to_numpy(), "身份证号", "rs_unknown_id", unknown["身份证号"].to_list(),
                     ["no 民政 member or 残联 certificate has this 身份证号"] * unknown.height)
        return {"registrations": reg, "contributions": defects.Injector(r.contributions(contribs), self.rng)}

    def write(self, d: deliver.Delivery) -> None:
        k = d.month
        injectors = self._frames(d)
        contents: dict[str, tuple[bytes, int]] = {}
        clean: dict[str, pl.DataFrame] = {}
        for name, inj in injectors.items():
            key = spec(d.source, name).key
            fp = d.files[name]
            clean[name] = inj.df
            for slot, n in self.plan.get((key, k), []):
                if slot.kind in cell_defects.CELL:
                    c = (key, slot.column, slot.kind)
                    self.carry[c] = inj.cells(slot.column, cell_defects.CELL[slot.kind], n + self.carry[c])
            for slot, n in self.plan.get((key, k), []):
                if slot.kind == "duplicate_row":
                    c = (key, None, "duplicate_row")
                    self.carry[c] = inj.duplicate(n + self.carry[c])
            inj.df = deliver.add_extra_columns(inj.df, fp, d, self.rng)
            rows, records = inj.final()
            count = rows.height
            if d.kind == "count_mismatch":
                fp.truncate = max(1, count // 200)
            written = count - fp.truncate
            file_name = fp.file_name(d.format)
            data = deliver.file_bytes(rows[:written].select(fp.columns), d, fp)
            contents[file_name] = (data, count)
            self._keep_defects(d, file_name, records, clean[name], written)
            self._keep_forms(d, file_name, fp, written)
            self.files.append(dict(
                source=d.source, extract_date=d.extract_date, file_name=file_name, data_rows=written,
                ready_count=count if d.has_counts and d.kind != "incomplete" else None,
                columns=list(fp.columns), extra_columns=list(fp.extra_columns), reordered=fp.reordered,
                trailing_blank_lines=fp.trailing_blank_lines if d.format == "csv" else 0,
                header_only=written == 0, sha256=hashlib.sha256(data).hexdigest()))
        deliver.write(self.landing, d, contents)
        if d.loadable:
            self._keep_loaded(d, injectors, clean)

    def _keep_defects(self, d, file_name: str, records: list[dict], clean: pl.DataFrame, written: int) -> None:
        if not records:
            return
        who = clean.select("_rid", "_person", "_household")
        recs = pl.DataFrame(records, schema=defects.RECORD_SCHEMA).join(
            who, left_on="rid", right_on="_rid", how="left")
        recs = recs.filter(pl.col("line_number") <= written + 1)
        pid = self.r.person_id
        hid = self.r.household_id
        person = recs["_person"].to_numpy()
        household = recs["_household"].to_numpy()
        recs = recs.with_columns(
            person_id=pl.select(pl.when(pl.Series(person >= 0)).then(pid[np.maximum(person, 0)])).to_series(),
            household_id=pl.select(pl.when(pl.Series(household >= 0))
                                   .then(hid[np.maximum(household, 0)])).to_series(),
            source=pl.lit(d.source), extract_date=pl.lit(d.extract_date), file_name=pl.lit(file_name),
        )
        self.defects.extend(recs.select(list(truth_files.DEFECT_SCHEMA)).to_dicts())

    def _keep_forms(self, d: deliver.Delivery, file_name: str, fp: deliver.FilePlan, written: int) -> None:
        """File-level forms a reader must cope with (nothing is quarantined for them)."""
        def form(kind: str, line: int | None = None, column: str | None = None, note: str | None = None) -> None:
            self.defects.append(dict(
                source=d.source, extract_date=d.extract_date, file_name=file_name, line_number=line,
                column_name=column, kind=kind, raw_value=None, repairable=False, expected_value=None,
                effect=defects.FORMAT, person_id=None, household_id=None, note=note))

        for column in fp.extra_columns:
            form("extra_column", column=column)
        if fp.reordered:
            form("column_order", note=",".join(c for c in fp.columns if c not in fp.extra_columns))
        if d.format == "csv":
            for i in range(fp.trailing_blank_lines):
                form("trailing_blank_line", line=written + 2 + i)
        if written == 0:
            form("header_only")

    def _keep_loaded(self, d, injectors: dict[str, defects.Injector], clean: dict[str, pl.DataFrame]) -> None:
        def ok(name: str) -> pl.DataFrame:
            bad = pl.Series(sorted(injectors[name].bad_rids), dtype=pl.Int64)
            return clean[name].filter(~pl.col("_rid").is_in(bad.implode()))

        if d.source == "mz":
            self.loaded.append(dbrb.loaded_mz(d.month, ok("households"), ok("members")))
        elif d.source == "cl":
            self.loaded.append(dbrb.loaded_cl(d.month, ok("disability")))
        else:
            self.loaded.append(dbrb.loaded_rs(d.month, ok("registrations"), ok("contributions")))

    def delivery_rows(self, deliveries: list[deliver.Delivery], replays: list[deliver.Replay]) -> list[dict]:
        rows = []
        by = {(d.source, d.month): d for d in deliveries}
        for d in deliveries:
            rows.append(dict(source=d.source, extract_date=d.extract_date, folder=d.folder, kind=d.kind,
                             format=d.format, encoding=d.encoding,
                             line_ending="CRLF" if d.line_ending == "\r\n" else "LF",
                             quote_all=d.quote_all, has_counts=d.has_counts and d.kind != "incomplete",
                             replay_of=None, loadable=d.loadable))
        for r in replays:
            o = by[(r.source, r.month)]
            rows.append(dict(source=r.source, extract_date=r.extract_date, folder=r.folder, kind="replay",
                             format=o.format, encoding=o.encoding,
                             line_ending="CRLF" if o.line_ending == "\r\n" else "LF",
                             quote_all=o.quote_all, has_counts=o.has_counts, replay_of=r.of_date,
                             loadable=False))
        return sorted(rows, key=lambda x: (x["extract_date"], x["source"]))


def _subset(t: Table, mask: np.ndarray) -> Table:
    return Table(**{n: getattr(t, n)[mask] for n in t.names})


def _cert_conflicts(inj: defects.Injector) -> None:
    """Record the certificates whose number disagrees with 残疾类别/残疾等级."""
    df = inj.df.filter(pl.col("_protect"))
    notes = []
    for number, kind, grade in df.select("残疾人证号", "残疾类别", "残疾等级").iter_rows():
        shown_kind = TYPES[int(number[18]) - 1]
        notes.append(f"digits 19-20 say {shown_kind}/{int(number[19])}级; columns say {kind}/{grade}")
    inj.conflict(df["_rid"].to_numpy(), "残疾人证号", "cert_digits_mismatch", df["残疾人证号"].to_list(), notes)


def _summary(scale, months, seed, start, pop, frames) -> dict:
    files = frames["files"]
    rows = files.group_by("source", "file_name").agg(pl.col("data_rows").sum()).sort("source", "file_name")
    per_file: dict[str, dict[str, int]] = {}
    for source, name, n in rows.iter_rows():
        stem = name.rsplit(".", 1)[0]
        per_file.setdefault(source, {})
        per_file[source][stem] = per_file[source].get(stem, 0) + n
    kinds = frames["defects"].group_by("kind").len().sort("kind")
    deliveries = frames["deliveries"].group_by("kind").len().sort("kind")
    hm = frames["household_months"]
    first = hm.filter(pl.col("extract_date") == hm["extract_date"].min(), pl.col("status") == "在册")
    return {
        "scale": scale, "months": months, "seed": seed, "start": start.isoformat(),
        "persons": len(pop.persons), "households": len(pop.households), "certificates": len(pop.certs),
        "first_month": {cat: {"households": int(n), "persons": int(m)} for cat, n, m in
                        first.group_by("category").agg(pl.len(), pl.col("members").sum())
                        .sort("category").iter_rows()},
        "rows": per_file,
        "deliveries": dict(deliveries.iter_rows()),
        "defects": dict(kinds.iter_rows()),
        "dbrb_candidates_last_month": int(frames["dbrb_candidates"].filter(
            pl.col("holds"), pl.col("as_of") == frames["dbrb_candidates"]["as_of"].max()).height),
    }
