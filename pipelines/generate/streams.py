"""Named random streams, so that one stage's draws never shift another's.

Each stage asks for its own generator by name; adding a draw to the simulation
therefore leaves the defect placement (and the bytes it decides) unchanged.
Python's `hash()` is salted per process, so names are keyed with CRC-32.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
