"""Names of people and employers, drawn from pools that look like 鲁西 records.

A person's name is stored as two indices (surname, given name) so that the
simulation handles integers only; `person_names` turns them into strings once.
A few given names use characters outside GBK (CJK Extension A/B), as real
生僻字 do: they survive UTF-8 and GB18030 but not a GBK decoder.
"""

from __future__ import annotations

import numpy as np
import polars as pl

# Most common surnames in 山东, roughly in frequency order.
SURNAMES = (
    "王 张 李 刘 陈 杨 孙 赵 高 徐 马 于 郭 宋 吴 朱 孟 田 董 闫 韩 许 魏 曹 "
    "崔 梁 冯 胡 范 周 袁 谢 程 姜 石 任 陶 邢 贾 孔 侯 薛 秦 付 丁 史 霍 申"
).split()
_SURNAME_W = np.linspace(3.0, 0.3, len(SURNAMES))
SURNAME_P = _SURNAME_W / _SURNAME_W.sum()

# Given names by sex and generation (born before 1975 / after).
MALE_OLD = (
    "建国 建军 国庆 志强 德福 保国 文明 玉林 长江 振华 卫东 红军 学军 春生 秋生 "
    "金山 宝山 树林 永胜 庆祥 广田 传友 立新 凤山 兆才 洪亮 连生 占海 富贵 来福 "
    "军 强 伟 勇 刚 明 平 林 忠 华"
).split()
FEMALE_OLD = (
    "秀英 桂兰 玉兰 凤英 秀兰 桂英 玉珍 淑珍 玉梅 素芳 翠花 春梅 秀云 桂芝 凤兰 "
    "秀珍 玉芝 兰英 淑英 金凤 爱华 红霞 秀芳 荣 霞 英 芳 兰 梅 珍"
).split()
MALE_YOUNG = (
    "浩然 子轩 宇航 浩宇 俊杰 志鹏 文博 一鸣 天宇 明轩 梓豪 家乐 思远 博文 晨阳 "
    "磊 鹏 涛 超 辉 杰 浩 帅 凯 旭 鑫 阳 龙 斌 帆"
).split()
FEMALE_YOUNG = (
    "欣怡 子涵 雨桐 梓萱 佳怡 诗涵 静怡 可馨 思琪 雨欣 梦瑶 语嫣 婉婷 晓雪 佳琪 "
    "丽 静 敏 婷 娜 燕 艳 慧 雪 倩 琳 颖 洁 悦 璐"
).split()
# 生僻字 outside GBK: 䶮 (U+4DAE), 㛃 (U+36C3), 𠀋 (U+2000B).
RARE = ("䶮", "㛃", "𠀋", "嘉䶮", "㛃然", "𠀋华")
RARE_RATE = 0.0005

GIVEN = (*MALE_OLD, *FEMALE_OLD, *MALE_YOUNG, *FEMALE_YOUNG, *RARE)
_OFFSETS = np.cumsum([0, len(MALE_OLD), len(FEMALE_OLD), len(MALE_YOUNG), len(FEMALE_YOUNG)])
_SIZES = np.array([len(MALE_OLD), len(FEMALE_OLD), len(MALE_YOUNG), len(FEMALE_YOUNG)])
_RARE_OFFSET = int(_OFFSETS[-1])


def draw_surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(len(SURNAMES), size=n, p=SURNAME_P).astype(np.int16)


def draw_given(rng: np.random.Generator, female: np.ndarray, birth_year: np.ndarray) -> np.ndarray:
    """Given-name indices fitting each person's sex and generation."""
    n = len(female)
    pool = female.astype(np.int64) + 2 * (birth_year >= 1975)
    idx = _OFFSETS[pool] + (rng.random(n) * _SIZES[pool]).astype(np.int64)
    rare = rng.random(n) < RARE_RATE
    idx[rare] = _RARE_OFFSET + rng.integers(0, len(RARE), int(rare.sum()))
    return idx.astype(np.int16)


def person_names(surname: np.ndarray, given: np.ndarray) -> pl.Series:
    s = pl.Series(SURNAMES)[surname.astype(np.int64)]
    g = pl.Series(GIVEN)[given.astype(np.int64)]
    return (s + g).alias("name")


_FIRMS = (
    "鑫源 华信 恒通 宏达 瑞丰 金泰 永昌 德润 众诚 新华 东方 润华 盛世 泰和 "
    "利民 兴业 凤凰 天元 祥和 昌盛 远大 正大 金鼎 银河 同力 建兴 福瑞 安泰"
).split()
_TRADES = (
    "轴承 钢管 纺织 食品 物流 建材 机械 商贸 家政 物业 农业科技 保安服务 "
    "汽车配件 包装 木业 化工 电子 餐饮管理 劳务 建筑工程"
).split()
_FORMS = ("有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司")


def employer_names(rng: np.random.Generator, county_names: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """n distinct employer names and the county index each one sits in."""
    names: list[str] = []
    counties: list[int] = []
    seen: set[str] = set()
    while len(names) < n:
        ci = int(rng.integers(0, len(county_names)))
        name = (county_names[ci] + _FIRMS[rng.integers(0, len(_FIRMS))]
                + _TRADES[rng.integers(0, len(_TRADES))] + _FORMS[rng.integers(0, len(_FORMS))])
        if name in seen:
            # ~2,000 combinations per county: a branch office keeps the name distinct
            name = name.replace("公司", f"公司第{len(names) % 9 + 1}分公司", 1)
            if name in seen:
                continue
        seen.add(name)
        names.append(name)
        counties.append(ci)
    return np.array(names, dtype=object), np.array(counties, dtype=np.int8)
