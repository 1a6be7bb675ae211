"""Assistance standards the generator applies, effective-dated (元/人·月).

Source: the seed article (聊城, 2024-01-01): 低保 城市 931 / 农村 753, 特困 basic
living 城市 1242 / 农村 979. The 2023 低保 values 890/720 are illustrative
(sources.md). The 2023 特困 values are assumed at the same 1.3x of 低保 that 2024
shows (1242/931 ≈ 1.33, 979/753 = 1.30). No later standard is known, so the 2024
values stay in force after 2024 (the simulation may run into 2025).
"""

from __future__ import annotations

from datetime import date

# (valid from, 城市, 农村)
DIBAO: tuple[tuple[date, float, float], ...] = (
    (date(2023, 1, 1), 890.0, 720.0),
    (date(2024, 1, 1), 931.0, 753.0),
)
TEKUN: tuple[tuple[date, float, float], ...] = (
    (date(2023, 1, 1), 1157.0, 936.0),
    (date(2024, 1, 1), 1242.0, 979.0),
)
EARLIEST = DIBAO[0][0]


def in_force(table: tuple[tuple[date, float, float], ...], on: date) -> tuple[float, float]:
    """(城市, 农村) standard in force on a date."""
    current = None
    for valid_from, urban, rural in table:
        if valid_from <= on:
            current = (urban, rural)
    if current is None:
        raise ValueError(f"no standard in force on {on} (earliest {table[0][0]})")
    return current
