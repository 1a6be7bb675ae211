"""A bag of equal-length numpy columns that can grow (births, new certificates)."""

from __future__ import annotations

import numpy as np


class Table:
    def __init__(self, **columns: np.ndarray):
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of unequal length: {lengths}")
        self._names = list(columns)
        for name, values in columns.items():
            setattr(self, name, np.asarray(values))

    def __len__(self) -> int:
        return len(getattr(self, self._names[0]))

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def extend(self, **columns: np.ndarray) -> np.ndarray:
        """Append rows; returns the new rows' indices."""
        if set(columns) != set(self._names):
            missing = set(self._names) ^ set(columns)
            raise ValueError(f"extend needs exactly the table's columns; differing: {sorted(missing)}")
        start = len(self)
        for name in self._names:
            old = getattr(self, name)
            setattr(self, name, np.concatenate([old, np.asarray(columns[name], dtype=old.dtype)]))
        return np.arange(start, len(self))

    @classmethod
    def concat(cls, parts: list["Table"]) -> "Table":
        names = parts[0].names
        return cls(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in names})
