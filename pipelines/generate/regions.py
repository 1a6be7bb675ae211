"""The region reference file of a generated world: code,name,level,parent.

Names are a fixed function of the code (the counties' real names, made-up
township and village names), so every world writes the same name for a code and
the file can be merged: `write` adds the world's codes to an existing file and
never drops or renames a row the bureau wrote. Codes outside 聊城 are not listed:
the lists flag them as 市外.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

from pipelines.config import PROJECT_ROOT
from pipelines.sources.contract import CITY_NAME, COUNTIES

REGIONS_FILE = PROJECT_ROOT / "parameters" / "regions" / "regions.csv"
HEADER = ("code", "name", "level", "parent")
CITY_CODE = "371500"

_STEMS = ("东关", "新华", "柳园", "古楼", "湖西", "道口", "闫寺", "凤凰", "梁水", "斗虎", "沙镇", "堂邑",
          "许营", "张炉", "广平", "郑家", "侯营", "朱老", "顾官", "堠堌", "于集", "韩屯", "杨屯", "洪官",
          "博平", "杜郎", "冯官", "贾寨", "胡屯", "菜屯", "温陈", "乐平", "振兴", "信发", "肖庄", "三十",
          "阎楼", "高集", "石佛", "定水", "寿张", "金斗", "安乐", "阿城", "七级", "李台", "西湖", "大布")
_VILLAGES = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
             "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾")
_PLACES = ("庄", "屯", "集", "楼", "寨", "营", "店", "园")


def township_name(code: str) -> str:
    """A 9-digit code's name: 001-099 are 街道, 100 and up 镇."""
    n = int(code[6:])
    stem = _STEMS[(int(code[:6]) * 7 + n) % len(_STEMS)]
    return f"{stem}街道" if n < 100 else f"{stem}镇"


def village_name(code: str) -> str:
    """A 12-digit code's name: 001-199 are 社区（居委会）, 201 and up 村."""
    n = int(code[9:])
    seed = int(code[6:9]) * 31 + n
    if n < 200:
        return f"{_STEMS[seed % len(_STEMS)]}社区"
    return f"{_VILLAGES[seed % len(_VILLAGES)]}{_PLACES[(seed // len(_VILLAGES)) % len(_PLACES)]}村"


def rows_for(codes) -> list[tuple[str, str, str, str]]:
    """The city, its counties, and every local township and village among `codes`."""
    rows = {CITY_CODE: (CITY_CODE, CITY_NAME, "city", "")}
    rows |= {c: (c, name, "county", CITY_CODE) for c, name in COUNTIES.items()}
    for code in codes:
        code = str(code)
        if len(code) != 12 or code[:6] not in COUNTIES:
            continue
        rows.setdefault(code[:9], (code[:9], township_name(code[:9]), "township", code[:6]))
        rows.setdefault(code, (code, village_name(code), "village", code[:9]))
    return sorted(rows.values())


def write(codes, path: Path = REGIONS_FILE) -> Path:
    """Merge the world's regions into `path` (created if missing); rows already there stay as they are."""
    path = Path(path)
    existing: dict[str, tuple] = {}
    if path.is_file():
        with open(path, encoding="utf-8-sig", newline="") as f:
            existing = {r["code"]: tuple(r.get(k) or "" for k in HEADER) for r in csv.DictReader(f)}
    new = [r for r in rows_for(codes) if r[0] not in existing]
    if not new and path.is_file():
        return path
    merged = sorted([*existing.values(), *new])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".regions-", suffix=".csv", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(merged)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def all_codes() -> list[str]:
    """Every village code a generated world of any scale can have (pipelines.generate.places)."""
    from pipelines.generate.places import PROFILES

    codes = []
    for p in PROFILES:
        for s in range(1, p.streets + 1):
            codes += [f"{p.code}{s:03d}{v:03d}" for v in range(1, 19)]
        for s in range(p.towns):
            t = f"{p.code}{100 + s:03d}"
            codes += [f"{t}{v:03d}" for v in (1, 2)] + [f"{t}{201 + v:03d}" for v in range(66)]
    return codes


if __name__ == "__main__":  # the committed file: python -m pipelines.generate.regions
    print(write(all_codes()))
