"""Vectorised 身份证号 (GB 11643) generation.

An ID's first 17 digits fit in an int64 (region * 10^11 + YYYYMMDD * 10^3 +
sequence), so IDs are built, checked for uniqueness and given their check
character with numpy, and only turned into strings when a file is rendered.
The weights and check characters are pipelines.sources.idcard's, so the generator and the
pipeline cannot disagree on what a valid number is.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.generate.timeline import date_parts
from pipelines.sources.idcard import CHECK_CHARS, WEIGHTS

_POW = 10 ** np.arange(16, -1, -1, dtype=np.int64)
_WEIGHTS = np.array(WEIGHTS, dtype=np.int64)


def first17(region: np.ndarray, birth_days: np.ndarray, seq: np.ndarray) -> np.ndarray:
    y, m, d = date_parts(birth_days)
    ymd = y * 10000 + m * 100 + d
    return region.astype(np.int64) * 10**11 + ymd * 1000 + seq.astype(np.int64)


def check_index(id17: np.ndarray) -> np.ndarray:
    """Index into CHECK_CHARS of each number's check character."""
    digits = (id17[:, None] // _POW[None, :]) % 10
    return ((digits * _WEIGHTS).sum(axis=1) % 11).astype(np.int8)


def draw_sequence(rng: np.random.Generator, female: np.ndarray) -> np.ndarray:
    """3-digit sequence: odd for men, even for women, never 000."""
    n = len(female)
    half = rng.integers(1, 500, n)
    return np.where(female, 2 * half, 2 * half - 1 + 2 * (rng.random(n) < 0.5)).astype(np.int16)


def unique_sequences(rng: np.random.Generator, region: np.ndarray, birth: np.ndarray,
                     female: np.ndarray, taken: np.ndarray | None = None) -> np.ndarray:
    """Sequences making every (region, birth date, sequence) distinct, also from `taken`."""
    seq = draw_sequence(rng, female)
    base = first17(region, birth, np.zeros_like(seq))
    for _ in range(100):
        ids = base + seq
        _, first = np.unique(ids, return_index=True)
        clash = np.ones(len(ids), dtype=bool)
        clash[first] = False
        if taken is not None and len(taken):
            clash |= np.isin(ids, taken)
        if not clash.any():
            return seq
        seq[clash] = draw_sequence(rng, female[clash])
    raise RuntimeError("could not find unique 身份证号 sequences")  # pragma: no cover


def id_strings(id17: np.ndarray) -> pl.Series:
    chars = np.array(list(CHECK_CHARS))[check_index(id17)]
    return pl.Series(id17).cast(pl.String) + pl.Series(chars)
