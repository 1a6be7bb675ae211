"""What-if 低保 standards: who would newly fall under the line, and what it costs.

`whatif(warehouse, {"城市": 960, "农村": 780})` answers it per county and in total, from
the latest mz snapshot (or `as_of`), with warehouse/queries/publish/whatif.sql. Who is
counted, the lines, the costs and the split (issue 19): docs/outputs.md, section 4.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import polars as pl
import yaml

from pipelines.catalog import table_exists
from pipelines.sources.contract import COUNTIES
from pipelines.sql import query
from pipelines.warehouse import warehouse as open_warehouse

AREAS = ("城市", "农村")
ALIASES = {"城镇": "城市"}  # the one spelling the source contract repairs

COLUMNS = {  # output column -> Chinese header, in order
    "county_code": "县级区划代码",
    "county_name": "县区",
    "households_assessed": "在册户数（有核对收入）",
    "households_unassessed": "在册户数（未核对收入）",
    "persons_assessed": "人数（有核对收入）",
    "households_below_today": "现标准下低于标准户数",
    "persons_below_today": "现标准下低于标准人数",
    "households_below_proposed": "新标准下低于标准户数",
    "persons_below_proposed": "新标准下低于标准人数",
    "households_newly_below": "新增低于标准户数",
    "persons_newly_below": "新增低于标准人数",
    "monthly_cost_today": "现标准月补差（元）",
    "monthly_cost_proposed": "新标准月补差（元）",
    "monthly_cost_change": "月补差增加（元）",
    "annual_cost_change": "年补差增加（元）",
    "dibao_households_benefit_rises": "在保低保户·补差提高户数",
    "dibao_persons_benefit_rises": "在保低保户·补差提高人数",
    "monthly_cost_benefit_rises": "在保低保户·月补差增加（元）",
    "annual_cost_benefit_rises": "在保低保户·年补差增加（元）",
    "households_newly_eligible": "新纳入·户数",
    "persons_newly_eligible": "新纳入·人数",
    "monthly_cost_newly_eligible": "新纳入·月补差（元）",
    "annual_cost_newly_eligible": "新纳入·年补差（元）",
}
MONTHS_PER_YEAR = 12  # an annual cost is 12 months at the snapshot's incomes
TOTAL = "合计"


class StandardsError(ValueError):
    """Standards given in a form that cannot be read; the message is one line."""


def parse_standards(items: Iterable[str]) -> dict[str, float]:
    """`["城市=960", "农村=780"]` -> {"城市": 960.0, "农村": 780.0}."""
    standards: dict[str, float] = {}
    for item in items:
        area, sep, value = str(item).partition("=")
        area = ALIASES.get(area.strip(), area.strip())
        if not sep or area not in AREAS:
            raise StandardsError(f"expected 城市=AMOUNT or 农村=AMOUNT (元/人·月), got {item!r}")
        if area in standards:
            raise StandardsError(f"{area} given twice")
        standards[area] = _amount(value.strip().removesuffix("元").strip(), item)
    if not standards:
        raise StandardsError("give at least one standard, e.g. 城市=960")
    _plausible(standards)
    return standards


def _plausible(standards: dict[str, float]) -> None:
    """The parameter file's own rule: a value outside its `range` (96000 for 960) is a typo."""
    from pipelines.core.parameters import ParameterError, plausible_range

    try:
        low, high = plausible_range("dibao_standard")
    except ParameterError as exc:
        raise StandardsError(str(exc)) from None
    for area, amount in standards.items():
        if not low <= amount <= high:
            raise StandardsError(f"'{area}={amount:g}' is outside the range a 低保 standard can plausibly take"
                                 f" ({low}..{high} 元/人·月, `range` in parameters/dibao_standard.yaml): a typo?")


def _amount(text: str, given) -> float:
    try:
        amount = float(text)
    except ValueError:
        raise StandardsError(f"not an amount in yuan: {given!r}") from None
    if not math.isfinite(amount) or amount <= 0:
        raise StandardsError(f"a standard must be a positive amount in yuan: {given!r}")
    return amount


def read_standards(path: Path) -> dict[str, float]:
    """Proposed standards from a YAML file.

    Either a plain mapping (`城市: 960` / `农村: 780`), or a parameter file in the
    format of parameters/dibao_standard.yaml, whose latest-dated value of each
    城乡属性 is taken (copy that file and add the proposed date and values).
    """
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise StandardsError(f"cannot read standards file {path}: {str(exc).splitlines()[0]}") from None
    if isinstance(doc, dict) and "values" in doc:
        from pipelines.core.parameters import ParameterError, read_parameter

        try:
            values = read_parameter(path)
        except ParameterError as exc:
            raise StandardsError(str(exc)) from None
        latest = {v.urban_rural: float(v.amount) for v in values if v.valid_to is None and v.urban_rural}
        if not latest:
            raise StandardsError(f"{path.name}: no 城市/农村 values")
        return parse_standards(f"{area}={amount}" for area, amount in latest.items())
    if isinstance(doc, dict) and doc:
        return parse_standards(f"{area}={amount}" for area, amount in doc.items())
    raise StandardsError(f"{path.name}: expected 城市: AMOUNT and/or 农村: AMOUNT")


def whatif(warehouse: Path, standards: dict[str, float], as_of: date | None = None) -> pl.DataFrame:
    """Households and persons under the line and the monthly 补差, today vs proposed, per county + 合计."""
    return whatif_on(warehouse, standards, as_of)[0]


def whatif_on(warehouse: Path, standards: dict[str, float],
              as_of: date | None = None) -> tuple[pl.DataFrame, date, dict[str, float]]:
    """`whatif`; the mz snapshot whose incomes it read, the latest loaded on or before `as_of`
    (default: the latest; a month whose delivery was rejected reads the one before); and today's
    standards, those in force on that snapshot's date, which an area not proposed keeps."""
    unknown = set(standards) - set(AREAS)
    if unknown:
        raise StandardsError(f"unknown 城乡属性 {sorted(unknown)}: use 城市 and/or 农村")
    with open_warehouse(Path(warehouse), read_only=True) as con:
        snapshot = _snapshot(con, as_of)
        # today's line is the one in force on the incomes' date, not on a later `as_of`
        params = {"as_of": snapshot, "city": standards.get("城市"), "rural": standards.get("农村")}
        frame = con.sql(query("publish/whatif"), params=params).pl()
        today = {area: float(amount) for area, amount in con.execute(query("publish/whatif_today"), [snapshot])
                 .fetchall() if amount is not None}
    return _with_total(frame), snapshot, today


def assumptions(snapshot: date, today: dict[str, float], standards: dict[str, float], as_of: date | None) -> str:
    """What the figures rest on, in one line: the snapshot, today's and the proposed standards."""
    asked = f"（{as_of} 当日或之前最新的）" if as_of and as_of != snapshot else ""
    parts = []
    for area in AREAS:
        now = f"{today[area]:g}" if area in today else "无"
        new = f"{standards[area]:g}" if area in standards else f"{now}（不变）"
        parts.append(f"{area} {now} → {new}")
    return (f"收入取自民政 {snapshot} 快照{asked}；现标准为该日执行的标准；低保标准（元/人·月）：{'，'.join(parts)}。"
            f" incomes of the mz snapshot of {snapshot}; today's standards are those in force that day")


def _snapshot(con, as_of: date | None) -> date:
    snapshots = [d for (d,) in con.execute(
        "SELECT extract_date FROM core.snapshots WHERE source = 'mz' ORDER BY extract_date").fetchall()
    ] if table_exists(con, "core.snapshots") else []
    if not snapshots:
        raise StandardsError("no mz snapshot loaded yet: run `dibao run` first")
    if as_of is not None and as_of < snapshots[0]:
        raise StandardsError(f"no mz snapshot on or before {as_of} (first: {snapshots[0]})")
    return max(d for d in snapshots if as_of is None or d <= as_of)


def _with_total(frame: pl.DataFrame) -> pl.DataFrame:
    counts = [c for c in frame.columns if c != "county_code"]
    frame = frame.with_columns(
        pl.col("county_code").replace_strict(COUNTIES, default=None, return_dtype=pl.String).alias("county_name"),
        *(pl.col(c).cast(pl.Int64) for c in counts if not c.startswith("monthly")),
        *(pl.col(c).cast(pl.Float64) for c in counts if c.startswith("monthly")),
    )
    total = frame.select(pl.lit(None, pl.String).alias("county_code"), pl.lit(TOTAL).alias("county_name"),
                         *(pl.col(c).sum() for c in counts))
    both = pl.concat([frame, total], how="diagonal_relaxed")
    both = both.with_columns(
        (pl.col("monthly_cost_proposed") - pl.col("monthly_cost_today")).alias("monthly_cost_change"))
    both = both.with_columns((pl.col(f"monthly_{c}") * MONTHS_PER_YEAR).alias(f"annual_{c}")
                             for c in ("cost_change", "cost_benefit_rises", "cost_newly_eligible"))
    money = [c for c in COLUMNS if c.startswith(("monthly_", "annual_"))]
    return both.with_columns(pl.col(c).round(2) for c in money).select(list(COLUMNS))


def format_whatif(frame: pl.DataFrame) -> str:
    """The result as an aligned text table with Chinese headers, for the command line."""
    shown = frame.rename(COLUMNS).with_columns(pl.col(COLUMNS["county_code"]).fill_null(""),
                                              pl.col(COLUMNS["county_name"]).fill_null(""))
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=4000, tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True, thousands_separator=True, float_precision=2):
        return str(shown)
