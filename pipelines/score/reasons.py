"""Reasons for a risk score: hard rule flags, then the model's own attributions.

The code table is `models/reason_codes.yaml` (also loaded into the warehouse as
`mart.reason_codes`). Two kinds of code:

- `rule`: a fact a caseworker can check at once (income already below the line
  at the last check, a 单人保 candidate ...). It is listed whenever it holds.
- `model`: one group of features. Its contribution to a household's score is
  how much the predicted probability falls when the group's features are set to
  their reference values (the training population's median or most common
  value), all other features kept: the model's own attribution, not a second
  hand-written rule. Groups that raise the risk by at least MIN_CONTRIBUTION are
  listed, the largest first, at most TOP_MODEL_REASONS of them.
- `note`: says why a row has neither (NO_FACTOR), so an empty list never has to
  be read as a value that went missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import yaml

from pipelines.config import MODELS
from pipelines.score.features import CATEGORICAL

if TYPE_CHECKING:  # the model brings scikit-learn: a list rescored where nothing changed needs none
    from pipelines.score.model import RiskModel

REASON_CODES = MODELS / "reason_codes.yaml"
TOP_MODEL_REASONS = 3
MIN_CONTRIBUTION = 0.01  # probability points: smaller shifts are noise, not reasons
NO_FACTOR = "N_NO_RISK_FACTOR"  # the note of a row that no rule and no group explains
KINDS = ("rule", "model", "note")


class ReasonCodeError(ValueError):
    """The reason code table is malformed; the message names the code."""


@dataclass(frozen=True)
class ReasonCode:
    code: str
    kind: str  # rule, model or note
    zh: str
    en: str
    features: tuple[str, ...] = ()
    condition: dict | None = None

    def about(self) -> list[str]:
        """The feature columns the code is about (none for a note)."""
        return list(self.features) or ([self.condition["feature"]] if self.condition else [])

    def holds(self, frame: pl.DataFrame) -> pl.Series:
        """Rule codes: where the condition holds (False where the feature is unknown)."""
        c = self.condition or {}
        col = pl.col(c["feature"])
        test = col < c["below"] if "below" in c else col >= c["at_least"]
        return frame.select(test.fill_null(False).alias(self.code)).to_series()


def reason_codes(path: Path = REASON_CODES) -> list[ReasonCode]:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    codes, seen = [], set()
    for item in doc["codes"]:
        code = item.get("code", "")
        if code in seen:
            raise ReasonCodeError(f"{code}: listed twice")
        seen.add(code)
        if item.get("kind") not in KINDS or not item.get("zh") or not item.get("en"):
            raise ReasonCodeError(f"{code}: needs kind ({', '.join(KINDS)}), zh and en")
        condition = item.get("condition")
        if item["kind"] == "rule" and (not condition or "feature" not in condition
                                       or not ({"below", "at_least"} & set(condition))):
            raise ReasonCodeError(f"{code}: a rule needs condition {{feature, below | at_least}}")
        if item["kind"] == "model" and not item.get("features"):
            raise ReasonCodeError(f"{code}: a model code needs its features")
        codes.append(ReasonCode(code, item["kind"], item["zh"], item["en"],
                                tuple(item.get("features") or ()), condition))
    if NO_FACTOR not in seen:
        raise ReasonCodeError(f"{NO_FACTOR}: the note for a row without reasons is missing")
    return codes


def model_groups(codes: list[ReasonCode], features: list[str]) -> list[ReasonCode]:
    """The model codes, checked to cover each of the model's features exactly once."""
    groups = [c for c in codes if c.kind == "model"]
    covered = [f for g in groups for f in g.features]
    missing = sorted(set(features) - set(covered))
    twice = sorted({f for f in covered if covered.count(f) > 1})
    if missing or twice:
        raise ReasonCodeError(f"model features without a reason code: {missing}; in two codes: {twice}")
    return [g for g in groups if set(g.features) & set(features)]


def rule_flags(frame: pl.DataFrame, codes: list[ReasonCode]) -> list[list[str]]:
    """Per row, the rule codes that hold, in the table's order."""
    rules = [c for c in codes if c.kind == "rule"]
    if not rules or frame.height == 0:
        return [[] for _ in range(frame.height)]
    held = np.column_stack([c.holds(frame).to_numpy() for c in rules])
    return [[rules[j].code for j in np.flatnonzero(row)] for row in held]


def contributions(model: RiskModel, frame: pl.DataFrame, groups: list[ReasonCode],
                  base: np.ndarray | None = None) -> np.ndarray:
    """rows x groups: predicted probability minus the probability with the
    group's features set to their reference values."""
    base = model.predict(frame) if base is None else base
    out = np.zeros((frame.height, len(groups)))
    if frame.height == 0 or not groups:
        return out
    # The model's inputs as the model reads them (risk_model.inputs), so that the
    # replaced copies share one schema and go through the model in one call: a
    # tree ensemble pays a fixed cost per call (per tree, per thread start-up)
    # that one call per group multiplied by the number of groups.
    typed = frame.select([pl.col(f).cast(pl.String if f in CATEGORICAL else pl.Float64) for f in model.features])
    indexed = typed.with_row_index("__row")
    replaced, rows = [], []
    for group in groups:
        reference = {f: pl.lit(model.reference.get(f), dtype=pl.String if f in CATEGORICAL else pl.Float64)
                     for f in group.features if f in model.features}
        # A row already at the reference on every feature of the group is the same row
        # replaced: its prediction would be `base`, its contribution exactly 0. Most
        # households have no job loss, no disability, no departure: only the others go
        # through the model again.
        differs = pl.any_horizontal([pl.col(f).ne_missing(v) for f, v in reference.items()] or [pl.lit(False)])
        changed = indexed.filter(differs)
        rows.append(changed["__row"].to_numpy())
        replaced.append(changed.drop("__row").with_columns([v.alias(f) for f, v in reference.items()]))
    without = model.predict(pl.concat(replaced)) if sum(len(r) for r in rows) else np.zeros(0)
    start = 0
    for j, changed_rows in enumerate(rows):
        out[changed_rows, j] = base[changed_rows] - without[start:start + len(changed_rows)]
        start += len(changed_rows)
    return out


def ranked_reasons(flags: list[list[str]], contrib: np.ndarray, groups: list[ReasonCode],
                   top: int = TOP_MODEL_REASONS, minimum: float = MIN_CONTRIBUTION) -> list[list[str]]:
    """Rule flags first, then the model groups that raise the risk most."""
    out = []
    for i, rules in enumerate(flags):
        order = np.argsort(-contrib[i], kind="stable")
        model = [groups[j].code for j in order[:top] if contrib[i, j] >= minimum]
        out.append(rules + model)
    return out
