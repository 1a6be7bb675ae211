"""The hidden ground truth, written as Parquet under `--truth` (never under landing).

household_months.parquet — one row per household and simulated month, for every
household that is in at least one delivered 民政 snapshot:

| column | type | meaning |
|---|---|---|
| household_id | str | 家庭编号 |
| extract_date | date | month end |
| delivered | bool | false for the 3 look-ahead months after the last delivery |
| county_code / township_code / village_code | str | 6 / 9 / 12 digits |
| urban_rural | str | 城市 / 农村 |
| members | int16 | living members (truth, not 家庭人口数) |
| income_per_capita | float64 | true monthly income per member, 低保 definition (no assistance) ; null when no one is alive |
| standard | float64 | 低保 standard in force that month for the household's 城乡属性 |
| below_line | bool | income_per_capita < standard |
| below_line_next3 | bool | below the line in at least one of the 3 following months (null when beyond the simulation) |
| in_snapshot | bool | the households row is in that month's delivered file (false when 退出 for over 12 months, not yet monitored, or left out as member_household_missing) |
| category / status | str | 保障类别 / 保障状态 as delivered (clean value), null when not in the snapshot |
| events | list[str] | what happened that month (codes.EVENTS: job_loss, severe_illness, income_check, entered_dibao, ...) |

persons.parquet — everyone simulated: person_id (18-char 身份证号), name, sex,
birth_date, village_code, county_code (of residence; null outside 聊城),
local_id (region 3715/3725), kind (household / cl_only / rs_only), household_id
(the household they belong to at the end, null if none), planted (单人保 variant
or null), died (date or null).

dbrb_candidates.parquet — the 单人保 rule (dbrb.py): for each delivered month end
(as_of) every person for whom it holds (holds = true), from the data a correct
pipeline loads; plus the planted near-misses at the last month (holds = false,
why_not = age_17 / grade_3 / cert_cancelled / open_employment /
recent_contribution / in_active_household). Columns: as_of, person_id, name,
county_code, township_code, holds, planted, variant, why_not.

defects.parquet — every injected defect (cell_defects.py lists the kinds): source,
extract_date, file_name (with extension), line_number (header = 1; null for a
file-level form), column_name (Chinese header; null for row-level), kind,
raw_value (as written; "" for an empty cell), repairable, expected_value (the
repaired value when repairable), effect (repaired / quarantined / conflict /
format), person_id and household_id of the row (null when none), note.
Replays are byte copies: their defects are not listed again.

deliveries.parquet — every delivery folder: source, extract_date, folder, kind
(normal, replay, correction, incomplete, count_mismatch), format (csv/xlsx),
encoding (utf-8, utf-8-sig, gb18030; null for xlsx), line_ending (LF/CRLF),
quote_all, has_counts, replay_of (date or null), loadable (a correct pipeline
loads it).

files.parquet — every data file: source, extract_date, file_name, data_rows (as
written, duplicates included), ready_count (the `_READY` count or null),
columns (headers as written), extra_columns, reordered, trailing_blank_lines,
header_only, sha256.

corrections.parquet — written by `correct_delivery`: source, extract_date,
file_name, line_number, column_name, old_value, new_value.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.sources.contract import CATEGORIES, LOCAL_ID_PREFIXES
from pipelines.generate.codes import ACTIVE, EVENTS, EXITED, STATUS, URBAN_RURAL
from pipelines.generate.planted import PLANTED
from pipelines.generate.population import Population
from pipelines.generate.simulate import History
from pipelines.generate.timeline import Timeline

FILES = ("household_months", "persons", "dbrb_candidates", "defects", "deliveries", "files",
         "corrections", "summary")

DEFECT_SCHEMA = {
    "source": pl.String, "extract_date": pl.Date, "file_name": pl.String, "line_number": pl.Int64,
    "column_name": pl.String, "kind": pl.String, "raw_value": pl.String, "repairable": pl.Boolean,
    "expected_value": pl.String, "effect": pl.String, "person_id": pl.String,
    "household_id": pl.String, "note": pl.String,
}
DELIVERY_SCHEMA = {
    "source": pl.String, "extract_date": pl.Date, "folder": pl.String, "kind": pl.String,
    "format": pl.String, "encoding": pl.String, "line_ending": pl.String, "quote_all": pl.Boolean,
    "has_counts": pl.Boolean, "replay_of": pl.Date, "loadable": pl.Boolean,
}
FILE_SCHEMA = {
    "source": pl.String, "extract_date": pl.Date, "file_name": pl.String, "data_rows": pl.Int64,
    "ready_count": pl.Int64, "columns": pl.List(pl.String), "extra_columns": pl.List(pl.String),
    "reordered": pl.Boolean, "trailing_blank_lines": pl.Int64, "header_only": pl.Boolean,
    "sha256": pl.String,
}
CORRECTION_SCHEMA = {
    "source": pl.String, "extract_date": pl.Date, "file_name": pl.String, "line_number": pl.Int64,
    "column_name": pl.String, "old_value": pl.String, "new_value": pl.String,
}


def frame(rows: list[dict], schema: dict) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def household_months(pop: Population, hist: History, tl: Timeline,
                     left_out: dict[int, np.ndarray]) -> pl.DataFrame:
    h = pop.households
    total = tl.total
    in_snap = (hist.status == ACTIVE) | (hist.status == EXITED)
    ever = in_snap[:tl.months].any(axis=0)  # in at least one delivered snapshot
    for t, gone in left_out.items():
        in_snap[t, gone] = False
    idx = np.flatnonzero(ever)
    k = len(idx)
    below = (hist.income < hist.standard) & ~np.isnan(hist.income)
    ahead = np.zeros_like(below)
    for t in range(total):
        ahead[t] = below[t + 1:t + 4].any(axis=0)
    known = np.arange(total) + 3 < total
    village = pl.Series(pop.places.code.tolist())[h.village[idx].astype(np.int64)]
    households = pl.DataFrame({
        "household_id": pl.Series(pop.household_ids[idx].tolist(), dtype=pl.String),
        "county_code": village.str.slice(0, 6),
        "township_code": village.str.slice(0, 9),
        "village_code": village,
        "urban_rural": pl.Series(np.where(h.urban[idx], URBAN_RURAL[0], URBAN_RURAL[1])),
    })
    months = pl.DataFrame({
        "extract_date": pl.Series([tl.end(t) for t in range(total)], dtype=pl.Date),
        "delivered": pl.Series(np.arange(total) < tl.months),
        "_known": pl.Series(known),
    })

    def per_month(a: np.ndarray) -> np.ndarray:  # month-major: all households of month 0, ...
        return a[:, idx].reshape(-1)

    snap = per_month(in_snap)
    income = per_month(hist.income).astype(np.float64)
    rows = households[np.tile(np.arange(k), total)].hstack(months[np.repeat(np.arange(total), k)])
    cat_names = dict(enumerate(CATEGORIES))
    status_names = dict(enumerate(STATUS))
    events = per_month(hist.events)
    # few distinct combinations of event bits: name each once, then join
    masks = np.unique(events)
    names = pl.DataFrame({
        "_events": pl.Series(masks),
        "events": pl.Series([[n for i, n in enumerate(EVENTS) if m & (1 << i)] for m in masks.tolist()],
                            dtype=pl.List(pl.String)),
    })
    rows = rows.with_columns(_events=pl.Series(events))
    return rows.with_columns(
        members=pl.Series(per_month(hist.members)),
        income_per_capita=pl.Series(np.round(income, 2)).fill_nan(None),
        standard=pl.Series(per_month(hist.standard).astype(np.float64)),
        below_line=pl.Series(per_month(below)),
        below_line_next3=pl.Series(per_month(ahead)),
        in_snapshot=pl.Series(snap),
        category=pl.Series(np.where(snap, per_month(hist.category), -1).astype(np.int64)).replace_strict(
            cat_names, default=None, return_dtype=pl.String),
        status=pl.Series(np.where(snap, per_month(hist.status), -1).astype(np.int64)).replace_strict(
            status_names, default=None, return_dtype=pl.String),
    ).with_columns(
        below_line_next3=pl.when(pl.col("_known")).then(pl.col("below_line_next3")),
    ).join(names, on="_events", how="left", maintain_order="left").drop("_known", "_events")


def persons(pop: Population, person_id: pl.Series, person_name: pl.Series) -> pl.DataFrame:
    p = pop.persons
    village = pl.Series(pop.places.code.tolist())[p.village.astype(np.int64)]
    local_res = pop.places.county[p.village] >= 0
    kinds = np.array(["household", "cl_only", "rs_only"], dtype=object)
    hid = np.where(p.hh >= 0, pop.household_ids[np.maximum(p.hh, 0)], None)
    planted = [PLANTED[v][0] if v >= 0 else None for v in p.planted.tolist()]
    died = pl.Series(np.where(p.alive, -1, p.death_day)).cast(pl.Date)
    return pl.DataFrame({
        "person_id": person_id,
        "name": person_name,
        "sex": pl.Series(np.where(p.female, "女", "男")),
        "birth_date": pl.Series(p.birth).cast(pl.Date),
        "village_code": village,
        "county_code": pl.select(pl.when(pl.Series(local_res)).then(village.str.slice(0, 6))).to_series(),
        "local_id": person_id.str.slice(0, 4).is_in(list(LOCAL_ID_PREFIXES)),
        "kind": pl.Series(kinds[p.kind].tolist(), dtype=pl.String),
        "household_id": pl.Series(hid.tolist(), dtype=pl.String),
        "planted": pl.Series(planted, dtype=pl.String),
        "died": pl.select(pl.when(pl.Series(~p.alive)).then(died)).to_series(),
    })


def write(truth: Path, frames: dict[str, pl.DataFrame], summary: dict) -> None:
    truth.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        (truth / f"{name}.parquet").unlink(missing_ok=True)
    (truth / "summary.json").unlink(missing_ok=True)
    for name, df in frames.items():
        df.write_parquet(truth / f"{name}.parquet")
    (truth / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str) + "\n",
                                        encoding="utf-8")
