"""Cross-source conflicts inside one 民政 snapshot (households + members).

These rows are clean cell by cell, so they load; they only disagree with each
other, and a pipeline must record them for review (sources.md). The rows
involved are protected from cell defects so that the conflict is exactly what
the truth says it is.

- member_in_two_households: a member's row is repeated under a second 在册
  household (relation 其他); that household's 家庭人口数 then falls one short of
  its member rows, recorded as household_size_mismatch with a note.
- household_size_mismatch: 家庭人口数 one more or one less than the member rows.
- member_household_missing: a household row left out of the snapshot while its
  members' rows are delivered (the members are orphans for one month).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.generate.defects import Injector


def _protect(inj: Injector, rids: np.ndarray) -> None:
    inj.df = inj.df.with_columns(
        _protect=pl.col("_protect") | pl.col("_rid").is_in(pl.Series(rids, dtype=pl.Int64).implode()))


def _free(df: pl.DataFrame) -> pl.Expr:
    return ~pl.col("_protect") & ~pl.col("_planted")


def mz(households: Injector, members: Injector, wanted: dict[str, int],
       rng: np.random.Generator) -> np.ndarray:
    """Apply the planned conflicts; returns the households left out of the file."""
    _two_households(households, members, wanted.get("member_in_two_households", 0), rng)
    _size_mismatch(households, members, wanted.get("household_size_mismatch", 0), rng)
    return _missing_household(households, members, wanted.get("member_household_missing", 0), rng)


def _two_households(hh: Injector, mem: Injector, n: int, rng: np.random.Generator) -> None:
    if n == 0:
        return
    active = hh.df.filter(_free(hh.df) & (pl.col("保障状态") == "在册"))
    if active.height < 2:
        return
    movable = mem.df.filter(_free(mem.df) & (pl.col("与户主关系") != "本人")
                            & pl.col("家庭编号").is_in(active["家庭编号"].implode()))
    n = min(n, movable.height)
    if n == 0:
        return
    src = movable[np.sort(rng.choice(movable.height, size=n, replace=False))]
    targets = active[rng.choice(active.height, size=n, replace=False)] if active.height >= n else \
        active[rng.integers(0, active.height, n)]
    # a household is never its own second household
    same = (targets["家庭编号"] == src["家庭编号"]).to_numpy()
    if same.any():
        targets = targets[np.where(same, (np.arange(n) + 1) % n, np.arange(n))] if n > 1 else targets
        keep = (targets["家庭编号"] != src["家庭编号"]).to_numpy()
        src, targets = src.filter(pl.Series(keep)), targets.filter(pl.Series(keep))
    if src.height == 0:
        return
    next_rid = int(mem.df["_rid"].max()) + 1
    new_rids = np.arange(next_rid, next_rid + src.height)
    copies = src.with_columns(
        家庭编号=targets["家庭编号"], 与户主关系=pl.lit("其他"),
        _household=targets["_household"], _protect=pl.lit(True),
        _rid=pl.Series(new_rids, dtype=pl.Int64),
    )
    # the copy joins the end of its second household's rows
    mem.df = pl.concat([mem.df, copies]).sort("家庭编号", maintain_order=True)
    _protect(mem, src["_rid"].to_numpy())
    _protect(hh, targets["_rid"].to_numpy())
    # keep the first household's row too, so both memberships are on record
    _protect(hh, hh.df.filter(pl.col("家庭编号").is_in(src["家庭编号"].implode()))["_rid"].to_numpy())
    mem.conflict(new_rids, "身份证号", "member_in_two_households", copies["身份证号"].to_list(),
                 [f"also a member of 家庭编号 {a}" for a in src["家庭编号"].to_list()])
    rows = mem.df.group_by("家庭编号").len()
    sizes = targets.join(rows, on="家庭编号", how="left", maintain_order="left")["len"].to_list()
    hh.conflict(targets["_rid"].to_numpy(), "家庭人口数", "household_size_mismatch",
                targets["家庭人口数"].to_list(),
                [f"{k} member rows; one also belongs to 家庭编号 {a}"
                 for k, a in zip(sizes, src["家庭编号"].to_list())])


def _size_mismatch(hh: Injector, mem: Injector, n: int, rng: np.random.Generator) -> None:
    free = hh.df.with_row_index("_i").filter(_free(hh.df))
    n = min(n, free.height)
    if n == 0:
        return
    pick = free[np.sort(rng.choice(free.height, size=n, replace=False))]
    size = pick["家庭人口数"].cast(pl.Int64).to_numpy()
    delta = np.where((size <= 1) | (rng.random(n) < 0.5), 1, -1)
    new = (size + delta).astype(str).tolist()
    s = hh.df["家庭人口数"].clone()
    s.scatter(pick["_i"].to_numpy(), new)
    hh.df = hh.df.with_columns(s)
    _protect(hh, pick["_rid"].to_numpy())
    hh.conflict(pick["_rid"].to_numpy(), "家庭人口数", "household_size_mismatch", new,
                [f"{k} member rows" for k in size.tolist()])


def _missing_household(hh: Injector, mem: Injector, n: int, rng: np.random.Generator) -> np.ndarray:
    free = hh.df.filter(_free(hh.df) & pl.col("家庭编号").is_in(mem.df["家庭编号"].implode()))
    n = min(n, free.height)
    if n == 0:
        return np.zeros(0, np.int64)
    gone = free[np.sort(rng.choice(free.height, size=n, replace=False))]
    hh.df = hh.df.filter(~pl.col("_rid").is_in(gone["_rid"].implode()))
    orphans = mem.df.filter(pl.col("家庭编号").is_in(gone["家庭编号"].implode()))
    _protect(mem, orphans["_rid"].to_numpy())
    mem.conflict(orphans["_rid"].to_numpy(), "家庭编号", "member_household_missing",
                 orphans["家庭编号"].to_list(),
                 ["household row missing from this snapshot"] * orphans.height)
    return gone["_household"].to_numpy()
