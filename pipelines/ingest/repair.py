"""Repair-or-reject over a whole file: repair_frame splits a read file into the
rows that load (typed), the repairs made, and the quarantine; the scalar repairs
are in cell_repairs.py, the vectorised rules in column_rules.py. Decisions the
contract leaves open are listed in docs/ingest.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import polars as pl

from pipelines.sources.contract import Column, FileSpec
from pipelines.sources.idcard import BadValue
from pipelines.ingest.column_rules import rule_for
from pipelines.ingest.readers import EXTRA, LINE

# A column with this many non-canonical cells first gets the vectorised bulk
# repairs (Rule.bulk); below it, the few odd values go through Python anyway.
BULK_REPAIR_FROM = 10_000

REPAIRS_SCHEMA = {
    LINE: pl.Int64,
    "column_name": pl.String,
    "raw_value": pl.String,
    "kind": pl.String,
    "repaired_value": pl.String,
}
QUARANTINE_SCHEMA = {LINE: pl.Int64, "column_name": pl.String, "raw_value": pl.String, "reason": pl.String}


@dataclass
class Repaired:
    clean: pl.DataFrame  # rows that load: one typed column per FileSpec field, plus "_line"
    repairs: pl.DataFrame  # one row per repaired cell of a loaded row (REPAIRS_SCHEMA)
    quarantine: pl.DataFrame  # one row per bad cell, duplicate copy or extra-field row


class MissingColumns(ValueError):
    """A mandatory column is not in the file: the delivery cannot be loaded."""

    def __init__(self, missing: list[str]):
        super().__init__(f"mandatory column(s) missing: {', '.join(missing)}")
        self.missing = missing


def match_headers(headers: list[str], spec: FileSpec) -> tuple[list[str], list[str]]:
    """(delivered headers the contract does not know, contract headers not delivered)."""
    delivered = [h.strip() for h in headers if h not in (LINE, EXTRA)]
    extra = [h for h in delivered if h not in spec.headers]
    missing = [h for h in spec.headers if h not in delivered]
    return extra, missing


def repair_frame(frame: pl.DataFrame, spec: FileSpec) -> Repaired:
    """Split a read file (readers.ReadResult.frame) into clean, repairs, quarantine.

    Every row ends either in `clean` or, with at least one row, in `quarantine`.
    Raises MissingColumns when a mandatory header is not delivered.

    Each stage is one `with_columns` over all columns (polars runs them in
    parallel) and later stages read what earlier ones materialised, so nothing
    is computed twice: canonical masks → (bulk repairs, for crowded columns) →
    scalar answers for the odd distinct values → their positions → typed
    values, kinds, reasons.
    """
    if LINE not in frame.columns:
        raise ValueError(f"frame has no {LINE!r} column (use readers.read_file)")
    names = _column_names(frame, spec)
    plans = [_ColumnPlan(i, column, names.get(column.header)) for i, column in enumerate(spec.columns)]
    delivered = [p for p in plans if p.name is not None]

    # Work on the contract's columns only: unknown ones matter for duplicates alone.
    kept = [LINE, *(p.name for p in delivered), *([EXTRA] if EXTRA in frame.columns else [])]
    work = frame.select(kept).with_columns([p.canonical_mask() for p in delivered])
    crowded = [p for p in delivered if work.height - work[p.canon].sum() >= BULK_REPAIR_FROM]
    work = work.with_columns([e for p in crowded for e in p.bulk_masks()])
    _answer_odd_values(work, delivered)
    work = work.with_columns([p.odd_position() for p in delivered if p.has_odd()])
    work = work.with_columns([e for p in plans for e in p.outcome()])
    work = work.with_columns([p.mandatory_reason() for p in plans if not p.column.optional])

    surplus = pl.col(EXTRA) if EXTRA in frame.columns else pl.lit(None, pl.String)
    work = work.with_columns(_duplicate_copies(frame).alias("_duplicate"), surplus.alias("_surplus"))
    bad = pl.any_horizontal(
        [pl.col(p.reason).is_not_null() for p in plans] + [pl.col("_duplicate"), pl.col("_surplus").is_not_null()]
    )
    work = work.with_columns(bad.alias("_bad"))
    return Repaired(
        clean=work.filter(~pl.col("_bad")).select(
            [pl.col(p.value).alias(p.column.field) for p in plans] + [pl.col(LINE)]
        ),
        repairs=_repairs(work, delivered),
        quarantine=_quarantine(work, delivered, len(plans)),
    )


def _column_names(frame: pl.DataFrame, spec: FileSpec) -> dict[str, str]:
    """Contract header → frame column name (headers matched after stripping)."""
    names: dict[str, str] = {}
    for name in frame.columns:
        header = name.strip()
        if name in (LINE, EXTRA) or header not in spec.headers:
            continue
        if header in names:
            raise ValueError(f"column {header!r} delivered twice")
        names[header] = name
    missing = [c.header for c in spec.columns if not c.optional and c.header not in names]
    if missing:
        raise MissingColumns(missing)
    return names


class _ColumnPlan:
    """One contract column: its rule, working column names and odd-value answers."""

    def __init__(self, index: int, column: Column, name: str | None):
        self.column = column
        self.name = name  # the frame's column; None when the (optional) header is absent
        self.rule = rule_for(column)
        self.canon, self.pos, self.value, self.kind, self.reason = (
            f"_{part}{index}" for part in ("canon", "pos", "value", "kind", "reason")
        )
        self.bulk: list[tuple[str, str, Callable[[pl.Expr], pl.Expr]]] = []  # (mask column, kind, transform)
        self.odd: list[str] = []
        self.odd_values = pl.Series([], dtype=self.rule.dtype)
        self.odd_kinds = pl.Series([], dtype=pl.String)
        self.odd_reasons = pl.Series([], dtype=pl.String)

    def canonical_mask(self) -> pl.Expr:
        return self.rule.canonical(pl.col(self.name)).fill_null(False).alias(self.canon)

    def bulk_masks(self) -> list[pl.Expr]:
        """One mask per bulk repair: not canonical, but canonical once transformed."""
        raw = pl.col(self.name)
        masks = []
        for n, (kind, transform) in enumerate(self.rule.bulk):
            mask = f"{self.canon}_bulk{n}"
            self.bulk.append((mask, kind, transform))
            masks.append((~pl.col(self.canon) & self.rule.canonical(transform(raw)).fill_null(False)).alias(mask))
        return masks

    def odd_query(self) -> pl.Expr:
        """Distinct delivered values (empty ones too) that need the scalar repair."""
        raw = pl.col(self.name)
        done = pl.any_horizontal([pl.col(self.canon), *(pl.col(mask) for mask, _, _ in self.bulk)])
        return raw.filter(~done & raw.is_not_null()).unique()

    def answer(self, odd: list[str]) -> None:
        """Run the scalar repair once per odd value."""
        values, kinds, reasons = [], [], []
        for raw in odd:
            try:
                value, repairs = self.rule.repair(raw)
            except BadValue as bad:
                value, repairs = None, []
                reasons.append(bad.reason)
            else:
                reasons.append(None)
            values.append(value)
            kinds.append("+".join(repairs) or None)
        self.odd = odd
        self.odd_values = pl.Series(values, dtype=self.rule.dtype)
        self.odd_kinds = pl.Series(kinds, dtype=pl.String)
        self.odd_reasons = pl.Series(reasons, dtype=pl.String)

    def has_odd(self) -> bool:
        return bool(self.odd)

    def odd_position(self) -> pl.Expr:
        """Index of each odd cell's value in self.odd; null for canonical cells."""
        return (
            pl.when(~pl.col(self.canon)).then(pl.col(self.name))
            .replace_strict(self.odd, list(range(len(self.odd))), default=None, return_dtype=pl.UInt32)
            .alias(self.pos)
        )

    def outcome(self) -> list[pl.Expr]:
        """Typed value, repair kinds and reject reason of every cell."""
        if self.name is None:  # optional column not delivered: null, nothing to report
            return [
                pl.lit(None, self.rule.dtype).alias(self.value),
                pl.lit(None, pl.String).alias(self.kind),
                pl.lit(None, pl.String).alias(self.reason),
            ]
        raw = pl.col(self.name)
        value = pl.when(pl.col(self.canon)).then(self.rule.convert(raw))
        kind = pl.when(pl.col(self.canon)).then(pl.lit(None, pl.String))
        for mask, bulk_kind, transform in self.bulk:
            value = value.when(pl.col(mask)).then(self.rule.convert(transform(raw)))
            kind = kind.when(pl.col(mask)).then(pl.lit(bulk_kind))
        reason = pl.when(raw.is_null()).then(pl.lit("missing_field"))
        if self.has_odd():
            position = pl.col(self.pos)
            value = value.otherwise(pl.lit(self.odd_values).gather(position))
            kind = kind.otherwise(pl.lit(self.odd_kinds).gather(position))
            reason = reason.otherwise(pl.lit(self.odd_reasons).gather(position))
        return [value.alias(self.value), kind.alias(self.kind), reason.alias(self.reason)]

    def mandatory_reason(self) -> pl.Expr:
        # Whatever the route, a mandatory column never loads a null.
        missing = pl.when(pl.col(self.value).is_null()).then(pl.lit("missing_mandatory"))
        return pl.coalesce(pl.col(self.reason), missing).alias(self.reason)


def _answer_odd_values(work: pl.DataFrame, plans: list[_ColumnPlan]) -> None:
    """Run the scalar repairs over each column's distinct odd values (few, usually)."""
    lazy = work.lazy()
    found = pl.collect_all([lazy.select(p.odd_query().alias("odd")) for p in plans])
    for plan, odd in zip(plans, found):
        plan.answer(odd["odd"].to_list())


def _duplicate_copies(frame: pl.DataFrame) -> pl.Series:
    """True for every exact copy of an earlier row (all delivered cells equal).

    Hash first, then compare the few rows whose hash repeats cell by cell, so a
    hash collision can never make two different rows duplicates.
    """
    cells = [c for c in frame.columns if c != LINE]
    copies = pl.Series("_duplicate", [False] * frame.height, dtype=pl.Boolean)
    maybe = frame.select(pl.struct(cells).hash().is_duplicated()).to_series()
    if not maybe.any():
        return copies
    candidates = frame.filter(maybe).select(~pl.struct(cells).is_first_distinct()).to_series()
    return copies.scatter(maybe.arg_true(), candidates)


def _repairs(work: pl.DataFrame, plans: list[_ColumnPlan]) -> pl.DataFrame:
    loaded = work.filter(~pl.col("_bad"))
    parts = [
        loaded.filter(pl.col(p.kind).is_not_null()).select(
            pl.col(LINE),
            pl.lit(p.column.header).alias("column_name"),
            pl.col(p.name).alias("raw_value"),
            pl.col(p.kind).alias("kind"),
            _as_text(pl.col(p.value), p.rule.dtype).alias("repaired_value"),
            pl.lit(i).alias("_order"),
        )
        for i, p in enumerate(plans)
    ]
    return _stack(parts, REPAIRS_SCHEMA)


def _as_text(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A repaired value as text: ISO dates, yuan with two decimals (931元 → "931.00")."""
    if dtype != pl.Float64:
        return value.cast(pl.String)
    cents = (value * 100).round(0)
    whole_cents = ((value * 100 - cents).abs() < 1e-6) & (value.abs() < 1e13)
    cents = cents.cast(pl.Int64, strict=False)
    yuan = pl.format("{}.{}", cents // 100, (cents % 100).cast(pl.String).str.zfill(2))
    return pl.when(whole_cents).then(yuan).otherwise(value.cast(pl.String))


def _quarantine(work: pl.DataFrame, plans: list[_ColumnPlan], row_level: int) -> pl.DataFrame:
    """One row per bad cell of a first copy, per extra-field row, per duplicate copy."""
    first_copies = work.filter(~pl.col("_duplicate"))
    parts = [
        first_copies.filter(pl.col(p.reason).is_not_null()).select(
            pl.col(LINE),
            pl.lit(p.column.header).alias("column_name"),
            pl.col(p.name).alias("raw_value"),
            pl.col(p.reason).alias("reason"),
            pl.lit(i).alias("_order"),
        )
        for i, p in enumerate(plans)
    ]
    # Row-level reasons sort after the cells of the same line.
    parts.append(
        first_copies.filter(pl.col("_surplus").is_not_null()).select(
            pl.col(LINE),
            pl.lit(None, pl.String).alias("column_name"),
            pl.col("_surplus").alias("raw_value"),
            pl.lit("extra_fields").alias("reason"),
            pl.lit(row_level).alias("_order"),
        )
    )
    parts.append(
        work.filter(pl.col("_duplicate")).select(
            pl.col(LINE),
            pl.lit(None, pl.String).alias("column_name"),
            pl.lit(None, pl.String).alias("raw_value"),
            pl.lit("duplicate_row").alias("reason"),
            pl.lit(row_level).alias("_order"),
        )
    )
    return _stack(parts, QUARANTINE_SCHEMA)


def _stack(parts: list[pl.DataFrame], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    parts = [p.cast({**schema, "_order": pl.Int32}) for p in parts]
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts).sort([LINE, "_order"]).drop("_order")
