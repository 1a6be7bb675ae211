"""聊城's counties, townships and villages as the generator uses them.

A village/community code is 12 digits: county (6) + township (3) + village (3).
Streets (街道, township digits 001-0xx) hold communities (居委会, village digits
001-0xx) and count as 城市; towns (镇, 100-1xx) hold mostly villages (村委会,
201-2xx) and count as 农村, plus a community or two at the town seat. At city scale
the township counts follow the real order of magnitude (about 135 townships and
5,000 villages); at town scale each county has one street and two towns.
A few codes outside 3715 serve as residences of people living elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.sources.contract import COUNTIES


@dataclass(frozen=True)
class CountyProfile:
    code: str
    streets: int  # 街道 at city scale
    towns: int  # 镇/乡 at city scale
    weight: float  # share of the low-income population
    urban_share: float  # share of its low-income households living in a 街道


PROFILES: tuple[CountyProfile, ...] = (
    CountyProfile("371502", 10, 12, 0.20, 0.40),  # 东昌府区: the city proper
    CountyProfile("371503", 5, 9, 0.09, 0.18),  # 茌平区
    CountyProfile("371521", 3, 15, 0.12, 0.15),  # 阳谷县
    CountyProfile("371522", 4, 20, 0.16, 0.14),  # 莘县
    CountyProfile("371524", 3, 8, 0.06, 0.17),  # 东阿县
    CountyProfile("371525", 3, 15, 0.13, 0.15),  # 冠县
    CountyProfile("371526", 3, 9, 0.08, 0.18),  # 高唐县
    CountyProfile("371581", 4, 12, 0.16, 0.22),  # 临清市
)
assert tuple(p.code for p in PROFILES) == tuple(COUNTIES)

# 身份证号 regions issued before 聊城地区 became 聊城市 (1997) keep 3725xx; 茌平
# was 371523 until it became a 区 in 2019. Both are local (contract.LOCAL_ID_PREFIXES).
OLD_REGION = {
    "371502": 372501, "371581": 372502, "371521": 372522, "371522": 372523,
    "371503": 372524, "371524": 372525, "371526": 372527, "371525": 372526,
}
CHIPING = "371503"
CHIPING_COUNTY_ERA = 371523

# Regions of non-local 身份证号: 济南, 德州, 菏泽, 泰安, and the neighbouring
# 河北 邯郸/邢台 and 河南 濮阳.
NONLOCAL_REGIONS = np.array(
    [370102, 370181, 371402, 371702, 370902, 130402, 130502, 410902], dtype=np.int32)
NONLOCAL_VILLAGES = (
    "370102003012", "370181101205", "371402002007", "371702105214",
    "130402004003", "410902001011",
)


@dataclass
class Places:
    code: np.ndarray  # 12-digit village code, str
    township: np.ndarray  # 9-digit code, str
    county: np.ndarray  # index into PROFILES, -1 outside 聊城
    urban: np.ndarray  # bool
    # villages grouped by (county, urban) for fast uniform picks
    _group_start: np.ndarray
    _group_size: np.ndarray
    _order: np.ndarray

    @property
    def n_local(self) -> int:
        return int((self.county >= 0).sum())

    def pick(self, rng: np.random.Generator, county: np.ndarray, urban: np.ndarray) -> np.ndarray:
        """A uniformly chosen village index of the given county and type, per entry."""
        g = county.astype(np.int64) * 2 + urban.astype(np.int64)
        size = self._group_size[g]
        off = (rng.random(len(g)) * size).astype(np.int64)
        return self._order[self._group_start[g] + off].astype(np.int32)

    def pick_nonlocal(self, rng: np.random.Generator, n: int) -> np.ndarray:
        nonlocal_idx = np.flatnonzero(self.county < 0)
        return nonlocal_idx[rng.integers(0, len(nonlocal_idx), n)].astype(np.int32)


def build(rng: np.random.Generator, realistic: bool) -> Places:
    codes: list[str] = []
    townships: list[str] = []
    county: list[int] = []
    urban: list[bool] = []

    def add(tcode: str, vdigits: int, is_urban: bool, ci: int) -> None:
        codes.append(f"{tcode}{vdigits:03d}")
        townships.append(tcode)
        county.append(ci)
        urban.append(is_urban)

    for ci, p in enumerate(PROFILES):
        streets = p.streets if realistic else 1
        towns = p.towns if realistic else 2
        for s in range(1, streets + 1):
            tcode = f"{p.code}{s:03d}"
            n = int(rng.integers(6, 19)) if realistic else 3
            for v in range(1, n + 1):
                add(tcode, v, True, ci)
        for s in range(towns):
            tcode = f"{p.code}{100 + s:03d}"
            seats = int(rng.integers(1, 3)) if realistic else 1
            for v in range(1, seats + 1):
                add(tcode, v, True, ci)
            n = int(rng.integers(25, 66)) if realistic else 6
            for v in range(n):
                add(tcode, 201 + v, False, ci)
    for code in NONLOCAL_VILLAGES:
        codes.append(code)
        townships.append(code[:9])
        county.append(-1)
        urban.append(code[9] == "0")

    county_a = np.array(county, dtype=np.int8)
    urban_a = np.array(urban, dtype=bool)
    local = county_a >= 0
    group = np.where(local, county_a.astype(np.int64) * 2 + urban_a, 2 * len(PROFILES))
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=2 * len(PROFILES) + 1)[: 2 * len(PROFILES)]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return Places(
        code=np.array(codes, dtype=object),
        township=np.array(townships, dtype=object),
        county=county_a,
        urban=urban_a,
        _group_start=starts,
        _group_size=counts,
        _order=order,
    )


def county_codes() -> np.ndarray:
    return np.array([int(p.code) for p in PROFILES], dtype=np.int32)


def county_weights() -> np.ndarray:
    w = np.array([p.weight for p in PROFILES])
    return w / w.sum()


def urban_shares() -> np.ndarray:
    return np.array([p.urban_share for p in PROFILES])
