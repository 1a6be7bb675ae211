"""external-d: a rural-heavy 聊城 county (莘县, 371522) simulated month by month.

Standard library only.  `simulate(seed)` returns a World holding, for every delivery
month, what each agency *records* (mz snapshots, cl certificates, rs events and
contributions with their arrival month) and the hidden truth (true monthly income of
every household, true employment/disability state).  emit.py renders it to the landing
folder with the defects of sources.md.

Time index t: 0 = 2021-01 ... 49 = 2025-02.  Deliveries are month-ends t = 24..47
(2023-01-31 .. 2024-12-31); the scoring date is 2024-11-30 (t = 46); the label months are
t = 47, 48, 49 (2024-12 .. 2025-02).
"""
from __future__ import annotations

import calendar
import datetime as dt
import math
import random

T0_YEAR = 2021
N_MONTHS = 50
FIRST_DELIVERY = 24          # 2023-01
LAST_DELIVERY = 47           # 2024-12 (delivered incomplete for mz)
SCORING_T = 46               # 2024-11-30
LABEL_TS = (47, 48, 49)

COUNTY = "371522"            # 莘县
# (9-digit code, name, urban share of its villages)
TOWNSHIPS = [
    ("371522001", "燕塔街道", 1.0), ("371522002", "莘亭街道", 1.0), ("371522003", "莘州街道", 0.8),
    ("371522004", "东鲁街道", 0.5), ("371522100", "张鲁回族镇", 0.05), ("371522101", "朝城镇", 0.05),
    ("371522102", "观城镇", 0.05), ("371522103", "古城镇", 0.03), ("371522104", "大张家镇", 0.03),
    ("371522105", "古云镇", 0.03), ("371522106", "十八里铺镇", 0.03), ("371522107", "燕店镇", 0.03),
    ("371522108", "董杜庄镇", 0.03), ("371522109", "王奉镇", 0.03), ("371522110", "樱桃园镇", 0.03),
    ("371522111", "河店镇", 0.03), ("371522112", "妹冢镇", 0.03), ("371522113", "魏庄镇", 0.03),
    ("371522114", "张寨镇", 0.03), ("371522115", "大王寨镇", 0.03), ("371522116", "徐庄镇", 0.03),
    ("371522117", "王庄集镇", 0.03), ("371522118", "柿子园镇", 0.03), ("371522119", "俎店镇", 0.03),
]
TOWNSHIP_WEIGHT = [2.2, 2.0, 1.6, 1.2] + [1.0] * 20
# 2024 autumn waterlogging (秋涝): maize yield in these townships falls to about half
MAIZE_2024_FLOOD = {"371522111", "371522112", "371522113", "371522116"}

ID_REGIONS_LOCAL = ["371522"] * 80 + ["372526"] * 8 + ["371502", "371521", "371523", "371525"] * 2
ID_REGIONS_NONLOCAL = ["410922", "130430", "372901", "410526"]
LIAOCHENG_PREFIXES = ("3715", "3725")

SURNAMES = list("王张李刘陈杨赵孙马徐朱胡郭何高林罗郑梁宋谢唐韩冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文")
GIVEN = list("秀英桂兰玉珍凤芝华明建国军伟强平勇杰涛磊敏静丽霞红梅燕芳娟洪海东波辉刚林峰新春荣庆福志民永祥德成宝金山福云利光文学忠书立俊")

EMPLOYERS = ["莘县鲁西纺织有限公司", "山东莘县化工有限公司", "莘县金蔬蔬菜批发市场有限公司", "莘县宏达建筑工程有限公司",
             "聊城市瑞丰食品有限公司", "莘县燕塔物业服务有限公司", "莘县恒通物流有限公司", "山东莘州农业科技有限公司",
             "莘县永兴机械制造有限公司", "莘县中心医院", "莘县华联商厦", "聊城鲁润环卫服务有限公司"]

CERT_CATS = ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"]
GRADES = ["一级", "二级", "三级", "四级"]
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHK = "10X98765432"


def check_char(s17: str) -> str:
    return CHK[sum(int(c) * w for c, w in zip(s17, W)) % 11]


def ym(t: int) -> tuple[int, int]:
    return T0_YEAR + t // 12, t % 12 + 1


def month_end(t: int) -> dt.date:
    y, m = ym(t)
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def t_of(d: dt.date) -> int:
    return (d.year - T0_YEAR) * 12 + d.month - 1


def rand_day(rng, t: int) -> dt.date:
    y, m = ym(t)
    return dt.date(y, m, rng.randint(1, calendar.monthrange(y, m)[1]))


def dibao_std(t: int, area: str) -> float:
    y, _ = ym(t)
    if y >= 2024:
        return 931.0 if area == "城市" else 753.0
    if y == 2023:
        return 890.0 if area == "城市" else 720.0
    return 850.0 if area == "城市" else 690.0


def tekun_std(t: int, area: str) -> float:
    y, _ = ym(t)
    if y >= 2024:
        return 1242.0 if area == "城市" else 979.0
    return 1190.0 if area == "城市" else 940.0


def resident_pension(t: int) -> float:     # 城乡居民基本养老金 (basic + account), per month
    return {2021: 172.0, 2022: 182.0, 2023: 192.0}.get(ym(t)[0], 203.0)


def min_base(t: int) -> float:             # 企业职工 minimum contribution base
    return {2021: 3300.0, 2022: 3500.0, 2023: 3650.0}.get(ym(t)[0], 3800.0)


# informal (day labour, construction, market stalls): winter is slack
INFORMAL_SEASON = {1: 0.9, 2: 0.85, 3: 0.95, 4: 1.04, 5: 1.04, 6: 0.98, 7: 1.02, 8: 1.02, 9: 1.05, 10: 1.0,
                   11: 1.02, 12: 0.92}
# migrants: year-end wage settlement in January, little in February
MIGRANT_SEASON = {1: 1.1, 2: 0.9, 3: 0.95, 4: 1.0, 5: 1.0, 6: 1.0, 7: 1.0, 8: 1.0, 9: 1.0, 10: 1.0,
                  11: 1.0, 12: 0.95}


WAGE_GROWTH = 1.07          # wages and remittances, per year
NOISE_INFORMAL = 0.10       # month-to-month spread of informal earnings (log sd)
APPLY_EDGE = 0.30          # monthly chance a 低保边缘 household below the line applies
APPLY_OTHER = 0.20


class Person:
    __slots__ = ("pid", "name", "sex", "birth", "rel", "hh", "job", "wage", "employer", "health",
                 "labor", "health_rec", "labor_rec", "student", "cert", "certs", "onset_t",
                 "tier", "tier_month", "carer", "general", "id_region", "open_emp", "group",
                 "death_t", "emp_since")

    def __init__(self):
        self.hh = None
        self.job = "none"
        self.wage = 0.0
        self.employer = ""
        self.health = "健康"
        self.labor = "有劳动能力"
        self.health_rec = "健康"
        self.labor_rec = "有劳动能力"
        self.student = False
        self.cert = None          # current certificate dict
        self.certs = []           # all certificates ever (dicts)
        self.onset_t = None
        self.tier = 0
        self.tier_month = 3
        self.carer = False
        self.general = False
        self.open_emp = None      # employer of an open 就业登记 (as registered)
        self.group = ""
        self.death_t = None
        self.emp_since = None

    def age(self, d: dt.date) -> int:
        b = self.birth
        return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


class Household:
    __slots__ = ("hid", "vcode", "area", "members", "land", "self_farm", "transfer", "cat", "status",
                 "check_date", "assessed", "benefit", "grant_date", "exit_t", "monitored", "wheat",
                 "maize", "inc", "pending_check", "size_err", "never_checked", "nonloc", "entered_t",
                 "hist", "cash")

    def __init__(self):
        self.members = []
        self.inc = {}             # t -> true per-capita income (3-month mean of cash income)
        self.cash = {}            # t -> per-capita cash income received in month t
        self.pending_check = []   # months t at which a check is due (on-demand)
        self.size_err = 0
        self.never_checked = False
        self.exit_t = None
        self.entered_t = None
        self.hist = []            # (t, event) for the README/diagnostics


class World:
    pass


def simulate(seed: int, n_households: int = 3250, n_pool: int = 650, n_general_disabled: int = 950,
             n_general_workers: int = 220) -> World:
    rng = random.Random(seed)
    w = World()
    used_ids = set()
    persons = []

    def new_id(region: str, birth: dt.date, sex: str) -> str:
        while True:
            seq = rng.randint(0, 499) * 2 + (1 if sex == "男" else 0)
            s17 = f"{region}{birth:%Y%m%d}{seq:03d}"
            pid = s17 + check_char(s17)
            if pid not in used_ids:
                used_ids.add(pid)
                return pid

    def new_person(birth: dt.date, sex: str, rel: str, nonlocal_: bool = False) -> Person:
        p = Person()
        p.sex = sex
        p.birth = birth
        p.rel = rel
        if nonlocal_:
            p.id_region = rng.choice(ID_REGIONS_NONLOCAL)
        else:
            p.id_region = rng.choice(ID_REGIONS_LOCAL) if birth.year < 1990 else (
                "371522" if rng.random() < 0.93 else rng.choice(["371502", "371521"]))
        p.pid = new_id(p.id_region, birth, sex)
        p.name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2, 2])))
        persons.append(p)
        return p

    def bday(age_lo, age_hi, ref=dt.date(2021, 1, 1)):
        age = rng.uniform(age_lo, age_hi)
        d = ref - dt.timedelta(days=int(age * 365.25))
        return d

    def village(urban_pref: float | None = None):
        tw = rng.choices(TOWNSHIPS, weights=TOWNSHIP_WEIGHT)[0]
        urban = rng.random() < tw[2]
        v = rng.randint(1, 12) if urban else rng.randint(201, 258)
        return f"{tw[0]}{v:03d}", ("城市" if urban else "农村")

    # ----------------------------------------------------------------------------------
    # households: category first, then a structure, then income scaled to the category
    # ----------------------------------------------------------------------------------
    cats = (["低保"] * 36 + ["特困"] * 9 + ["低保边缘"] * 27 + ["刚性支出困难"] * 8 + ["其他低收入"] * 20)
    households = []
    hid_seq = [0]

    def make_household(cat: str | None) -> Household:
        h = Household()
        hid_seq[0] += 1
        h.vcode, h.area = village()
        h.hid = f"SX{h.vcode[6:9]}{hid_seq[0]:05d}"
        h.nonloc = rng.random() < 0.02
        h.cat = cat
        # structure
        kind = rng.choices(["elder1", "elder2", "family", "family3g", "disabled"],
                           weights=[18, 16, 38, 16, 12] if cat != "特困" else [70, 20, 0, 0, 10])[0]
        ms = []
        if kind in ("elder1", "elder2"):
            head = new_person(bday(62, 88), rng.choice(["男", "女"]), "本人", h.nonloc)
            ms.append(head)
            if kind == "elder2":
                ms.append(new_person(bday(60, 86), "女" if head.sex == "男" else "男", "配偶"))
        else:
            head = new_person(bday(28, 58), "男" if rng.random() < 0.8 else "女", "本人", h.nonloc)
            ms.append(head)
            if rng.random() < 0.85:
                ms.append(new_person(bday(max(22, head.age(dt.date(2021, 1, 1)) - 8),
                                          head.age(dt.date(2021, 1, 1)) + 3),
                                     "女" if head.sex == "男" else "男", "配偶"))
            for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
                ms.append(new_person(bday(2, 24), rng.choice(["男", "女"]), "子女"))
            if kind == "family3g":
                for _ in range(rng.choice([1, 1, 2])):
                    ms.append(new_person(bday(64, 90), rng.choice(["男", "女"]), "父母"))
            if kind == "disabled" and rng.random() < 0.4:
                ms.append(new_person(bday(18, 50), rng.choice(["男", "女"]), rng.choice(["兄弟姐妹", "子女"])))
        h.members = ms
        for p in ms:
            p.hh = h
        ref = dt.date(2021, 1, 1)
        # health, disability
        dis_idx = (len(ms) - 1 if len(ms) > 1 and rng.random() < 0.5 else 0) if kind == "disabled" else -99
        for i, p in enumerate(ms):
            a = p.age(ref)
            r = rng.random()
            if a >= 55 and r < 0.25:
                p.health = "慢性病"
            if i == dis_idx or (cat == "特困" and rng.random() < 0.35) or (a >= 60 and rng.random() < 0.06):
                give_cert(p, rng.randint(-60, -3), initial=True)
            if cat == "刚性支出困难" and p is ms[0] and not any(q.health == "重病" for q in ms):
                p.health = "重病"
                p.labor = "完全丧失"
            p.student = 6 <= a <= 21 and (a <= 15 or rng.random() < 0.6)
            if a >= 65 or p.health in ("重病",):
                p.labor = "完全丧失" if a >= 78 or p.health == "重病" else "部分丧失"
        # jobs
        h.land = round(rng.uniform(1.0, 1.8) * sum(1 for _ in ms), 1) if h.area == "农村" else 0.0
        h.self_farm = h.area == "农村" and rng.random() < 0.75
        for p in ms:
            a = p.age(ref)
            if p.student or a < 16 or p.labor == "完全丧失" or p.health == "残疾" and p.cert and p.cert["grade"] in ("一级", "二级"):
                p.job = "none"
            elif a >= 60:
                p.job = "farm" if h.self_farm and a < 75 else "none"
            else:
                if h.area == "城市":
                    p.job = rng.choices(["formal", "informal", "none", "migrant"], [30, 45, 15, 10])[0]
                else:
                    p.job = rng.choices(["formal", "informal", "migrant", "farm", "none"], [10, 28, 34, 20, 8])[0]
            set_wage(p)
        h.transfer = rng.choice([0, 0, 0, 50, 100, 150, 200, 300]) * (1.5 if kind.startswith("elder") else 1)
        # scale income to the category's band
        band = {"低保": (0.35, 0.97), "特困": (0.2, 0.7), "低保边缘": (1.02, 1.55),
                "刚性支出困难": (0.95, 1.9), "其他低收入": (1.25, 2.3), None: (1.7, 3.2)}[cat]
        target = rng.uniform(*band) * dibao_std(0, h.area)
        cur = pc_income(h, 0, noise=False)
        flex = sum(p.wage for p in ms if p.job in ("formal", "informal", "migrant"))
        if flex > 0:
            need = (target * len(ms) - (cur * len(ms) - flex)) / flex
            f = min(2.2, max(0.3, need))
            for p in ms:
                if p.job in ("formal", "informal", "migrant"):
                    p.wage *= f
        else:
            h.transfer = max(h.transfer, max(0.0, target * len(ms) - cur * len(ms)) * rng.uniform(0.5, 1.0))
        for p in ms:
            p.health_rec, p.labor_rec = p.health, p.labor
            if p.job == "formal":
                p.employer = rng.choice(EMPLOYERS)
                p.open_emp = p.employer if rng.random() < 0.9 else None
                p.emp_since = dt.date(rng.randint(2012, 2020), rng.randint(1, 12), rng.randint(1, 28))
            if 16 <= p.age(ref) < 60 and p.job != "formal" and not p.student and rng.random() < 0.72:
                p.tier = rng.choice([200, 300, 300, 500, 500, 1000])
                p.tier_month = rng.choice([1, 2, 3, 3, 4, 5, 6])
        return h

    def set_wage(p: Person):
        if p.job == "formal":
            p.wage = rng.uniform(2300, 3600)
        elif p.job == "informal":
            p.wage = rng.uniform(1100, 2400)
        elif p.job == "migrant":
            p.wage = rng.uniform(700, 2200)      # remittance sent home
        else:
            p.wage = 0.0

    def give_cert(p: Person, t_issue: int, initial=False, cat=None, grade=None):
        cat = cat or rng.choices(CERT_CATS, [10, 10, 3, 40, 12, 12, 13])[0]
        grade = grade or rng.choices(GRADES, [14, 28, 30, 28])[0]
        if t_issue < 0:
            d = dt.date(2021, 1, 1) + dt.timedelta(days=30 * t_issue - rng.randint(0, 2000))
        else:
            d = rand_day(rng, t_issue)
        if p.cert:
            p.cert["status"] = "注销"
            p.cert["cancel_t"] = max(t_issue, 0)
        c = {"no": p.pid + str(CERT_CATS.index(cat) + 1) + str(GRADES.index(grade) + 1), "cat": cat,
             "grade": grade, "issue": d, "t": max(t_issue, -1), "status": "有效", "cancel_t": None,
             "nursing": grade in ("一级", "二级") and rng.random() < 0.85, "person": p}
        p.cert = c
        p.certs.append(c)
        if initial:
            p.health = "残疾"
            p.health_rec = "残疾"
            if grade in ("一级", "二级"):
                p.labor = "完全丧失"
            elif grade == "三级":
                p.labor = "部分丧失"

    def pc_income(h: Household, t: int, noise=True) -> float:
        y, m = ym(t)
        g = WAGE_GROWTH ** (y - T0_YEAR)
        inf_s = INFORMAL_SEASON[m] if noise else 1.0
        mig_s = MIGRANT_SEASON[m] if noise else 1.0
        total = 0.0
        for p in h.members:
            if p.job == "formal":
                total += p.wage * g
            elif p.job == "informal":
                total += p.wage * g * inf_s * (rng.lognormvariate(0, NOISE_INFORMAL) if noise else 1) * (0.6 if p.carer else 1)
            elif p.job == "migrant":
                if not noise or rng.random() > 0.02:
                    total += p.wage * g * mig_s * (rng.lognormvariate(0, 0.08) if noise else 1)
            elif p.job == "farm":
                total += 60.0 * (rng.lognormvariate(0, 0.3) if noise else 1)   # vegetables, eggs, odd jobs
            if p.birth.year <= y - 60 and p.job != "formal":
                total += resident_pension(t)
        if h.area == "农村":
            if h.self_farm:
                if noise:
                    total += (h.wheat + h.maize) / 12.0
                else:
                    total += h.land * (480 + 560) / 12.0
            else:
                total += h.land * 850 / 12.0
        if h.transfer:
            total += h.transfer * ((0 if rng.random() < 0.04 else rng.lognormvariate(0, 0.2)) if noise else 1)
        return total / max(1, len(h.members))

    for i in range(n_households):
        households.append(make_household(rng.choice(cats)))
    pool = [make_household(None) for _ in range(n_pool)]
    for h in households:
        h.monitored = True
        h.entered_t = -1
    for h in pool:
        h.monitored = False
        h.cat = None
        h.status = None

    # initial administrative state (before 2021): grant and last check
    for h in households:
        h.status = "在册"
        h.grant_date = dt.date(rng.randint(2014, 2020), rng.randint(1, 12), rng.randint(1, 28))
        if h.cat == "其他低收入" and rng.random() < 0.14:
            h.never_checked = True        # entered by data matching, never assessed
            h.check_date = None
            h.assessed = None
        else:
            lo = max(h.grant_date, dt.date(2019, 1, 1)) if h.cat in ("低保", "特困") else h.grant_date
            span = (dt.date(2020, 12, 20) - lo).days
            h.check_date = lo + dt.timedelta(days=rng.randint(0, max(1, span)))
            if h.check_date < h.grant_date:
                h.check_date = h.grant_date
            h.assessed = round(pc_income(h, 0, noise=False) * rng.gauss(1.0, 0.07), 2)
        h.benefit = 0.0
    for p in persons:
        if p.job == "migrant" and rng.random() < 0.05:
            p.job = "returned"

    # harvest memory: last year's crops
    def harvest(h: Household, crop: str, t: int):
        y = ym(t)[0]
        able = any(p.job in ("farm", "informal", "returned", "none") and p.labor == "有劳动能力" and
                   18 <= p.age(month_end(t)) < 75 for p in h.members) or any(p.job == "farm" for p in h.members)
        if not able:
            h.self_farm = False     # land is leased out from now on
            return
        shock = rng.lognormvariate(0, 0.12)
        if crop == "maize" and y == 2024 and h.vcode[:9] in MAIZE_2024_FLOOD:
            shock *= rng.uniform(0.35, 0.65)
        if crop == "wheat" and y == 2023 and rng.random() < 0.3:
            shock *= 0.85           # 干热风
        unit = 480 if crop == "wheat" else 560
        val = h.land * unit * shock
        if crop == "wheat":
            h.wheat = val
        else:
            h.maize = val

    for h in households + pool:
        h.wheat = h.land * 480 * rng.lognormvariate(0, 0.1)
        h.maize = h.land * 560 * rng.lognormvariate(0, 0.1)

    # ----------------------------------------------------------------------------------
    # general population: disabled persons outside mz (cl only) and workers (rs only)
    # ----------------------------------------------------------------------------------
    general = []
    for _ in range(n_general_disabled):
        age = rng.choice([rng.uniform(3, 17), rng.uniform(18, 59), rng.uniform(18, 59), rng.uniform(60, 92)])
        p = new_person(bday(age, age + 0.01), rng.choice(["男", "女"]), "本人",
                       nonlocal_=rng.random() < 0.03)
        p.general = True
        vc, _ = village()
        p.group = vc
        give_cert(p, rng.randint(-90, -2), initial=True)
        a = p.age(dt.date(2021, 1, 1))
        if 18 <= a < 60 and rng.random() < 0.22:
            p.job = "formal"
            p.wage = rng.uniform(2400, 3800)
            p.employer = rng.choice(EMPLOYERS)
            p.open_emp = p.employer if rng.random() < 0.85 else None
            p.emp_since = dt.date(rng.randint(2012, 2020), rng.randint(1, 12), rng.randint(1, 28))
        if 16 <= a < 60 and p.job != "formal" and rng.random() < 0.5:
            p.tier = rng.choice([200, 300, 500])
            p.tier_month = rng.choice([2, 3, 4])
        if a >= 70 and rng.random() < 0.10:
            p.death_t = rng.randint(24, 46)
        general.append(p)
    workers = []
    for _ in range(n_general_workers):
        p = new_person(bday(20, 55), rng.choice(["男", "男", "女"]), "本人", nonlocal_=rng.random() < 0.08)
        p.general = True
        vc, _ = village()
        p.group = vc
        p.job = "worker"
        workers.append(p)

    # ----------------------------------------------------------------------------------
    # the monthly loop
    # ----------------------------------------------------------------------------------
    events = []        # rs registrations: dict(pid, person, type, date, employer, vcode, t)
    contribs = []      # dict(person, ym, kind, base, employer, t_paid)
    snapshots = {}     # t -> (households rows, members rows)
    cl_snaps = {}      # t -> list of cert dicts (copies)

    def reg(p: Person, typ: str, t: int, employer: str = "", d: dt.date | None = None):
        vc = p.hh.vcode if p.hh else p.group
        events.append({"person": p, "type": typ, "date": d or rand_day(rng, t), "employer": employer,
                       "vcode": vc, "t": t})

    def set_benefit(h: Household, t: int):
        if h.cat == "低保" and h.status == "在册":
            a = h.assessed if h.assessed is not None else 0.5 * dibao_std(t, h.area)
            h.benefit = round(max(60.0, dibao_std(t, h.area) - a) * len(h.members), 0)
        elif h.cat == "特困" and h.status == "在册":
            h.benefit = round(tekun_std(t, h.area) * len(h.members), 0)
        else:
            h.benefit = 0.0

    for h in households:
        set_benefit(h, 0)

    # initial registrations (history carried in the first rs delivery)
    for p in persons:
        if p.job == "formal" and p.open_emp:
            events.append({"person": p, "type": "就业登记", "date": p.emp_since, "employer": p.open_emp,
                           "vcode": p.hh.vcode if p.hh else p.group, "t": FIRST_DELIVERY - 1})
    for p in general[:]:
        a = p.age(dt.date(2021, 1, 1))
        if p.job != "formal" and 20 <= a < 60:
            r = rng.random()
            if r < 0.07:    # employment that ended before 2023: registered and closed
                emp = rng.choice(EMPLOYERS)
                d0 = dt.date(rng.randint(2015, 2019), rng.randint(1, 12), rng.randint(1, 28))
                events.append({"person": p, "type": "就业登记", "date": d0, "employer": emp, "vcode": p.group,
                               "t": FIRST_DELIVERY - 1})
                events.append({"person": p, "type": "就业登记注销", "date": dt.date(2022, rng.randint(1, 11), rng.randint(1, 28)),
                               "employer": emp, "vcode": p.group, "t": FIRST_DELIVERY - 1})
            elif r < 0.13:
                events.append({"person": p, "type": "失业登记", "date": dt.date(2022, rng.randint(1, 12), rng.randint(1, 28)),
                               "employer": "", "vcode": p.group, "t": FIRST_DELIVERY - 1})

    def do_check(h: Household, t: int):
        d = rand_day(rng, t)
        std = dibao_std(t, h.area)
        assessed = max(0.0, h.inc[t] * rng.gauss(0.98, 0.06))
        ratio = assessed / std
        sick = any(p.health == "重病" for p in h.members)
        if not (h.monitored and h.status == "在册"):
            if ratio >= 1.5:
                return                       # not admitted; nothing recorded
            h.monitored = True
            h.status = "在册"
            h.exit_t = None
            h.entered_t = t
            h.cat = None
        for p in h.members:
            p.health_rec, p.labor_rec = p.health, p.labor
        old = h.cat
        if old == "特困":
            new = "特困" if ratio < 1.6 else "退出"
        elif ratio < 1.0:
            new = "低保"
        elif ratio < 1.5:
            new = "刚性支出困难" if sick else "低保边缘"
        elif ratio < 2.0:
            new = "刚性支出困难" if sick else "其他低收入"
        else:
            new = "退出"
        if new == "退出":
            h.status = "退出"
            h.exit_t = t
        elif new != old:
            h.cat = new
            h.grant_date = d
        h.check_date = d
        h.assessed = round(assessed, 2)
        h.never_checked = False
        set_benefit(h, t)
        h.hist.append((t, f"check {old}->{new} ratio={ratio:.2f}"))

    def snap_mz(t: int):
        hrows, mrows = [], []
        for h in allh:
            if not h.monitored or h.status not in ("在册", "退出"):
                continue
            if ym(t) == (2024, 1) and h.cat == "低保":
                set_benefit(h, t)            # the 2024 standard raises every 低保 benefit
            head = h.members[0]
            pays = h.cat in ("低保", "特困") and h.status == "在册"
            hrows.append({
                "家庭编号": h.hid, "户主身份证号": head.pid, "户主姓名": head.name, "行政区划代码": h.vcode,
                "城乡属性": h.area, "保障类别": h.cat, "保障状态": h.status,
                "家庭人口数": str(len(h.members) + h.size_err),
                "月人均收入": "" if h.assessed is None else f"{h.assessed:.2f}",
                "核对日期": "" if h.check_date is None else h.check_date.isoformat(),
                "月保障金额": f"{h.benefit:.2f}" if pays else ("0" if rng.random() < 0.7 else ""),
                "认定日期": h.grant_date.isoformat(), "_h": h})
            for p in h.members:
                mrows.append({
                    "家庭编号": h.hid, "身份证号": p.pid, "姓名": p.name, "与户主关系": p.rel, "性别": p.sex,
                    "出生日期": p.birth.isoformat(), "劳动能力": p.labor_rec, "健康状况": p.health_rec,
                    "在校生": "是" if p.student else "否", "_h": h, "_p": p})
        return hrows, mrows

    def snap_cl(t: int):
        rows = []
        for p in persons:
            for c in p.certs:
                if c["t"] > t:
                    continue
                active = c["cancel_t"] is None or c["cancel_t"] > t
                h = p.hh
                low = bool(h and h.monitored and h.status == "在册" and h.cat in ("低保", "特困"))
                rows.append({
                    "残疾人证号": c["no"], "姓名": p.name, "残疾类别": c["cat"], "残疾等级": c["grade"],
                    "发证日期": c["issue"].isoformat(), "证件状态": "有效" if active else "注销",
                    "行政区划代码": h.vcode if h else p.group,
                    "享受生活补贴": "是" if (active and low) else "否",
                    "享受护理补贴": "是" if (active and c["nursing"]) else "否", "_p": p, "_c": c})
        return rows

    allh = households + pool
    for t in range(N_MONTHS):
        y, m = ym(t)
        d_end = month_end(t)
        loss_h = 0.009 if y < 2024 else 0.012
        ret_h = 0.006 if y < 2024 else (0.010 if m < 9 else 0.018)   # 2024 autumn: construction arrears
        # -------- person shocks
        for h in allh:
            shocks = []
            for p in h.members:
                a = p.age(d_end)
                # school leavers
                if p.student and a >= 19 and rng.random() < 0.08:
                    p.student = False
                    p.job = rng.choice(["migrant", "migrant", "informal", "formal"])
                    set_wage(p)
                    if p.job == "formal":
                        p.employer = rng.choice(EMPLOYERS)
                        p.open_emp = p.employer
                        if h.monitored or rng.random() < 0.5:
                            reg(p, "就业登记", t, p.employer)
                if p.job == "formal" and rng.random() < loss_h:
                    p.job = "unemp"
                    if p.open_emp and rng.random() < 0.75:
                        reg(p, "就业登记注销", t, p.open_emp)
                        p.open_emp = None
                    if rng.random() < 0.35:
                        reg(p, "失业登记", t)
                    shocks.append("job_loss")
                elif p.job == "unemp" and rng.random() < 0.10:
                    if rng.random() < 0.5:
                        p.job = "formal"
                        set_wage(p)
                        p.employer = rng.choice(EMPLOYERS)
                        if rng.random() < 0.85:
                            p.open_emp = p.employer
                            reg(p, "就业登记", t, p.employer)
                    else:
                        p.job = "informal"
                        set_wage(p)
                elif p.job == "informal" and rng.random() < 0.008:
                    p.job = "idle"
                    shocks.append("informal_loss")
                elif p.job == "idle" and rng.random() < 0.12:
                    p.job = "informal"
                    set_wage(p)
                elif p.job == "migrant" and rng.random() < ret_h:
                    p.job = "returned"          # home, jobless; rarely registers anywhere
                    if rng.random() < 0.08:
                        reg(p, "失业登记", t)
                    shocks.append("migrant_return")
                elif p.job == "returned":
                    r = rng.random()
                    if r < 0.05:
                        p.job = "informal"
                        set_wage(p)
                        p.wage *= 0.8
                    elif r < 0.065:
                        p.job = "formal"
                        set_wage(p)
                        p.employer = rng.choice(EMPLOYERS)
                        p.open_emp = p.employer
                        reg(p, "就业登记", t, p.employer)
                    elif r < 0.09:
                        p.job = "migrant"
                        set_wage(p)
                # serious illness (重病)
                if p.health in ("健康", "慢性病") and a >= 25:
                    hz = 0.0006 + 0.00007 * max(0, a - 35) + (0.0008 if p.health == "慢性病" else 0)
                    if rng.random() < hz:
                        p.health = "重病"
                        p.labor = "完全丧失"
                        if p.job == "formal" and p.open_emp and rng.random() < 0.5:
                            reg(p, "就业登记注销", t, p.open_emp)
                            p.open_emp = None
                        p.job = "sick"
                        for q in h.members:
                            if q is not p and q.job == "informal" and rng.random() < 0.6:
                                q.carer = True
                        shocks.append("illness")
                elif p.health == "重病" and rng.random() < 0.03:
                    p.health = "慢性病"
                    p.labor = "部分丧失"
                    for q in h.members:
                        q.carer = False
                    if p.job == "sick" and a < 60:
                        p.job = "idle"
                # disability onset in later life (stroke etc.): certificate comes later
                if a >= 50 and p.health != "残疾" and p.onset_t is None:
                    if rng.random() < 0.0012 * (1 + (a - 50) / 12):
                        p.onset_t = t
                        p.health = "残疾"
                        grade = rng.choices(GRADES, [15, 35, 30, 20])[0]
                        p.labor = "完全丧失" if grade in ("一级", "二级") else "部分丧失"
                        if p.job in ("formal", "informal", "migrant", "farm", "returned"):
                            if p.job == "formal" and p.open_emp and rng.random() < 0.6:
                                reg(p, "就业登记注销", t, p.open_emp)
                                p.open_emp = None
                            p.job = "none"
                        shocks.append("disability")
                        if rng.random() < 0.75:
                            lag = rng.randint(3, 18)
                            p.group = (t + lag, rng.choices(["肢体", "多重", "视力", "言语"], [60, 20, 10, 10])[0], grade)
                if isinstance(p.group, tuple) and p.group[0] == t:
                    _, c, g = p.group
                    give_cert(p, t, cat=c, grade=g)
                    p.group = ""
                    if h.monitored and rng.random() < 0.5:
                        p.health_rec = "残疾"
            if shocks and h.monitored and rng.random() < 0.28:      # 村委 reports hardship
                h.pending_check.append(t + rng.randint(1, 3))
            if shocks:
                h.hist.append((t, ",".join(shocks)))
        # general disabled: a few find or lose jobs; deaths cancel certificates
        for p in general:
            a = p.age(d_end)
            if p.death_t == t and p.cert:
                p.cert["status"] = "注销"
                p.cert["cancel_t"] = t
                p.job = "dead"
            if p.job == "formal" and rng.random() < 0.008:
                p.job = "none"
                if p.open_emp and rng.random() < 0.8:
                    reg(p, "就业登记注销", t, p.open_emp)
                    p.open_emp = None
                elif rng.random() < 0.3:
                    reg(p, "失业登记", t)
            elif p.job == "none" and 18 <= a < 58 and p.cert and p.cert["grade"] in ("三级", "四级") and rng.random() < 0.006:
                p.job = "formal"
                p.wage = rng.uniform(2300, 3300)
                p.employer = rng.choice(EMPLOYERS)
                p.open_emp = p.employer
                reg(p, "就业登记", t, p.employer)
        # general workers: churn of registrations
        for p in workers:
            if p.job == "worker" and rng.random() < 0.05:
                p.job = "formal"
                p.wage = rng.uniform(2600, 5200)
                p.employer = rng.choice(EMPLOYERS)
                p.open_emp = p.employer
                reg(p, "就业登记", t, p.employer)
            elif p.job == "formal" and rng.random() < 0.03:
                p.job = "worker"
                reg(p, "就业登记注销", t, p.open_emp or p.employer)
                p.open_emp = None
                if rng.random() < 0.4:
                    reg(p, "失业登记", t)
        # -------- harvests
        for h in allh:
            if h.area == "农村" and h.self_farm:
                if m == 6:
                    harvest(h, "wheat", t)
                elif m == 10:
                    harvest(h, "maize", t)
        # -------- contributions for this month
        for p in persons:
            if p.job == "formal":
                base = round(max(p.wage, min_base(t)) if rng.random() < 0.8 else max(p.wage * 1.1, min_base(t)), 0)
                for kind in ("企业职工基本养老保险", "失业保险"):
                    if kind == "失业保险" and rng.random() < 0.04:
                        continue
                    contribs.append({"person": p, "ym": (y, m), "kind": kind, "base": base, "employer": p.employer, "t": t})
            elif p.tier and m == p.tier_month and p.job not in ("dead",) and p.birth.year > y - 60:
                tier = p.tier
                if p.job in ("returned", "idle", "unemp", "sick") and tier > 200 and rng.random() < 0.5:
                    tier = {300: 200, 500: 300, 1000: 500}.get(tier, tier)    # hard year: a lower tier
                if rng.random() < 0.9:
                    contribs.append({"person": p, "ym": (y, m), "kind": "城乡居民基本养老保险", "base": float(tier),
                                     "employer": "", "t": t})
        # -------- true income
        for h in allh:
            h.cash[t] = pc_income(h, t)
            win = [h.cash[k] for k in (t, t - 1, t - 2) if k in h.cash]
            h.inc[t] = sum(win) / len(win)          # true income: the 3-month window a 核对 looks at
        # -------- applications, reports, routine checks
        for h in allh:
            std = dibao_std(t, h.area)
            below = h.inc[t] < std and h.inc.get(t - 1, 1e9) < std
            due = False
            if h.monitored and h.status == "在册":
                if h.cat not in ("低保", "特困") and below and rng.random() < (APPLY_EDGE if h.cat == "低保边缘" else APPLY_OTHER):
                    due = True                                   # application
                if t in h.pending_check:
                    due = True
                    h.pending_check = [x for x in h.pending_check if x != t]
                hz = {"低保": 1 / 14, "特困": 1 / 26, "低保边缘": 1 / 30, "刚性支出困难": 1 / 28, "其他低收入": 1 / 44}[h.cat]
                if rng.random() < hz:
                    due = True
            elif below and rng.random() < 0.06:                  # outside the register: applies
                due = True
            if due:
                do_check(h, t)
        # -------- exits leave the snapshot after 12 months
        for h in allh:
            if h.status == "退出" and h.exit_t is not None and t - h.exit_t >= 12:
                h.status = "gone"
        if FIRST_DELIVERY <= t <= LAST_DELIVERY:
            snapshots[t] = snap_mz(t)
            cl_snaps[t] = snap_cl(t)

    w.households = households
    w.pool = pool
    w.persons = persons
    w.general = general
    w.workers = workers
    w.events = events
    w.contribs = contribs
    w.snapshots = snapshots
    w.cl_snaps = cl_snaps
    w.rng_seed = seed
    return w


