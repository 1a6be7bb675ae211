"""How big each `--scale` is, and the city-wide figures it is calibrated on.

City figures come from the seed article (聊城市民政局, end of April 2024) where it
gives them, and are stated assumptions where it does not:

| figure | city | source |
|---|---|---|
| 低保 persons | 82,300 | seed (8.23万) |
| 特困 persons | 23,500, 97% single-person households | seed (2.35万); household mix assumed |
| 低保边缘 | 2,812 households / 6,500 persons | seed |
| 刚性支出困难 | 3,000 households (~8,200 persons) | assumption |
| 其他低收入 | 12,000 households (~30,700 persons) | assumption |
| 退出 households still in the snapshot at the start | 5,000 | assumption (exits of the last 12 months) |
| low-income households not yet monitored | 8,000 | assumption (they apply or are found later) |
| 重度残疾人护理补贴 | 72,000 recipients | seed (7.2万); 92% take-up of 有效 一/二级 certificates assumed |
| 困难残疾人生活补贴 | 32,000 recipients | seed (3.2万); paid to 有效 holders in 在册 低保/低保边缘 households |
| 三/四级 有效 certificates | 100,000 | assumption |
| people known only to 人社 | 8,000 | assumption |

`town` is 1/100 of the city with one street and two towns per county (about 900
households, 150 of them scored); `county` is 3/100 on the same small map (about
2,900 households, as many as ../shared/worlds/external-a, so that precision at
k is not pure noise when a family of worlds is evaluated); `province` is 10x the
city's population on the same (realistic) village map: a load test.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    factor: float  # population relative to the city
    realistic_places: bool


SCALES: dict[str, Scale] = {
    "town": Scale("town", 0.01, False),
    "county": Scale("county", 0.03, False),
    "city": Scale("city", 1.0, True),
    "province": Scale("province", 10.0, True),
}

DIBAO_PERSONS = 82_300
TEKUN_PERSONS = 23_500
BIANYUAN_HOUSEHOLDS = 2_812
BIANYUAN_PERSONS = 6_500
RIGID_HOUSEHOLDS = 3_000
OTHER_HOUSEHOLDS = 12_000
EXITED_HOUSEHOLDS = 5_000
LATENT_HOUSEHOLDS = 8_000
NURSING_RECIPIENTS = 72_000
NURSING_TAKE_UP = 0.92
LIVING_RECIPIENTS = 32_000
LIVING_TAKE_UP = 0.95
GRADE34_CERTIFICATES = 100_000
RS_ONLY_PERSONS = 8_000
EMPLOYERS = 2_500
