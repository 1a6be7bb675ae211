#!/usr/bin/env python3
"""external-b: an independent synthetic 聊城 low-income monitoring world.

    python world.py [--out DIR] [--seed S]

Simulates persons and households month by month from 2021-01 to 2025-02 (24 months of
burn-in, 24 month-end deliveries from 2023-01-31, 3 label months after the scoring date),
then writes the agencies' deliveries (landing/) following shared/contracts/sources.md,
with planted defects, and the ground truth (truth/) in the format read by
shared/tools/evaluate_world.py.  Written from the contracts only (no project code).
"""
from __future__ import annotations

import argparse
import calendar
import datetime as dt
import hashlib
import json
import math
import os
import random
import shutil
import time
from collections import defaultdict

# ----------------------------------------------------------------------------------------
# parameters
# ----------------------------------------------------------------------------------------
SEED = 18_2024_1130
START = (2021, 1)            # t = 0
N_MONTHS = 50                # 2021-01 .. 2025-02
FIRST_EXTRACT_T = 24         # 2023-01
N_EXTRACTS = 24              # 2023-01 .. 2024-12 ; the last one incomplete for mz
SCORING_T = FIRST_EXTRACT_T + N_EXTRACTS - 2   # 2024-11
LABEL_TS = [SCORING_T + 1, SCORING_T + 2, SCORING_T + 3]
N_MONITORED_INIT = 2380
N_POOL_INIT = 900            # at-risk households not (yet) monitored
POOL_REFILL_PER_MONTH = 16
N_CL_ONLY = 1250             # certificate holders outside any mz household

# county: name, urban share, industry, job-loss base (annual), review cycle, check window,
# share of households, townships (urban streets, rural towns)
COUNTIES = {
    "371502": dict(name="东昌府区", urban=0.62, ind="商贸物流", jl=0.10, cycle=("months", [3, 9]), window=6, share=0.20, streets=5, towns=4),
    "371503": dict(name="茌平区", urban=0.32, ind="铝制品", jl=0.08, cycle=("months", [4]), window=12, share=0.10, streets=2, towns=5),
    "371521": dict(name="阳谷县", urban=0.25, ind="电缆", jl=0.09, cycle=("months", [10]), window=12, share=0.12, streets=2, towns=5),
    "371522": dict(name="莘县", urban=0.18, ind="蔬菜", jl=0.07, cycle=("months", [6]), window=12, share=0.14, streets=2, towns=6),
    "371524": dict(name="东阿县", urban=0.28, ind="阿胶制品", jl=0.05, cycle=("months", [1, 7]), window=6, share=0.07, streets=2, towns=4),
    "371525": dict(name="冠县", urban=0.20, ind="纺织", jl=0.10, cycle=("rare", 1 / 30), window=12, share=0.12, streets=2, towns=5),
    "371526": dict(name="高唐县", urban=0.24, ind="造纸", jl=0.08, cycle=("months", [8]), window=6, share=0.08, streets=2, towns=4),
    "371581": dict(name="临清市", urban=0.33, ind="轴承", jl=0.12, cycle=("months", [5]), window=12, share=0.17, streets=3, towns=5),
}
# industry shocks: county -> list of (t_from, t_to, multiplier on job-loss hazard)
SHOCKS = {
    "371503": [(39, 46, 3.2)],    # 2024-04..2024-11 aluminium downturn
    "371581": [(30, 35, 1.8)],    # 2023-07..2023-12 bearing workshops
    "371526": [(44, 49, 2.4)],    # 2024-09.. paper mill restructuring
    "371525": [(36, 41, 1.6)],    # 2024-01..2024-06 textile orders
}
OLD_REGION = {"371502": "372501", "371581": "372502", "371521": "372522", "371522": "372523",
              "371503": "372524", "371524": "372525", "371525": "372526", "371526": "372527"}
NONLOCAL_REGIONS = ["410926", "410927", "130535", "371402", "370102", "371702", "130425", "371428"]
SPRING_FESTIVAL = {2021: (2, 12), 2022: (2, 1), 2023: (1, 22), 2024: (2, 10), 2025: (1, 29)}
FARM_GRAIN = [0.75, 0.7, 0.75, 0.8, 0.9, 1.5, 1.0, 0.9, 1.2, 1.5, 1.1, 0.9]
FARM_VEG = [x / 1.0 for x in [1.35, 1.3, 1.2, 1.1, 0.95, 0.8, 0.7, 0.7, 0.8, 0.9, 1.0, 1.2]]
CONTRIB_FLOOR = [(0, 3440), (6, 3595), (18, 3938), (30, 4144), (42, 4416)]   # effective t (July)
RESIDENT_PENSION = {2021: 150, 2022: 160, 2023: 172, 2024: 190, 2025: 200}
RES_TIERS = [100, 300, 300, 300, 500, 500, 1000, 1500]

CAT_DB, CAT_TK, CAT_BY, CAT_GX, CAT_QT = "低保", "特困", "低保边缘", "刚性支出困难", "其他低收入"
SCORED_CATS = {CAT_BY, CAT_GX, CAT_QT}


# ----------------------------------------------------------------------------------------
# calendar helpers
# ----------------------------------------------------------------------------------------
def ym(t):
    y, m = START[0] + (START[1] - 1 + t) // 12, (START[1] - 1 + t) % 12 + 1
    return y, m


def month_end(t):
    y, m = ym(t)
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def month_day(t, rng):
    y, m = ym(t)
    return dt.date(y, m, rng.randint(1, calendar.monthrange(y, m)[1]))


def dibao_std(t, urban):
    y, _ = ym(t)
    if y >= 2024:
        return 931.0 if urban else 753.0
    return 890.0 if urban else 720.0


def tekun_std(t, urban):
    y, _ = ym(t)
    if y >= 2024:
        return 1242.0 if urban else 979.0
    return 1190.0 if urban else 940.0


def contrib_floor(t):
    v = CONTRIB_FLOOR[0][1]
    for t0, f in CONTRIB_FLOOR:
        if t >= t0:
            v = f
    return v


def informal_factor(t):
    """share of a full month an informal / migrant worker is paid for."""
    y, m = ym(t)
    sm, sd = SPRING_FESTIVAL[y]
    if m == sm:
        return 0.80 if sd >= 15 or sm == 1 else 0.84
    if m == sm - 1:
        return 0.90
    if sm == 1 and m == 2:
        return 0.86
    if sm == 2 and m == 3:
        return 0.90
    if m == 12:
        return 0.90
    if m in (7, 8):
        return 0.92
    return 1.0


def age_at(birth, d):
    return d.year - birth.year - ((d.month, d.day) < (birth.month, birth.day))


# ----------------------------------------------------------------------------------------
# identity
# ----------------------------------------------------------------------------------------
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHK = "10X98765432"


def check_char(s17):
    return CHK[sum(int(c) * w for c, w in zip(s17, W)) % 11]


SURN = list("王李张刘陈杨赵孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛闫段雷侯史陶贺顾毛郝龚邵万钱严武戴孔汤")
MCH = list("建国强志立新春生保文华海涛军伟明刚勇峰磊鹏飞军庆福贵成广民学东宝树祥德利")
FCH = list("秀英兰芳丽娟霞玉梅红艳敏静燕萍桂珍凤琴云花翠莲慧婷雪洁丹")


class Ctx:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.used_ids = set()

    def new_id(self, region, birth, male):
        rng = self.rng
        for _ in range(1000):
            seq = rng.randint(0, 499) * 2 + (1 if male else 0)
            s17 = f"{region}{birth:%Y%m%d}{seq:03d}"
            s = s17 + check_char(s17)
            if s not in self.used_ids:
                self.used_ids.add(s)
                return s
        raise RuntimeError("id space")

    def name(self, male):
        r = self.rng
        g = MCH if male else FCH
        return r.choice(SURN) + "".join(r.choice(g) for _ in range(r.choice([1, 2, 2])))


# ----------------------------------------------------------------------------------------
# model objects
# ----------------------------------------------------------------------------------------
class Person:
    __slots__ = ("pid", "id", "name", "male", "birth", "hh", "alive", "death_t", "health", "capacity",
                 "econ", "wage", "employer", "ui_insured", "formal_months", "base", "wage_hist",
                 "unemp_open", "ui_left", "pension_ent", "res_contrib", "dis", "cert", "student_plan",
                 "rec_health", "rec_capacity", "ill_until", "informal_on", "caregiver", "emp_reg_open",
                 "region", "seen_t", "flex_reg")

    def __init__(self, pid):
        self.pid = pid
        self.hh = None
        self.alive = True
        self.death_t = None
        self.health = "健康"
        self.capacity = "有劳动能力"
        self.econ = "none"
        self.wage = 0.0
        self.employer = ""
        self.ui_insured = False
        self.formal_months = 0
        self.base = 0.0
        self.wage_hist = {}
        self.unemp_open = False
        self.ui_left = 0
        self.pension_ent = 0.0
        self.res_contrib = False
        self.dis = None        # (dtype 1..7, grade 1..4, onset_t)
        self.cert = None       # dict
        self.student_plan = False
        self.rec_health = None
        self.rec_capacity = None
        self.ill_until = None
        self.informal_on = True
        self.caregiver = False
        self.emp_reg_open = False
        self.seen_t = None
        self.flex_reg = False


class Household:
    __slots__ = ("hid", "county", "town", "village", "urban", "members", "mz_members", "status", "category",
                 "exit_t", "checked_pc", "check_date", "benefit", "grant_date", "farm_annual", "veg",
                 "transfer", "transfer_on", "report_f", "non_local", "head", "income", "size", "pending",
                 "next_check", "monitored", "applied_t", "tk_eligible", "out_of_region", "rel", "moved_away",
                 "last_check_t", "never_checked", "size_override")

    def __init__(self, hid):
        self.hid = hid
        self.members = []
        self.mz_members = []
        self.status = None
        self.category = None
        self.exit_t = None
        self.checked_pc = None
        self.check_date = None
        self.benefit = 0.0
        self.grant_date = None
        self.farm_annual = 0.0
        self.veg = False
        self.transfer = 0.0
        self.transfer_on = True
        self.report_f = 0.8
        self.non_local = False
        self.head = None
        self.income = {}
        self.size = {}
        self.pending = []       # (apply_t, action, pid)
        self.next_check = None
        self.monitored = False
        self.applied_t = None
        self.out_of_region = False
        self.rel = {}           # pid -> relation to head
        self.moved_away = False
        self.last_check_t = None
        self.never_checked = False
        self.size_override = None


# ----------------------------------------------------------------------------------------
# the world
# ----------------------------------------------------------------------------------------
class World:
    def __init__(self, seed):
        self.c = Ctx(seed)
        self.rng = self.c.rng
        self.persons = []
        self.hhs = []
        self.hh_by_id = {}
        self.next_hid = defaultdict(int)
        self.events = []          # rs events: dict(pid, kind, date, employer, t)
        self.contribs = []        # dict(pid, t(month paid), kind, base, employer, rec_t)
        self.snap_mz = {}         # t -> list of (household row dict, [member row dicts])
        self.snap_cl = {}         # t -> list of cert dicts
        self.hh_log = defaultdict(list)
        self.towns = {}
        for cc, c in COUNTIES.items():
            st = [f"{cc}{i:03d}" for i in range(1, c["streets"] + 1)]
            tw = [f"{cc}{100 + i:03d}" for i in range(1, c["towns"] + 1)]
            self.towns[cc] = (st, tw)
        self.employers = {}
        for cc, c in COUNTIES.items():
            mids = ["鑫源", "恒通", "宏达", "金泰", "润丰", "华信", "永盛", "瑞康", "兴隆", "东岳", "聚成", "天元"]
            short = c["name"][:-1] if len(c["name"]) > 2 else c["name"]
            inds = [c["ind"], c["ind"], "建材", "食品", "物流", "商贸", "物业服务"]
            self.employers[cc] = [f"聊城市{short}{self.rng.choice(mids)}{self.rng.choice(inds)}有限公司" for _ in range(14)]

    # -- construction --------------------------------------------------------------------
    def person(self, region_cc, birth, male, non_local=False):
        p = Person(len(self.persons))
        p.male = male
        p.birth = birth
        if non_local:
            region = self.rng.choice(NONLOCAL_REGIONS)
        elif birth.year < 2019 and region_cc == "371503" and self.rng.random() < 0.85:
            region = "371523"
        elif birth.year < 1997 and self.rng.random() < 0.45:
            region = OLD_REGION[region_cc]
        else:
            region = region_cc
        p.region = region
        p.id = self.c.new_id(region, birth, male)
        p.name = self.c.name(male)
        self.persons.append(p)
        return p

    def rand_birth(self, age_lo, age_hi, ref=dt.date(2021, 1, 1)):
        a = self.rng.uniform(age_lo, age_hi)
        d = ref - dt.timedelta(days=int(a * 365.25))
        return d

    def new_household(self, county, kind=None, monitored=False, t=0, ref=dt.date(2021, 1, 1)):
        r = self.rng
        c = COUNTIES[county]
        urban = r.random() < c["urban"]
        self.next_hid[county] += 1
        hid = f"{county}{r.randint(1, 9)}{self.next_hid[county]:06d}"
        h = Household(hid)
        h.county = county
        st, tw = self.towns[county]
        h.town = r.choice(st) if urban else r.choice(tw)
        h.village = h.town + (f"{r.randint(1, 18):03d}" if urban else f"{r.randint(200, 236):03d}")
        h.urban = urban
        h.non_local = r.random() < 0.045
        h.out_of_region = False
        kind = kind or r.choices(
            ["old1", "old2", "family", "single_parent", "disabled", "threegen", "adult1"],
            [0.20, 0.13, 0.30, 0.09, 0.12, 0.09, 0.07])[0]
        mem = []

        def add(age_lo, age_hi, male, rel, nl=False):
            p = self.person(county, self.rand_birth(age_lo, age_hi, ref), male, nl)
            mem.append((p, rel))
            return p

        nl = h.non_local
        if kind == "old1":
            add(62, 90, r.random() < 0.4, "本人", nl)
        elif kind == "old2":
            add(62, 86, True, "本人", nl)
            add(60, 84, False, "配偶", nl)
        elif kind == "adult1":
            add(30, 59, r.random() < 0.6, "本人", nl)
        elif kind in ("family", "single_parent", "disabled", "threegen"):
            hm = r.random() < 0.75
            ha = r.uniform(26, 56)
            add(ha - 0.5, ha + 0.5, hm, "本人", nl)
            if kind != "single_parent":
                add(ha - 4, ha + 2, not hm, "配偶", nl and r.random() < 0.7)
            nk = r.choices([1, 2, 3], [0.45, 0.42, 0.13])[0]
            for _ in range(nk):
                ka = r.uniform(0.5, min(ha - 20, 24))
                add(ka - 0.1, ka + 0.1, r.random() < 0.52, "子女")
            if kind == "threegen":
                add(ha + 24, ha + 32, r.random() < 0.4, "父母", nl)
        for p, rel in mem:
            p.hh = h
            h.members.append(p.pid)
            h.rel[p.pid] = rel
        h.head = mem[0][0].pid
        # economics
        for p, rel in mem:
            self.init_econ(p, h, ref, kind)
        if not urban:
            mu = r.uniform(1.5, 7) if kind not in ("old1",) else r.uniform(0, 3)
            h.veg = county in ("371522", "371525") and r.random() < 0.45
            h.farm_annual = mu * (r.uniform(700, 1100) if not h.veg else r.uniform(1800, 3200))
        if kind in ("old1", "old2", "disabled") or r.random() < 0.35:
            h.transfer = r.choice([0, 100, 200, 300, 400, 600, 800]) * (1 if kind in ("old1", "old2") else 0.6)
        h.report_f = r.uniform(0.72, 0.97)
        h.monitored = monitored
        self.hhs.append(h)
        self.hh_by_id[hid] = h
        return h

    def init_econ(self, p, h, ref, kind):
        r = self.rng
        a = age_at(p.birth, ref)
        if a >= 6 and a < 18:
            p.student_plan = True
        elif 18 <= a <= 22 and r.random() < 0.35:
            p.student_plan = True
        # health
        if a >= 50:
            p.health = r.choices(["健康", "慢性病", "重病"], [0.55, 0.38, 0.07])[0]
        elif a >= 18:
            p.health = r.choices(["健康", "慢性病", "重病"], [0.80, 0.16, 0.04])[0]
        if kind == "disabled" and p.pid == h.head and r.random() < 0.6 or (kind == "disabled" and h.rel.get(p.pid) == "子女" and r.random() < 0.25):
            self.make_disabled(p, -r.randint(6, 200), severe_bias=True, cert_now=True)
        elif r.random() < (0.05 if a < 60 else 0.10):
            self.make_disabled(p, -r.randint(6, 200), cert_now=True)
        self.set_capacity(p, a)
        if p.capacity == "完全丧失" or p.student_plan or a < 16:
            p.econ = "none"
        elif a >= 60 or (not p.male and a >= 55):
            p.econ = "farm" if not h.urban and a < 72 else "none"
            if h.urban and r.random() < 0.22:
                p.pension_ent = r.uniform(1700, 2900)
        else:
            w = r.random()
            cap = 0.55 if p.capacity == "部分丧失" else 1.0
            pf = (0.34 if h.urban else 0.20) * cap
            pi = 0.40 * cap
            if w < pf:
                self.hire(p, h.county, None, initial=True)
            elif w < pf + pi:
                p.econ = "informal"
                p.wage = r.uniform(1800, 4200) * (0.7 if p.capacity == "部分丧失" else 1.0)
                p.informal_on = r.random() < 0.8
                p.flex_reg = r.random() < 0.08
            else:
                p.econ = "farm" if not h.urban else "none"
            if p.econ != "formal" and r.random() < 0.55:
                p.res_contrib = True
        p.rec_health = p.health
        p.rec_capacity = p.capacity

    def set_capacity(self, p, a):
        if p.dis and p.dis[1] <= 2 or p.health == "重病":
            p.capacity = "完全丧失" if (p.dis and p.dis[1] == 1) or p.health == "重病" and self.rng.random() < 0.6 else "部分丧失"
        elif p.dis or p.health == "慢性病" and a >= 50 and self.rng.random() < 0.4:
            p.capacity = "部分丧失"
        elif a >= 75:
            p.capacity = "完全丧失"
        elif a >= 65 or a < 16:
            p.capacity = "部分丧失" if a >= 65 else "完全丧失"
        else:
            p.capacity = "有劳动能力"

    def make_disabled(self, p, onset_t, severe_bias=False, cert_now=False):
        r = self.rng
        dtype = r.choices([1, 2, 3, 4, 5, 6, 7], [0.10, 0.14, 0.02, 0.44, 0.10, 0.10, 0.10])[0]
        grade = r.choices([1, 2, 3, 4], [0.22, 0.30, 0.26, 0.22] if severe_bias else [0.11, 0.22, 0.30, 0.37])[0]
        p.dis = (dtype, grade, onset_t)
        p.health = "残疾"
        if cert_now:
            self.issue_cert(p, onset_t + r.randint(1, 8))
        else:
            p.cert = {"pending_t": onset_t + r.randint(2, 10)}

    def issue_cert(self, p, t):
        r = self.rng
        d = month_day(t, r) if t >= 0 else dt.date(2021, 1, 1) - dt.timedelta(days=r.randint(30, 3000))
        dtype, grade, _ = p.dis
        p.cert = {"issue": d, "dtype": dtype, "grade": grade, "status": "有效", "t": t,
                  "life": False, "care": grade <= 2 and r.random() < 0.85, "mismatch": None,
                  "cancel_t": None}

    def hire(self, p, county, t, initial=False):
        r = self.rng
        p.econ = "formal"
        age_f = 1.0 if age_at(p.birth, dt.date(2021, 1, 1)) < 50 else 0.9
        p.wage = max(1900.0, r.lognormvariate(math.log(3300), 0.22) * age_f)
        p.employer = r.choice(self.employers[county])
        p.ui_insured = r.random() < 0.85
        p.emp_reg_open = True
        if initial:
            p.formal_months = r.randint(6, 150)
            d = dt.date(2021, 1, 1) - dt.timedelta(days=30 * min(p.formal_months, 120) + r.randint(0, 25))
            self.events.append(dict(pid=p.pid, kind="就业登记", date=d, employer=p.employer, t=-1))
        else:
            p.formal_months = 0
            if r.random() < 0.9:
                self.events.append(dict(pid=p.pid, kind="就业登记", date=month_day(t, r), employer=p.employer, t=t))
            else:
                p.emp_reg_open = False     # employer never registered
            if p.unemp_open and r.random() < 0.7:
                self.events.append(dict(pid=p.pid, kind="失业登记注销", date=month_day(t, r), employer="", t=t))
            p.unemp_open = False
            p.ui_left = 0
        p.base = max(contrib_floor(t if t is not None else 0), p.wage * r.uniform(0.85, 1.0))

    def separate(self, p, t, reason):
        r = self.rng
        emp = p.employer
        p.econ = "none"
        p.wage = 0.0
        p.employer = ""
        if p.emp_reg_open and r.random() < 0.78:
            self.events.append(dict(pid=p.pid, kind="就业登记注销", date=month_day(t, r), employer=emp, t=t))
            p.emp_reg_open = False
        if reason == "jobloss":
            a = age_at(p.birth, month_end(t))
            if r.random() < (0.30 if a < 45 else 0.45):
                tt = t + r.choice([0, 0, 1, 2])
                self.events.append(dict(pid=p.pid, kind="失业登记", date=month_day(min(tt, N_MONTHS - 1), r), employer="", t=tt))
                p.unemp_open = True
                if p.ui_insured and p.formal_months >= 12:
                    p.ui_left = min(24, max(6, p.formal_months // 6))
        h = p.hh
        if h is not None and h.monitored:
            self.maybe_report(h, t, 0.28)

    # -- population ----------------------------------------------------------------------
    def expected_pc(self, h, t=0):
        """a rough annual-average per-capita income, for selecting monitored households."""
        inc = 0.0
        for pid in h.members:
            p = self.persons[pid]
            if p.econ == "formal":
                inc += p.wage
            elif p.econ == "informal" and p.informal_on:
                inc += p.wage * 0.85
            inc += p.pension_ent
            if age_at(p.birth, dt.date(2021, 1, 1)) >= 60 and p.pension_ent == 0:
                inc += 175
        inc += h.farm_annual / 12 + h.transfer
        return inc / max(1, len(h.members))

    def build(self):
        r = self.rng
        counties = list(COUNTIES)
        shares = [COUNTIES[c]["share"] for c in counties]
        # target distribution of the ratio expected-pc / standard for the monitored stock
        bins = [(0.0, 0.6, 0.11), (0.6, 1.0, 0.22), (1.0, 1.3, 0.22), (1.3, 1.7, 0.24), (1.7, 2.2, 0.16), (2.2, 1e9, 0.05)]
        quota = {b: int(N_MONITORED_INIT * b[2]) for b in bins}
        made = 0
        tries = 0
        while made < N_MONITORED_INIT and tries < 60000:
            tries += 1
            cc = r.choices(counties, shares)[0]
            n0 = len(self.persons)
            h = self.new_household(cc, monitored=True)
            ratio = self.expected_pc(h) / dibao_std(0, h.urban)
            b = next(b for b in bins if b[0] <= ratio < b[1])
            if quota[b] > 0:
                quota[b] -= 1
                made += 1
                self.init_monitoring(h)
            else:
                self.drop_household(h, n0)
        # a few monitored households live outside 聊城 (异地居住): residence code outside 3715
        for h in r.sample([h for h in self.hhs if h.monitored], 6):
            h.village = r.choice(["370102", "371402", "410926"]) + f"{r.randint(1, 9):03d}{r.randint(1, 20):03d}"
            h.out_of_region = True
        for _ in range(N_POOL_INIT):
            self.new_pool_household()
        self.hh_built = len(self.hhs)
        # certificate holders outside the monitored population
        for _ in range(N_CL_ONLY):
            cc = r.choices(counties, shares)[0]
            p = self.person(cc, self.rand_birth(*r.choice([(5, 18), (18, 45), (45, 60), (60, 88), (60, 88)])), r.random() < 0.55)
            st, tw = self.towns[cc]
            town = r.choice(st + tw)
            p.hh = None
            p.caregiver = town + (f"{r.randint(1, 18):03d}" if town[-3] == "0" else f"{r.randint(200, 236):03d}")
            self.make_disabled(p, -r.randint(6, 240), cert_now=True)
            a = age_at(p.birth, dt.date(2021, 1, 1))
            self.set_capacity(p, a)
            if 18 <= a < 58 and p.capacity != "完全丧失":
                w = r.random()
                if w < 0.18:
                    self.hire(p, cc, None, initial=True)
                elif w < 0.26:
                    p.econ = "informal"
                    p.wage = r.uniform(1500, 3000)
                    p.flex_reg = True
                    self.events.append(dict(pid=p.pid, kind="就业登记", date=dt.date(2021, 1, 1) - dt.timedelta(days=r.randint(30, 900)),
                                            employer="个体经营", t=-1))
                    p.emp_reg_open = True
                if p.econ != "formal" and r.random() < 0.5:
                    p.res_contrib = True
        self.cl_only = [p for p in self.persons if p.hh is None]

    def drop_household(self, h, n0):
        for p in self.persons[n0:]:
            self.c.used_ids.discard(p.id)
        del self.persons[n0:]
        self.events = [e for e in self.events if e["pid"] < n0]
        self.hhs.pop()
        del self.hh_by_id[h.hid]
        self.next_hid[h.county] -= 1

    def new_pool_household(self, t=0):
        r = self.rng
        cc = r.choices(list(COUNTIES), [COUNTIES[c]["share"] for c in COUNTIES])[0]
        ref = month_end(max(t, 0)) if t > 0 else dt.date(2021, 1, 1)
        h = self.new_household(cc, monitored=False, ref=ref)
        # pool households are near the margin: trim formal jobs a little
        return h

    def init_monitoring(self, h):
        r = self.rng
        h.monitored = True
        h.status = "在册"
        pc = self.expected_pc(h) * r.uniform(0.75, 1.05)
        c = pc / dibao_std(0, h.urban)
        h.tk_eligible = self.tk_eligible(h, 0)
        h.category = self.classify(h, c, None, 0)
        if h.category is None:
            h.category = CAT_QT
        back = r.randint(1, 30)
        h.check_date = dt.date(2021, 1, 1) - dt.timedelta(days=back * 30 + r.randint(0, 25))
        h.checked_pc = round(pc, 2)
        h.last_check_t = -back
        h.grant_date = h.check_date + dt.timedelta(days=r.randint(5, 40)) - dt.timedelta(days=r.choice([0, 0, 0, 365, 730, 1500]))
        if h.grant_date > dt.date(2021, 1, 1):
            h.grant_date = dt.date(2020, 12, r.randint(1, 28))
        h.mz_members = list(h.members)
        if h.category == CAT_QT and r.random() < 0.12:
            h.never_checked = True
            h.checked_pc = None
            h.check_date = None
        self.set_benefit(h, 0)

    def tk_eligible(self, h, t):
        d = month_end(max(t, 0))
        alive = [self.persons[pid] for pid in h.members if self.persons[pid].alive]
        if not alive or len(alive) > 2:
            return False
        return all(age_at(p.birth, d) >= 60 or p.capacity == "完全丧失" for p in alive) and \
            all(p.econ in ("none", "farm") for p in alive) and h.transfer <= 300

    def classify(self, h, c, prev, t):
        r = self.rng
        tk_ratio = tekun_std(t, h.urban) / dibao_std(t, h.urban)
        if self.tk_eligible(h, t) and c < tk_ratio and (prev in (None, CAT_TK) or r.random() < 0.3):
            return CAT_TK
        if c < 1.0:
            return CAT_DB
        heavy = any(self.persons[pid].rec_health in ("重病",) or (self.persons[pid].dis and self.persons[pid].dis[1] <= 2)
                    for pid in h.members if self.persons[pid].alive)
        if c < 1.5:
            if heavy and r.random() < 0.35:
                return CAT_GX
            return CAT_BY
        if c < 2.2 and heavy:
            return CAT_GX
        if c < 2.0:
            return CAT_QT
        return None

    def set_benefit(self, h, t):
        size = len([pid for pid in h.mz_members])
        if h.category == CAT_DB:
            gap = dibao_std(t, h.urban) - (h.checked_pc or 0)
            h.benefit = round(max(60.0, gap) * size, 0)
        elif h.category == CAT_TK:
            h.benefit = tekun_std(t, h.urban) * size
        else:
            h.benefit = 0.0

    # -- monthly dynamics ------------------------------------------------------------------
    def maybe_report(self, h, t, p):
        if h.monitored and h.status == "在册" and self.rng.random() < p:
            nt = t + self.rng.randint(1, 3)
            if h.next_check is None or nt < h.next_check:
                h.next_check = nt

    def jobloss_hazard(self, p, cc, t):
        a = age_at(p.birth, month_end(t))
        base = COUNTIES[cc]["jl"] * 0.7
        for t0, t1, m in SHOCKS.get(cc, []):
            if t0 <= t <= t1:
                base *= m
        af = 0.7 if a < 35 else 1.0 if a < 45 else 1.3 if a < 52 else 1.8
        return 1 - (1 - base * af) ** (1 / 12)

    def step(self, t):
        r = self.rng
        d_end = month_end(t)
        y, m = ym(t)
        for p in self.persons:
            if not p.alive:
                continue
            a = age_at(p.birth, d_end)
            h = p.hh
            cc = h.county if h is not None else p.caregiver[:6]
            # death
            qa = 0.002 if a < 50 else 0.008 if a < 60 else 0.016 if a < 70 else 0.042 if a < 80 else 0.11
            if p.health == "重病":
                qa += 0.10
            if r.random() < 1 - (1 - qa) ** (1 / 12):
                self.die(p, t)
                continue
            # certificates pending
            if p.cert and "pending_t" in p.cert and p.cert["pending_t"] <= t:
                self.issue_cert(p, t)
            if p.cert and "issue" in p.cert and p.cert["status"] == "有效" and r.random() < 0.0012:
                # re-assessment: grade worsens
                if p.cert["grade"] > 1:
                    p.cert["grade"] -= 1
                    p.dis = (p.dis[0], p.cert["grade"], p.dis[2])
                    p.cert["issue"] = month_day(t, r)
            # illness / disability onset
            if p.health in ("健康", "慢性病") and a >= 18:
                qi = 0.008 if a < 45 else 0.018 if a < 60 else 0.035
                if r.random() < qi / 12:
                    p.health = "重病"
                    p.ill_until = t + r.randint(5, 20) if r.random() < 0.55 else None
                    self.on_incapacity(p, t)
                elif p.health == "健康" and r.random() < (0.02 if a < 50 else 0.05) / 12:
                    p.health = "慢性病"
            elif p.health == "重病" and p.ill_until is not None and t >= p.ill_until:
                p.health = "慢性病"
                p.ill_until = None
                self.set_capacity(p, a)
            if p.dis is None and r.random() < (0.004 if a < 60 else 0.012) / 12:
                self.make_disabled(p, t)
                self.set_capacity(p, a)
                if p.capacity != "有劳动能力":
                    self.on_incapacity(p, t)
            # schooling
            if p.student_plan and a >= 18 and (a >= 22 or r.random() < 0.08):
                p.student_plan = False
                if p.capacity != "完全丧失":
                    if r.random() < 0.45:
                        self.hire(p, cc, t)
                    else:
                        p.econ = "informal"
                        p.wage = r.uniform(2200, 3800)
                        p.informal_on = True
            if not p.student_plan and 6 <= a < 16 and p.econ == "none":
                p.student_plan = True
            # retirement
            if p.econ == "formal" and (a >= 60 or (not p.male and a >= 50 and r.random() < 0.08)):
                self.separate(p, t, "retire")
                p.pension_ent = 0.45 * p.base + r.uniform(600, 1000) if r.random() < 0.7 else 0.0
                continue
            # labour market
            if p.econ == "formal":
                p.formal_months += 1
                p.wage_hist[y] = p.wage_hist.get(y, 0) + p.wage
                if r.random() < self.jobloss_hazard(p, cc, t):
                    self.separate(p, t, "jobloss")
                elif r.random() < 0.004:
                    self.separate(p, t, "quit")
                    p.econ = "informal"
                    p.wage = r.uniform(2200, 4200)
                    p.informal_on = True
            elif p.econ == "informal":
                if p.informal_on and r.random() < 0.008:
                    p.informal_on = False
                elif not p.informal_on and r.random() < 0.2:
                    p.informal_on = True
                if r.random() < 0.006 and 18 <= a < 55 and p.capacity == "有劳动能力":
                    self.hire(p, cc, t)
            elif p.econ in ("none", "farm") and 18 <= a < 58 and p.capacity != "完全丧失" and not p.student_plan:
                rh = 0.06 if a < 40 else 0.04 if a < 50 else 0.02
                if p.capacity == "部分丧失":
                    rh *= 0.4
                if p.unemp_open or p.pid in self.recent_losers:
                    if r.random() < rh:
                        self.hire(p, cc, t)
                    elif r.random() < 0.05:
                        p.econ = "informal"
                        p.wage = r.uniform(1800, 3600)
                        p.informal_on = True
                elif r.random() < 0.002:
                    self.hire(p, cc, t)
            if p.unemp_open and r.random() < 1 / 30:
                self.events.append(dict(pid=p.pid, kind="失业登记注销", date=month_day(t, r), employer="", t=t))
                p.unemp_open = False
            # contributions
            if p.econ == "formal":
                if m == 7:
                    prev = p.wage_hist.get(y - 1)
                    p.base = max(contrib_floor(t), (prev / 12) if prev else p.wage)
                base = max(p.base, contrib_floor(t))
                self.contribs.append(dict(pid=p.pid, t=t, kind="企业职工基本养老保险", base=round(base, 2), employer=p.employer))
                if p.ui_insured:
                    self.contribs.append(dict(pid=p.pid, t=t, kind="失业保险", base=round(base, 2), employer=p.employer))
            elif p.res_contrib and 16 <= a < 60 and m == (p.pid % 6) + 1:
                self.contribs.append(dict(pid=p.pid, t=t, kind="城乡居民基本养老保险", base=r.choice(RES_TIERS), employer=""))
        self.recent_losers = {p.pid for p in self.persons if p.alive and p.econ == "none" and p.wage_hist and p.unemp_open is not None}
        # births, leaving home, moves and merges
        for h in list(self.hhs):
            alive = [self.persons[pid] for pid in h.members if self.persons[pid].alive]
            if not alive or h.moved_away:
                continue
            wives = [p for p in alive if not p.male and 20 <= age_at(p.birth, d_end) <= 40 and h.rel[p.pid] in ("本人", "配偶")]
            if wives and any(p.male and h.rel[p.pid] in ("本人", "配偶") for p in alive) and r.random() < 0.055 / 12:
                kid = self.person(h.county, d_end - dt.timedelta(days=r.randint(0, 27)), r.random() < 0.52)
                kid.hh = h
                kid.capacity = "完全丧失"
                kid.rec_capacity = kid.capacity
                kid.rec_health = "健康"
                h.members.append(kid.pid)
                h.rel[kid.pid] = "子女" if h.rel[wives[0].pid] in ("本人", "配偶") else "孙子女"
                mother = wives[0]
                if mother.econ == "formal" and r.random() < 0.3:
                    self.separate(mother, t, "quit")
                elif mother.econ == "informal":
                    mother.informal_on = False
                if h.monitored:
                    h.pending.append((t + r.randint(2, 8), "add", kid.pid))
                    self.maybe_report(h, t, 0.25)
            for p in alive:
                a = age_at(p.birth, d_end)
                if h.rel[p.pid] == "子女" and 22 <= a <= 32 and len(alive) > 2 and r.random() < 0.035 / 12:
                    self.leave(p, h, t)
            if h.monitored and h.status == "在册" and r.random() < 0.006 / 12 * 12 / 12:
                pass
            if r.random() < 0.005 / 12 and h.monitored:
                h.moved_away = True
                h.pending.append((t + r.randint(1, 4), "exit_moved", None))
            elif h.monitored and h.status == "在册" and all(age_at(p.birth, d_end) >= 65 for p in alive) \
                    and len(alive) <= 2 and r.random() < 0.016 / 12:
                self.merge(h, t)
        # pool refill and applications
        for _ in range(POOL_REFILL_PER_MONTH if t > 0 else 0):
            self.new_pool_household(t)

    recent_losers = set()

    def on_incapacity(self, p, t):
        r = self.rng
        if p.econ == "formal":
            self.separate(p, t, "illness")
        elif p.econ == "informal":
            p.informal_on = False
            p.econ = "none"
        h = p.hh
        if h is None:
            return
        if r.random() < 0.4:
            cg = [self.persons[q] for q in h.members if q != p.pid and self.persons[q].alive and
                  self.persons[q].econ in ("informal", "formal") and h.rel[q] in ("本人", "配偶")]
            if cg:
                c = cg[0]
                if c.econ == "informal":
                    c.wage *= 0.75
                elif r.random() < 0.4:
                    self.separate(c, t, "quit")
        self.maybe_report(h, t, 0.35)

    def die(self, p, t):
        r = self.rng
        p.alive = False
        p.death_t = t
        if p.econ == "formal":
            self.separate(p, t, "death")
        if p.cert and "issue" in p.cert and p.cert["status"] == "有效":
            p.cert["cancel_t"] = t + r.randint(2, 14)
        h = p.hh
        if h is not None and h.monitored:
            h.pending.append((t + r.choices([1, 2, 3, 4, 6, 9], [0.25, 0.25, 0.2, 0.15, 0.1, 0.05])[0], "remove", p.pid))
            self.maybe_report(h, t, 0.2)
        if h is not None and h.transfer and r.random() < 0.3:
            h.transfer *= 0.5

    def leave(self, p, h, t):
        r = self.rng
        h.members.remove(p.pid)
        p.hh = None
        p.caregiver = h.village
        p.alive = True
        if h.monitored:
            h.pending.append((t + r.randint(1, 8), "remove", p.pid))

    def merge(self, h, t):
        r = self.rng
        targets = [g for g in self.hhs if g is not h and g.monitored and g.status == "在册" and g.town == h.town
                   and not g.moved_away and len(g.members) >= 2 and len(g.members) <= 5]
        if not targets:
            return
        g = r.choice(targets)
        for pid in list(h.members):
            p = self.persons[pid]
            if not p.alive:
                continue
            h.members.remove(pid)
            g.members.append(pid)
            g.rel[pid] = "父母"
            p.hh = g
            g.pending.append((t + r.randint(1, 5), "add", pid))
        h.moved_away = True
        h.pending.append((t + r.randint(1, 3), "exit_merged", None))
        self.hh_log[h.hid].append((t, "merged_into", g.hid))

    # -- income -------------------------------------------------------------------------
    def household_income(self, h, t):
        y, m = ym(t)
        d_end = month_end(t)
        inf = informal_factor(t)
        inc = 0.0
        n = 0
        for pid in h.members:
            p = self.persons[pid]
            if not p.alive:
                continue
            n += 1
            if p.econ == "formal":
                inc += p.wage
            elif p.econ == "informal" and p.informal_on:
                inc += p.wage * inf * (0.85 if h.urban else 1.0)
            if p.ui_left > 0 and p.unemp_open:
                inc += 1450.0
            a = age_at(p.birth, d_end)
            if p.pension_ent:
                inc += p.pension_ent
            elif a >= 60:
                inc += RESIDENT_PENSION[y] + 25
        if n:
            w = (FARM_VEG if h.veg else FARM_GRAIN)[m - 1]
            shock = 0.55 if (y == 2023 and m == 6 and not h.veg) else 1.0
            alive_workers = sum(1 for pid in h.members if self.persons[pid].alive and self.persons[pid].capacity != "完全丧失"
                                and age_at(self.persons[pid].birth, d_end) >= 16)
            farm = h.farm_annual / 12 * w * shock * (1.0 if alive_workers else 0.35)
            inc += farm
            if h.transfer_on:
                inc += h.transfer
        return inc, n

    def update_labour_ui(self):
        for p in self.persons:
            if p.ui_left > 0 and p.unemp_open:
                p.ui_left -= 1

    # -- mz registry --------------------------------------------------------------------
    def do_check(self, h, t, reason):
        r = self.rng
        # sync registry with reality (the check visits the household)
        for (at, act, pid) in list(h.pending):
            self.apply_pending(h, at, act, pid, t)
        h.pending = [x for x in h.pending if x[1].startswith(("exit", "recat"))]
        if h.moved_away:
            return
        for pid in h.mz_members:
            p = self.persons[pid]
            p.rec_health = p.health
            p.rec_capacity = p.capacity
        win = {"report": 3, "apply": 6, "reapply": 6}.get(reason, COUNTIES[h.county]["window"])
        months = [tt for tt in range(max(0, t - win), t) if tt in h.income]
        if not months:
            months = [t]
        tot = 0.0
        for tt in months:
            inc = self.reported_income(h, tt)
            tot += inc
        size = max(1, len(h.mz_members))
        pc = tot / len(months) / size * math.exp(r.gauss(0, 0.035))
        h.checked_pc = round(pc, 2)
        h.check_date = month_day(t, r)
        h.last_check_t = t
        h.never_checked = False
        c = pc / dibao_std(t, h.urban)
        prev = h.category if h.status == "在册" else None
        cat = self.classify(h, c, prev, t)
        if prev == CAT_DB and cat is None and c < 2.0:
            cat = CAT_BY
        if cat is None:
            if h.status == "在册":
                h.status = "退出"
                h.exit_t = t
                h.benefit = 0.0
            return
        if prev in SCORED_CATS and cat in (CAT_DB, CAT_TK) and h.status == "在册":
            # approval (审批) of the new category takes one or two months
            h.pending.append((t + r.choice([1, 1, 2]), "recat:" + cat, None))
            self.hh_log[h.hid].append((t, "check:" + reason, round(c, 3)))
            return
        if cat != prev or h.status != "在册":
            h.category = cat
            gd = h.check_date + dt.timedelta(days=r.randint(3, 20))
            h.grant_date = min(gd, month_end(t))
            h.status = "在册"
            h.exit_t = None
        self.set_benefit(h, t)
        self.hh_log[h.hid].append((t, "check:" + reason, round(c, 3)))

    def reported_income(self, h, tt):
        """what the income check sees for month tt: formal and pensions in full, informal
        income under-declared, farm income from per-mu norms (no seasonality), transfers half."""
        snap = self.econ_hist.get((h.hid, tt))
        if snap is None:
            return h.income.get(tt, 0.0)
        formal, informal, pens, farm, transfer = snap
        return formal + informal * h.report_f + pens + h.farm_annual / 12 * (1 if farm > 0 else 0.35) + transfer * 0.8

    def apply_pending(self, h, at, act, pid, t):
        if act == "add" and pid not in h.mz_members:
            h.mz_members.append(pid)
        elif act == "remove" and pid in h.mz_members:
            if len(h.mz_members) == 1:
                if h.status == "在册":
                    h.status = "退出"
                    h.exit_t = t
                    h.benefit = 0.0
            else:
                h.mz_members.remove(pid)

    def mz_month(self, t):
        r = self.rng
        y, m = ym(t)
        for h in self.hhs:
            if not h.monitored:
                continue
            if h.status == "退出":
                # households that left the registry can re-apply after a fall
                if not h.moved_away and h.exit_t is not None and t - h.exit_t >= 3:
                    inc, n = h.income.get(t, (0, 1)), h.size.get(t, 1)
                    if n and inc / max(n, 1) < 0.95 * dibao_std(t, h.urban) and r.random() < 0.12:
                        self.do_check(h, t, "reapply")
                continue
            # registry catches up with births / deaths / moves
            keep = []
            for (at, act, pid) in h.pending:
                if at <= t:
                    if act.startswith("recat"):
                        h.category = act.split(":")[1]
                        h.grant_date = month_day(t, r)
                        self.set_benefit(h, t)
                    elif act.startswith("exit"):
                        h.status = "退出"
                        h.exit_t = t
                        h.benefit = 0.0
                        self.hh_log[h.hid].append((t, act, None))
                    else:
                        self.apply_pending(h, at, act, pid, t)
                        self.set_benefit(h, t)
                else:
                    keep.append((at, act, pid))
            h.pending = keep
            if h.status != "在册":
                continue
            if h.status != "在册" or all(not self.persons[pid].alive for pid in h.mz_members):
                h.status = "退出"
                h.exit_t = t
                h.benefit = 0.0
                continue
            due = h.next_check is not None and h.next_check <= t
            kind, arg = COUNTIES[h.county]["cycle"]
            cover = 0.95 if h.category in (CAT_DB, CAT_TK) else 0.62
            if kind == "months":
                cyc = m in arg and r.random() < cover
            else:
                cyc = r.random() < arg * (1.5 if h.category in (CAT_DB, CAT_TK) else 1.0)
            if h.last_check_t is not None and t - h.last_check_t < 4:
                cyc = False
            if due or cyc:
                h.next_check = None
                self.do_check(h, t, "report" if due else "review")
        # applications from the at-risk pool
        for h in self.hhs:
            if h.monitored or h.moved_away:
                continue
            n = h.size.get(t, 0)
            if not n:
                continue
            ratio = h.income.get(t, 0) / n / dibao_std(t, h.urban)
            recent = h.income.get(t - 3)
            drop = recent is not None and h.income.get(t, 0) < 0.75 * recent
            p_apply = 0.0
            if ratio < 1.0:
                p_apply = 0.03
            elif ratio < 1.6:
                p_apply = 0.012
            if drop:
                p_apply += 0.10
            if r.random() < p_apply:
                h.monitored = True
                h.mz_members = [pid for pid in h.members if self.persons[pid].alive]
                h.status = None
                h.applied_t = t
                self.do_check(h, t, "apply")
                if h.status != "在册":
                    h.monitored = False
                    h.status = None
                    h.category = None
                    h.checked_pc = None
                    h.check_date = None

    def record_econ(self, t):
        y, m = ym(t)
        d_end = month_end(t)
        inf = informal_factor(t)
        for h in self.hhs:
            alive = [self.persons[pid] for pid in h.members if self.persons[pid].alive]
            inc, n = self.household_income(h, t)
            h.income[t] = inc
            h.size[t] = n
            formal = sum(p.wage for p in alive if p.econ == "formal") + sum(1450.0 for p in alive if p.ui_left > 0 and p.unemp_open)
            informal = sum(p.wage * inf * (0.85 if h.urban else 1.0) for p in alive if p.econ == "informal" and p.informal_on)
            pens = sum(p.pension_ent if p.pension_ent else (RESIDENT_PENSION[y] + 25 if age_at(p.birth, d_end) >= 60 else 0) for p in alive)
            farm = 1 if any(p.capacity != "完全丧失" and age_at(p.birth, d_end) >= 16 for p in alive) else 0
            self.econ_hist[(h.hid, t)] = (formal, informal, pens, farm, h.transfer if h.transfer_on else 0.0)
            # transfers stop / resume
            if h.transfer:
                if h.transfer_on and self.rng.random() < 0.007:
                    h.transfer_on = False
                elif not h.transfer_on and self.rng.random() < 0.06:
                    h.transfer_on = True

    def snapshot(self, t):
        d = month_end(t)
        hrows = []
        for h in self.hhs:
            if not h.monitored or h.status is None:
                continue
            if h.status == "退出" and (h.exit_t is None or t - h.exit_t >= 12):
                continue
            hrows.append(dict(
                hid=h.hid, head=h.head if h.head in h.mz_members or not h.mz_members else h.mz_members[0],
                village=h.village, urban=h.urban, category=h.category, status=h.status,
                size=len(h.mz_members), pc=h.checked_pc, check_date=h.check_date, benefit=h.benefit,
                grant=h.grant_date, members=[(pid, h.rel.get(pid, "其他"), self.persons[pid].rec_health or self.persons[pid].health,
                                              self.persons[pid].rec_capacity or self.persons[pid].capacity,
                                              self.student(self.persons[pid], d)) for pid in h.mz_members]))
        self.snap_mz[t] = hrows
        for h in hrows:
            for pid, *_ in h["members"]:
                p = self.persons[pid]
                if p.seen_t is None:
                    p.seen_t = t
        crow = []
        for p in self.persons:
            c = p.cert
            if not c or "issue" not in c or c["t"] > t:
                continue
            status = "注销" if c["cancel_t"] is not None and c["cancel_t"] <= t else "有效"
            if p.hh is not None:
                code = p.hh.village
            else:
                code = p.caregiver
            crow.append(dict(pid=p.pid, dtype=c["dtype"], grade=c["grade"], issue=c["issue"], status=status, code=code,
                             life=c["life"], care=c["care"] and status == "有效"))
            if p.seen_t is None:
                p.seen_t = t
        self.snap_cl[t] = crow

    def student(self, p, d):
        a = age_at(p.birth, d)
        return "是" if p.student_plan and 6 <= a <= 23 else "否"

    def run(self):
        self.econ_hist = {}
        self.build()
        for t in range(N_MONTHS):
            self.step(t)
            self.record_econ(t)
            self.mz_month(t)
            # life subsidy: disabled persons in 低保 households get it with some lag
            for h in self.hhs:
                if h.monitored and h.status == "在册" and h.category in (CAT_DB, CAT_TK):
                    for pid in h.mz_members:
                        p = self.persons[pid]
                        if p.cert and "issue" in p.cert and not p.cert["life"] and self.rng.random() < 0.25:
                            p.cert["life"] = True
            self.update_labour_ui()
            if FIRST_EXTRACT_T <= t < FIRST_EXTRACT_T + N_EXTRACTS:
                self.snapshot(t)
