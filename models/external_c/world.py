# -*- coding: utf-8 -*-
"""聊城 (371500) low-income monitoring world "C": campaign checks, employer closures.

Pure simulation, no file output (emit.py writes landing + truth).  Standard library only.

Dynamics in one paragraph: households live month by month from 2022-07 to 2025-02.
Income = firm wages + informal work + farm + 城乡居民 pension + private transfers + rent.
The civil-affairs bureau measures income almost only in two city-wide campaigns a year
(spring Mar-Apr, autumn Sep-Oct; 核对 = 3-month average, with measurement noise and
under-reported informal income) plus a thin trickle of ad-hoc checks and applications.
Employers (about 90, most of them small) sometimes go into distress (wage cuts, unpaid
social insurance) and some close, laying off most of their workforce at once: that is
visible in 人社 (就业登记注销, stopped 企业职工养老 contributions, some 失业登记), with
the contract's up-to-two-deliveries lag.  Individual job losses, illness and disability
onsets, births, departures, deaths and stopped family transfers push households down;
re-employment, recoveries and resumed transfers bring them back (false alarms).
"""
from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict

# ----------------------------------------------------------------------------- constants
COUNTIES = {"371502": "东昌府区", "371503": "茌平区", "371521": "阳谷县", "371522": "莘县",
            "371524": "东阿县", "371525": "冠县", "371526": "高唐县", "371581": "临清市"}
COUNTY_W = {"371502": 20, "371503": 10, "371521": 13, "371522": 15, "371524": 7,
            "371525": 12, "371526": 8, "371581": 15}
OLD_CODE = {"371502": "372501", "371581": "372502", "371521": "372522", "371522": "372523",
            "371503": "372524", "371524": "372525", "371525": "372526", "371526": "372527"}
NONLOCAL_REGIONS = ["410926", "410928", "130425", "130432", "372901", "371402", "370983", "410523"]
NONLOCAL_RES_TOWNS = ["371402003", "410928101", "130425102", "370983104"]  # residence outside 3715

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
            "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛闫段雷侯史陶贺顾毛郝龚邵")
GIVEN_M = "建国军伟强磊勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林阳亮成春新海峰东志文立德"
GIVEN_F = "秀英芳娜敏静丽艳娟霞燕玲桂珍兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛瑞凡佳嘉琼勤珠翠"

FIRM_WORDS = ["机械", "纺织", "轴承", "钢管", "食品", "木业", "化工", "建材", "物流", "电子", "服装",
              "铝业", "汽配", "农牧", "造纸", "包装", "制冷", "铸造", "塑业", "家具"]
FIRM_PREF = ["鲁西", "聊城市", "东昌", "运河", "水城", "光岳", "凤凰", "金泰", "华信", "瑞丰", "鸿运",
             "新华", "恒通", "泰和", "永盛", "宏达", "昌润", "阿胶", "清源", "富民"]

CATS = ("低保", "特困", "低保边缘", "刚性支出困难", "其他低收入")
SCORED_CATS = ("低保边缘", "刚性支出困难", "其他低收入")

W17 = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHK = "10X98765432"


def check_char(s17: str) -> str:
    return CHK[sum(int(a) * w for a, w in zip(s17, W17)) % 11]


def dibao_std(d: dt.date, urban: bool) -> float:
    if d >= dt.date(2024, 1, 1):
        return 931.0 if urban else 753.0
    return 890.0 if urban else 720.0


def tekun_std(urban: bool) -> float:
    return 1242.0 if urban else 979.0


# months: index 0 = 2022-07 ... 31 = 2025-02
MONTHS = []
_y, _m = 2022, 7
while (_y, _m) <= (2025, 2):
    MONTHS.append((_y, _m))
    _m += 1
    if _m == 13:
        _y, _m = _y + 1, 1
MI = {ym: i for i, ym in enumerate(MONTHS)}


def month_end(t: int) -> dt.date:
    y, m = MONTHS[t]
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def month_start(t: int) -> dt.date:
    y, m = MONTHS[t]
    return dt.date(y, m, 1)


def t_of(d: dt.date) -> int:
    return MI.get((d.year, d.month), -1 if d < dt.date(2022, 7, 1) else len(MONTHS))


DELIV_T = [MI[(2024, m)] for m in range(1, 13)]          # delivery month indices
AS_OF_T = MI[(2024, 11)]
AS_OF = month_end(AS_OF_T)                               # 2024-11-30
LABEL_T = [AS_OF_T + 1, AS_OF_T + 2, AS_OF_T + 3]        # Dec, Jan, Feb

# campaign windows (start, end) -> spring and autumn 集中核查
CAMPAIGNS = [(dt.date(2022, 9, 5), dt.date(2022, 10, 28)), (dt.date(2023, 3, 6), dt.date(2023, 4, 28)),
             (dt.date(2023, 9, 4), dt.date(2023, 10, 27)), (dt.date(2024, 3, 4), dt.date(2024, 4, 26)),
             (dt.date(2024, 9, 2), dt.date(2024, 10, 31))]


def rand_date(rng, a: dt.date, b: dt.date) -> dt.date:
    return a + dt.timedelta(days=rng.randint(0, (b - a).days))


def age_at(birth: dt.date, d: dt.date) -> int:
    return d.year - birth.year - ((d.month, d.day) < (birth.month, birth.day))


# ----------------------------------------------------------------------------- world
class World:
    def __init__(self, seed: int = 20241130, n_households: int = 2750):
        self.rng = random.Random(seed)
        self.n0 = n_households
        self.persons = {}          # pid -> dict
        self.hh = {}               # hid -> dict
        self.firms = []
        self.reg_events = []       # rs registrations (clean dicts + delivery month)
        self.contribs = []         # rs contributions
        self.certs = []            # disability certificates (all ever issued)
        self.hh_seq = defaultdict(int)
        self.used_ids = set()
        self.towns = {}
        self.next_check = {}       # hid -> scheduled campaign check date
        self.log = defaultdict(list)   # hid -> [(t, event)]
        self.pending = []          # mz member-record updates (date, hid, op, pid)
        self.snap = {}             # delivery date -> dict(mz=..., cl=...)
        self._build_geo()

    # ------------------------------------------------------------------ geography
    def _build_geo(self):
        rng = self.rng
        for c in COUNTIES:
            streets = [f"{c}{i:03d}" for i in range(1, rng.randint(4, 7) + 1)]
            towns = [f"{c}{i:03d}" for i in range(101, 101 + rng.randint(8, 13))]
            self.towns[c] = (streets, towns)

    def res_code(self, county, urban):
        rng = self.rng
        streets, towns = self.towns[county]
        if (urban and rng.random() < 0.93) or (not urban and rng.random() < 0.05):
            return f"{rng.choice(streets)}{rng.randint(1, 24):03d}"
        return f"{rng.choice(towns)}{rng.randint(201, 248):03d}"

    def pick_county(self):
        return self.rng.choices(list(COUNTY_W), weights=list(COUNTY_W.values()))[0]

    # ------------------------------------------------------------------ identities
    def new_id(self, birth: dt.date, sex: str, county: str, nonlocal_=False) -> str:
        rng = self.rng
        if nonlocal_:
            region = rng.choice(NONLOCAL_REGIONS)
        elif birth.year < 1997 and rng.random() < 0.35:
            region = OLD_CODE[county]
        elif county == "371503" and 1997 <= birth.year <= 2018 and rng.random() < 0.7:
            region = "371523"
        else:
            region = county
        while True:
            seq = rng.randint(0, 499) * 2 + (1 if sex == "男" else 0)
            s17 = f"{region}{birth:%Y%m%d}{seq:03d}"
            pid = s17 + check_char(s17)
            if pid not in self.used_ids:
                self.used_ids.add(pid)
                return pid

    def new_name(self, sex):
        rng = self.rng
        g = GIVEN_M if sex == "男" else GIVEN_F
        return rng.choice(SURNAMES) + "".join(rng.choice(g) for _ in range(rng.choice((1, 2, 2))))

    def new_person(self, birth, sex=None, county=None, nonlocal_=False, kind="member", surname=None):
        rng = self.rng
        sex = sex or rng.choice("男女")
        county = county or self.pick_county()
        pid = self.new_id(birth, sex, county, nonlocal_)
        name = self.new_name(sex)
        if surname:
            name = surname + name[1:]
        p = dict(pid=pid, name=name, sex=sex, birth=birth, county=county, kind=kind, hid=None, rel="本人",
                 labor="有劳动能力", health="健康", student="否", alive=True, death=None,
                 job=None, informal=0.0, inf_on=False, inf_e=0.0, unemployed_since=None, ui_open=False,
                 sick_until=None, cert=None, pension_pa=rng.randint(5, 60), resident_tier=None,
                 ui_insured=rng.random() < 0.8, code=None, events=[])
        self.persons[pid] = p
        return p

    # ------------------------------------------------------------------ firms
    def build_firms(self, n=92):
        rng = self.rng
        names = set()
        for i in range(n):
            while True:
                nm = f"{rng.choice(FIRM_PREF)}{rng.choice(FIRM_WORDS)}{rng.choice(['有限公司', '有限责任公司', '股份有限公司', '厂'])}"
                if nm not in names:
                    names.add(nm)
                    break
            self.firms.append(dict(fid=i, name=nm, county=self.pick_county(), close=None, distress=None,
                                   mode=rng.choice(["arrears", "arrears", "base_cut"]), recover=None,
                                   workers=set(), welfare=False))
        # a few 福利企业 that employ disabled people
        for f in self.firms[:4]:
            f["name"] = f["name"].replace("有限公司", "福利厂").replace("有限责任公司", "福利厂")
            f["welfare"] = True

    def plan_firm_shocks(self):
        """Closures: (distress start month, closure date).  Chosen among firms with workers."""
        rng = self.rng
        big = sorted([f for f in self.firms if not f["welfare"]], key=lambda f: -len(f["workers"]))
        cands = big[6:46]
        rng.shuffle(cands)
        closures = [dt.date(2023, 9, 15), dt.date(2024, 3, 20), dt.date(2024, 5, 31), dt.date(2024, 8, 16),
                    dt.date(2024, 10, 12), dt.date(2024, 11, 8), dt.date(2024, 12, 13), dt.date(2025, 1, 10),
                    dt.date(2025, 2, 7)]
        for f, cd in zip(cands, closures):
            f["close"] = cd
            f["distress"] = t_of(cd) - rng.choice((1, 2, 2, 3))
        # distress that recovers (false alarms for a model that reads contributions)
        for f, (a, b) in zip(cands[len(closures):len(closures) + 4],
                             [(MI[(2024, 4)], MI[(2024, 6)]), (MI[(2024, 9)], MI[(2024, 11)]),
                              (MI[(2024, 10)], MI[(2024, 12)]), (MI[(2024, 8)], MI[(2024, 10)])]):
            f["distress"], f["recover"] = a, b

    def firm_state(self, f, t):
        """'ok' | 'distress' | 'closed'."""
        if f["close"] is not None and t > t_of(f["close"]):
            return "closed"
        if f["distress"] is not None and t >= f["distress"] and (f["recover"] is None or t < f["recover"]):
            return "distress"
        return "ok"

    def pick_firm(self, county, welfare=False, t=0):
        rng = self.rng
        ok = [f for f in self.firms if f["welfare"] == welfare and self.firm_state(f, t) == "ok"
              and (f["close"] is None or t_of(f["close"]) > t + 1)]
        loc = [f for f in ok if f["county"] == county]
        pool = loc if (loc and rng.random() < 0.75) else ok
        # preferential attachment: bigger firms attract more workers
        wts = [1 + len(f["workers"]) ** 0.8 for f in pool]
        return rng.choices(pool, weights=wts)[0]

    # ------------------------------------------------------------------ rs records
    def reg(self, p, typ, d: dt.date, employer=""):
        lag = self.rng.choices((0, 1, 2), weights=(74, 19, 7))[0]
        self.reg_events.append(dict(pid=p["pid"], name=p["name"], type=typ, date=d,
                                    employer=employer if typ.startswith("就业") else "",
                                    code=p["code"] or self.res_code(p["county"], False), deliv=t_of(d) + lag))
        p["events"].append((d, typ, employer))

    def contrib(self, p, t, kind, base, employer, lag=None):
        if lag is None:
            lag = self.rng.choices((0, 1, 2), weights=(76, 17, 7))[0]
        y, m = MONTHS[t] if 0 <= t < len(MONTHS) else (None, None)
        self.contribs.append(dict(pid=p["pid"], ym=f"{y}{m:02d}", kind=kind, base=base, employer=employer,
                                  deliv=t + lag, t=t))

    def hire(self, p, firm, d: dt.date, wage=None, register=True):
        rng = self.rng
        wage = wage or round(rng.uniform(2100, 3700), -1)
        p["job"] = dict(firm=firm["fid"], wage=wage, start=d, registered=register,
                        base=round(wage * rng.uniform(0.95, 1.1), -1) if rng.random() < 0.7 else None)
        firm["workers"].add(p["pid"])
        p["unemployed_since"] = None
        if register:
            self.reg(p, "就业登记", d, firm["name"])
        if p["ui_open"]:
            self.reg(p, "失业登记注销", d + dt.timedelta(days=rng.randint(0, 20)))
            p["ui_open"] = False

    def separate(self, p, d: dt.date, ui_prob=0.4):
        rng = self.rng
        j = p["job"]
        firm = self.firms[j["firm"]]
        firm["workers"].discard(p["pid"])
        if j["registered"] or rng.random() < 0.5:
            self.reg(p, "就业登记注销", d, firm["name"])
        p["job"] = None
        p["unemployed_since"] = d
        if rng.random() < ui_prob and p["labor"] != "完全丧失":
            self.reg(p, "失业登记", d + dt.timedelta(days=rng.randint(1, 45)))
            p["ui_open"] = True

    # ------------------------------------------------------------------ households
    def new_hid(self, county):
        self.hh_seq[county] += 1
        return f"JT{county}{self.hh_seq[county]:05d}"

    def make_household(self, t0: int, entrant=False):
        rng = self.rng
        d0 = month_start(t0)
        county = self.pick_county()
        urban = rng.random() < (0.42 if county == "371502" else 0.30)
        typ = rng.choices("ABCDEFG", weights=(15, 11, 36, 8, 15, 10, 5))[0]
        head_nonlocal = rng.random() < 0.025
        ages = []
        if typ == "A":
            ages = [("head", rng.randint(62, 88))]
        elif typ == "B":
            a = rng.randint(62, 84)
            ages = [("head", a), ("spouse", a + rng.randint(-4, 3))]
        elif typ == "C":
            a = rng.randint(27, 52)
            ages = [("head", a), ("spouse", a + rng.randint(-4, 3))]
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                ages.append(("child", rng.randint(0, min(24, a - 20))))
            if rng.random() < 0.3:
                ages.append(("parent", a + rng.randint(24, 32)))
        elif typ == "D":
            a = rng.randint(28, 50)
            ages = [("head", a)] + [("child", rng.randint(1, min(20, a - 20))) for _ in range(rng.choice((1, 2)))]
        elif typ == "E":
            a = rng.randint(25, 58)
            ages = [("head", a)]
            if rng.random() < 0.7:
                ages.append(("spouse", a + rng.randint(-4, 3)))
            if rng.random() < 0.5:
                ages.append(("child", rng.randint(0, max(0, min(22, a - 20)))))
        elif typ == "F":
            a = rng.randint(58, 80)
            ages = [("head", a), ("child", rng.randint(20, min(55, a - 18)))]
            if rng.random() < 0.6:
                ages.append(("spouse", a + rng.randint(-4, 3)))
        else:
            a = rng.randint(30, 50)
            ages = [("head", a), ("spouse", a + rng.randint(-3, 3)), ("parent", a + rng.randint(24, 30)),
                    ("child", rng.randint(2, 16))]
            if rng.random() < 0.5:
                ages.append(("parent", a + rng.randint(24, 30)))
        hid = self.new_hid(county)
        members = []
        head_sex = rng.choice("男男男女")
        surname = None
        for role, age in ages:
            age = max(0, min(95, age))
            birth = d0 - dt.timedelta(days=int(age * 365.25) + rng.randint(0, 364))
            if role == "head":
                sex = head_sex
            elif role == "spouse":
                sex = "女" if head_sex == "男" else "男"
            else:
                sex = rng.choice("男女")
            nl = head_nonlocal if role == "head" else (role == "spouse" and rng.random() < 0.06)
            p = self.new_person(birth, sex, county, nonlocal_=nl, surname=surname if role in ("child",) else None)
            if role == "head":
                surname = p["name"][0]
            p["hid"] = hid
            p["rel"] = {"head": "本人", "spouse": "配偶", "child": "子女", "parent": "父母"}[role]
            members.append(p)
        h = dict(hid=hid, county=county, urban=urban, typ=typ, members=[p["pid"] for p in members],
                 rec_members=[p["pid"] for p in members], size_rec=len(members),
                 auto_size=rng.random() < 0.85, farm=0.0, transfer=0.0, transfer_on=True, rent=0.0,
                 cat=None, status="在册", exit=None, grant=None, checks=[], income={}, benefit=0.0,
                 entered=t0, heavy_medical=False, rec_attrs={})
        hfac = math.exp(rng.gauss(0.10, 0.18))
        code = self.res_code(county, urban)
        if head_nonlocal and rng.random() < 0.35:
            code = f"{rng.choice(NONLOCAL_RES_TOWNS)}{rng.randint(201, 230):03d}"
        h["code"] = code
        for p in members:
            p["code"] = code
        self.hh[hid] = h
        # attributes and income sources
        for p in members:
            a = age_at(p["birth"], d0)
            if 6 <= a <= 22 and p["rel"] == "子女" and (a < 18 or rng.random() < 0.6):
                p["student"] = "是"
            r = rng.random()
            if typ in ("E", "F") and p["rel"] in (("本人",) if typ == "E" else ("子女",)) and a >= 16:
                p["health"] = rng.choice(["重病", "残疾", "慢性病", "残疾"])
                p["labor"] = rng.choice(["完全丧失", "部分丧失"])
                h["heavy_medical"] = p["health"] == "重病"
            elif a >= 70 and r < 0.5:
                p["health"] = "慢性病"
                h["heavy_medical"] = h["heavy_medical"] or rng.random() < 0.25
                p["labor"] = "部分丧失" if rng.random() < 0.6 else "完全丧失"
            elif a >= 60:
                p["labor"] = "部分丧失" if rng.random() < 0.5 else "有劳动能力"
                if r < 0.15:
                    p["health"] = "慢性病"
            elif a < 16:
                p["labor"] = "完全丧失" if a < 16 else "有劳动能力"
            elif r < 0.06:
                p["health"] = "慢性病"
                p["labor"] = "部分丧失"
            if p["health"] == "残疾":
                self.issue_cert(p, d0 - dt.timedelta(days=rng.randint(200, 4000)), grade=None)
            # jobs
            if 18 <= a <= 59 and p["student"] == "否" and p["labor"] != "完全丧失":
                rr = rng.random()
                if p["labor"] == "部分丧失":
                    if rr < 0.5:
                        p["informal"] = rng.uniform(400, 1100)
                        p["inf_on"] = True
                elif rr < 0.46:
                    f = self.pick_firm(county, t=t0)
                    start = d0 - dt.timedelta(days=rng.randint(60, 3500))
                    self.hire(p, f, start, wage=round(rng.uniform(2100, 3700) * hfac, -1), register=rng.random() < 0.9)
                elif rr < 0.86:
                    p["informal"] = rng.uniform(800, 2300) * hfac
                    p["inf_on"] = True
                    if rng.random() < 0.2:   # old, closed formal job
                        st = d0 - dt.timedelta(days=rng.randint(900, 4000))
                        fn = self.firms[rng.randrange(len(self.firms))]["name"]
                        self.reg(p, "就业登记", st, fn)
                        self.reg(p, "就业登记注销", st + dt.timedelta(days=rng.randint(120, 800)), fn)
                else:
                    p["unemployed_since"] = d0 - dt.timedelta(days=rng.randint(30, 600))
            elif 60 <= a <= 72 and p["labor"] == "有劳动能力" and rng.random() < 0.18:
                p["informal"] = rng.uniform(300, 800)
                p["inf_on"] = True
            if 16 <= a <= 59 and not p["job"] and p["student"] == "否" and rng.random() < 0.55:
                p["resident_tier"] = rng.choice((300, 300, 300, 500, 500, 800, 1000))
        if not urban:
            h["farm"] = rng.uniform(1.0, 7.0) * rng.uniform(55, 105)
        if typ in ("A", "B", "F") and rng.random() < 0.65:
            h["transfer"] = rng.uniform(150, 650)
        elif rng.random() < 0.15:
            h["transfer"] = rng.uniform(100, 400)
        if rng.random() < 0.04:
            h["rent"] = rng.uniform(150, 500)
        return h

    def issue_cert(self, p, d: dt.date, grade=None, kind=None):
        rng = self.rng
        grade = grade or rng.choices((1, 2, 3, 4), weights=(14, 27, 30, 29))[0]
        kind = kind or rng.choices(range(1, 8), weights=(10, 14, 3, 38, 14, 13, 8))[0]
        if p["cert"] is not None and p["cert"]["status"] == "有效":
            p["cert"]["status"] = "注销"
            p["cert"]["cancel"] = d
        c = dict(pid=p["pid"], kind=kind, grade=grade, issued=d, status="有效", cancel=None,
                 mism=None, code=None)
        p["cert"] = c
        self.certs.append(c)
        return c

    # ------------------------------------------------------------------ income
    def person_income(self, p, t):
        rng = self.rng
        d = month_end(t)
        inc = 0.0
        if p["job"]:
            f = self.firms[p["job"]["firm"]]
            st = self.firm_state(f, t)
            inc += p["job"]["wage"] * (0.55 if st == "distress" else 1.0)
        if p["inf_on"] and not p["sick_until"]:
            p["inf_e"] = 0.55 * p["inf_e"] + rng.gauss(0, 0.17)
            inc += max(0.0, p["informal"] * (1 + p["inf_e"]))
        if age_at(p["birth"], d) >= 60:
            inc += (190.0 if d >= dt.date(2024, 7, 1) else 170.0) + p["pension_pa"]
        return inc

    def household_income(self, h, t):
        tot = sum(self.person_income(self.persons[q], t) for q in h["members"])
        tot += h["farm"] * (1 + self.rng.gauss(0, 0.05))
        if h["transfer_on"]:
            tot += h["transfer"]
        tot += h["rent"]
        return tot

    # ------------------------------------------------------------------ checks
    def measure(self, h, t, d):
        """Return per-capita monthly income as the bureau measures it on date d."""
        rng = self.rng
        ms = [x for x in (t - 2, t - 1, t) if x in h["income"]]
        tot = sum(h["income"][x][0] for x in ms) / max(1, len(ms))
        infl = sum(h["income"][x][2] for x in ms) / max(1, len(ms))
        tot -= infl * rng.uniform(0.0, 0.25)     # informal income under-reported
        tot *= math.exp(rng.gauss(0, 0.07))
        return round(max(0.0, tot) / max(1, len(h["members"])), 2)

    def do_check(self, h, t, d, reason):
        rng = self.rng
        v = self.measure(h, t, d)
        s = dibao_std(d, h["urban"])
        h["checks"].append((d, v, reason))
        # the check refreshes the member register and 家庭人口数
        self.flush_pending(h, force=True)
        h["size_rec"] = len(h["rec_members"])
        for q in h["rec_members"]:
            p = self.persons[q]
            h["rec_attrs"][q] = (p["labor"], p["health"], p["student"])
        old = h["cat"]
        sick = any(self.persons[q]["health"] in ("重病",) for q in h["members"]) or h["heavy_medical"]
        if old == "特困":
            new = "特困"
        elif old == "刚性支出困难" and s <= v < 2.2 * s and h["heavy_medical"]:
            new = old
        elif v < s:
            new = "低保"
        elif v < 1.5 * s:
            new = "低保边缘" if not (sick and rng.random() < 0.4) else "刚性支出困难"
        elif v < 2.0 * s:
            new = "刚性支出困难" if sick else "其他低收入"
        else:
            new = None
        if old is None:                         # application by an outside household
            if new is None:
                return False
        if new is None:
            if rng.random() < 0.75:
                h["status"] = "退出"
                h["exit"] = d
                self.log[h["hid"]].append((t, "exit"))
                return True
            new = "其他低收入"
        if new != old:
            h["cat"] = new
            h["grant"] = d + dt.timedelta(days=rng.randint(0, 12))
        if h["cat"] == "低保":
            h["benefit"] = round(max(s - v, 0.12 * s) * len(h["rec_members"]))
        elif h["cat"] == "特困":
            h["benefit"] = round(tekun_std(h["urban"]) * len(h["rec_members"]))
        else:
            h["benefit"] = 0.0
        return True

    def flush_pending(self, h, force=False, upto=None):
        keep = []
        for item in self.pending:
            d, hid, op, pid = item
            if hid != h["hid"] or not (force or (upto and d <= upto)):
                keep.append(item)
                continue
            if op == "add" and pid not in h["rec_members"]:
                h["rec_members"].append(pid)
                p = self.persons[pid]
                h["rec_attrs"][pid] = (p["labor"], p["health"], p["student"])
            elif op == "del" and pid in h["rec_members"]:
                h["rec_members"].remove(pid)
            if h["auto_size"]:
                h["size_rec"] = len(h["rec_members"])
        self.pending = keep

    # ------------------------------------------------------------------ simulation
    def run(self):
        rng = self.rng
        self.build_firms()
        # initial population (2022-07)
        for _ in range(self.n0):
            self.make_household(0)
        self.plan_firm_shocks()
        # initial categories from a pre-history check (2021-09 .. 2022-06)
        for h in self.hh.values():
            for t in (-3, -2, -1):
                inc = self.household_income(h, 0)
                infl = sum(self.persons[q]["informal"] for q in h["members"] if self.persons[q]["inf_on"])
                h["income"][t] = (inc, inc / len(h["members"]), infl)
        for h in list(self.hh.values()):
            self.init_category(h)
        # outside persons: discovery population and rs-only coworkers
        self.make_outside()
        for t in range(len(MONTHS)):
            self.step(t)
        return self

    def init_category(self, h):
        rng = self.rng
        d = rand_date(rng, dt.date(2021, 9, 1), dt.date(2022, 6, 30))
        s = dibao_std(d, h["urban"])
        v = self.measure(h, 0, d) * (1 + rng.gauss(0, 0.03))
        v = round(v, 2)
        typ = h["typ"]
        size = len(h["members"])
        if size <= 2 and typ in ("A", "E", "F") and v < 1.1 * s and rng.random() < 0.45 and all(
                self.persons[q]["labor"] != "有劳动能力" or age_at(self.persons[q]["birth"], d) >= 60
                for q in h["members"]):
            cat = "特困"
        elif v < s:
            cat = "低保"
        elif v < 1.5 * s:
            cat = "刚性支出困难" if (h["heavy_medical"] and rng.random() < 0.6) else "低保边缘"
        elif v < 2.1 * s:
            cat = "刚性支出困难" if h["heavy_medical"] or rng.random() < 0.2 else "其他低收入"
        else:
            # too rich for the register: drop or shrink income source (keeps the population low-income)
            cat = "其他低收入" if rng.random() < 0.25 else None
        if cat is None:
            self.drop_household(h)
            return
        h["cat"] = cat
        h["checks"].append((d, v, "initial"))
        h["grant"] = d - dt.timedelta(days=rng.randint(0, 900)) if rng.random() < 0.6 else d
        for q in h["rec_members"]:
            p = self.persons[q]
            h["rec_attrs"][q] = (p["labor"], p["health"], p["student"])
        if cat == "低保":
            h["benefit"] = round(max(s - v, 0.12 * s) * size)
        elif cat == "特困":
            h["benefit"] = round(tekun_std(h["urban"]) * size)

    def drop_household(self, h):
        for q in h["members"]:
            p = self.persons.pop(q)
            if p["job"]:
                self.firms[p["job"]["firm"]]["workers"].discard(q)
            if p["cert"]:
                self.certs = [c for c in self.certs if c["pid"] != q]
        self.reg_events = [e for e in self.reg_events if e["pid"] not in set(h["members"])]
        del self.hh[h["hid"]]

    # outside persons ----------------------------------------------------------------
    def make_outside(self):
        rng = self.rng
        d0 = month_start(0)
        # rs-only coworkers (never in mz or cl)
        for f in self.firms:
            for _ in range(rng.choice((1, 2, 2, 3))):
                a = rng.randint(20, 55)
                p = self.new_person(d0 - dt.timedelta(days=int(a * 365.25) + rng.randint(0, 364)),
                                    county=f["county"], kind="coworker", nonlocal_=rng.random() < 0.1)
                p["code"] = self.res_code(f["county"], rng.random() < 0.4)
                self.hire(p, f, d0 - dt.timedelta(days=rng.randint(30, 2500)))
        # disability certificate holders outside the monitored population
        self.outside_cert = []
        for _ in range(1050):
            a = rng.choices([rng.randint(3, 17), rng.randint(18, 59), rng.randint(60, 88)], weights=(12, 55, 33))[0]
            p = self.new_person(d0 - dt.timedelta(days=int(a * 365.25) + rng.randint(0, 364)),
                                kind="outside", nonlocal_=rng.random() < 0.03)
            p["code"] = self.res_code(p["county"], rng.random() < 0.35)
            c = self.issue_cert(p, d0 - dt.timedelta(days=rng.randint(100, 5000)))
            if rng.random() < 0.05:
                c["status"] = "注销"
                c["cancel"] = d0 - dt.timedelta(days=rng.randint(10, 90))
            self.outside_cert.append(p)
            if 18 <= a <= 58:
                emp_p = 0.12 if c["grade"] <= 2 else 0.42
                r = rng.random()
                if r < emp_p:
                    f = self.pick_firm(p["county"], welfare=c["grade"] <= 2 or rng.random() < 0.2, t=0)
                    self.hire(p, f, d0 - dt.timedelta(days=rng.randint(60, 3000)), register=rng.random() < 0.85)
                elif r < emp_p + 0.10:      # old job, closed
                    st = d0 - dt.timedelta(days=rng.randint(900, 4000))
                    fn = rng.choice(self.firms)["name"]
                    self.reg(p, "就业登记", st, fn)
                    self.reg(p, "就业登记注销", st + dt.timedelta(days=rng.randint(100, 800)), fn)
                elif r < emp_p + 0.13:      # open unemployment registration
                    self.reg(p, "失业登记", d0 - dt.timedelta(days=rng.randint(30, 600)))
                    p["ui_open"] = True
                if not p["job"] and rng.random() < 0.45:
                    p["resident_tier"] = rng.choice((300, 300, 500, 800))
        self.plant_discovery()

    def plant_discovery(self):
        """Boundary cases for the 单人保 rule (scoring date 2024-11-30)."""
        rng = self.rng
        self.planted = {}
        t_asof = AS_OF_T

        def mk(tag, birth, grade=2, status="有效", issued=None, mism=None):
            p = self.new_person(birth, kind="outside")
            p["code"] = self.res_code(p["county"], rng.random() < 0.4)
            c = self.issue_cert(p, issued or rand_date(rng, dt.date(2012, 1, 1), dt.date(2023, 12, 31)), grade=grade)
            c["status"] = status
            if status == "注销":
                c["cancel"] = dt.date(2024, 4, 2)
            c["mism"] = mism
            self.planted[p["pid"]] = tag
            self.outside_cert.append(p)
            return p

        adult = lambda: rand_date(rng, dt.date(1960, 1, 1), dt.date(2000, 12, 31))
        for _ in range(2):
            mk("age_exactly_18", dt.date(2006, 11, 30), grade=1)
            mk("age_18_tomorrow", dt.date(2006, 12, 1), grade=1)
        for _ in range(3):   # last 企业 contribution 202408: outside the window -> qualifies
            p = mk("contrib_ended_202408", adult())
            f = self.pick_firm(p["county"], welfare=True, t=0)
            self.hire(p, f, dt.date(2021, 3, 1), register=False)
            p["job"]["end_t"] = MI[(2024, 8)]
        for _ in range(3):   # last contribution 202409: inside the window -> employed
            p = mk("contrib_until_202409", adult())
            f = self.pick_firm(p["county"], welfare=True, t=0)
            self.hire(p, f, dt.date(2020, 5, 1), register=False)
            p["job"]["end_t"] = MI[(2024, 9)]
        for _ in range(3):   # 就业登记 closed by 注销 before the scoring date
            p = mk("employment_closed_before", adult())
            f = self.pick_firm(p["county"], welfare=True, t=0)
            self.hire(p, f, dt.date(2019, 6, 3))
            p["job"]["end_date"] = dt.date(2024, 7, rng.randint(1, 28))
            p["job"]["nocontrib"] = rng.random() < 0.5
        for _ in range(3):   # 就业登记注销 only after the scoring date -> employed on 11-30
            p = mk("employment_closed_after", adult())
            f = self.pick_firm(p["county"], welfare=True, t=0)
            self.hire(p, f, dt.date(2018, 4, 9))
            p["job"]["end_date"] = dt.date(2024, 12, rng.randint(2, 20))
            p["job"]["nocontrib"] = True
        for _ in range(3):   # open 就业登记 from long ago, no contributions at all
            p = mk("old_open_registration", adult())
            self.reg(p, "就业登记", rand_date(rng, dt.date(2014, 1, 1), dt.date(2019, 12, 31)),
                     rng.choice(self.firms)["name"])
        for _ in range(3):   # 就业登记 after the scoring date -> not employed on 11-30
            p = mk("hired_after_asof", adult())
            p["hire_date"] = dt.date(2024, 12, rng.randint(2, 20))
        for _ in range(3):   # hired 2024-11 but the 就业登记 arrives only with the 12-31 delivery
            p = mk("late_registration_ambiguous", adult())
            p["hire_date"] = dt.date(2024, 11, rng.randint(10, 25))
            p["late_reg"] = True
        for _ in range(3):
            p = mk("open_unemployment_only", adult())
            self.reg(p, "失业登记", dt.date(2024, rng.randint(2, 9), rng.randint(1, 28)))
            p["ui_open"] = True
        for _ in range(3):
            p = mk("resident_pension_only", adult())
            p["resident_tier"] = 300
        for _ in range(2):
            mk("cert_cancelled", adult(), status="注销")
        for _ in range(2):
            mk("grade_3", adult(), grade=3)
        for _ in range(2):   # digits say grade 3, text says 二级 -> text wins -> qualifies
            mk("digits_disagree_text_2", adult(), grade=2, mism=(None, 3))
        for _ in range(2):   # digits say grade 2, text says 三级 -> text wins -> not
            mk("digits_disagree_text_3", adult(), grade=3, mism=(None, 2))
        for _ in range(2):   # certificate issued in December: not held on 11-30
            mk("cert_issued_after_asof", adult(), issued=dt.date(2024, 12, rng.randint(2, 20)))

    # monthly step --------------------------------------------------------------------
    def step(self, t):
        rng = self.rng
        d_end = month_end(t)
        d_start = month_start(t)
        # firm closures this month
        for f in self.firms:
            if f["close"] and t_of(f["close"]) == t:
                for q in sorted(f["workers"]):
                    p = self.persons[q]
                    if not p["alive"] or not p["job"]:
                        continue
                    dd = f["close"] + dt.timedelta(days=rng.randint(0, 3))
                    if rng.random() < 0.86:
                        self.separate(p, dd, ui_prob=0.45)
                        if p["hid"]:
                            self.log[p["hid"]].append((t, "closure_layoff"))
                    else:
                        self.separate(p, dd, ui_prob=0.0)
                        self.hire(p, self.pick_firm(p["county"], t=t), dd + dt.timedelta(days=rng.randint(3, 15)))
        # persons
        for p in list(self.persons.values()):
            if not p["alive"]:
                continue
            a = age_at(p["birth"], d_end)
            h = self.hh.get(p["hid"]) if p["hid"] else None
            # planted job ends
            j = p["job"]
            if j and j.get("end_date") and t_of(j["end_date"]) == t:
                self.separate(p, j["end_date"], ui_prob=0.0)
                j = None
            if p.get("hire_date") and t_of(p["hire_date"]) == t:
                self.hire(p, self.pick_firm(p["county"], welfare=True, t=t), p["hire_date"])
                j = p["job"]
                j["nocontrib"] = True
                if p.get("late_reg"):
                    self.reg_events[-1]["deliv"] = t + 1
            # contributions for this month
            if j:
                f = self.firms[j["firm"]]
                st = self.firm_state(f, t)
                if j.get("end_t") is not None and t > j["end_t"]:
                    f["workers"].discard(p["pid"])
                    p["job"] = None
                elif j.get("nocontrib"):
                    pass
                elif j.get("no_contrib_before") and t < j["no_contrib_before"]:
                    pass
                elif st == "ok" or (st == "distress" and f["mode"] == "base_cut"):
                    base = j["base"] or (3600.0 if d_end < dt.date(2024, 1, 1) else 3800.0)
                    if st == "distress":
                        base = round(base * 0.6, -1)
                    self.contrib(p, t, "企业职工基本养老保险", base, f["name"])
                    if p["ui_insured"]:
                        self.contrib(p, t, "失业保险", base, f["name"])
            if p["resident_tier"] and not p["job"] and MONTHS[t][1] == p.setdefault("pay_month", rng.randint(3, 7)):
                self.contrib(p, t, "城乡居民基本养老保险", float(p["resident_tier"]), "")
            if p["kind"] != "member":
                continue
            # --- members only: life events
            if j and j.get("end_t") is None and rng.random() < 0.0045:
                self.separate(p, rand_date(rng, d_start, d_end), ui_prob=0.4)
                self.log[p["hid"]].append((t, "job_loss"))
            elif not j and p["unemployed_since"] and p["labor"] != "完全丧失" and 18 <= a <= 58 and not p["sick_until"]:
                r = rng.random()
                lo = max(d_start, p["unemployed_since"] + dt.timedelta(days=1))
                if r < 0.085 and lo <= d_end:
                    self.hire(p, self.pick_firm(p["county"], t=t), rand_date(rng, lo, d_end))
                    self.log[p["hid"]].append((t, "reemployed"))
                elif r < 0.13 and not p["inf_on"]:
                    p["informal"] = rng.uniform(700, 1900)
                    p["inf_on"] = True
                    p["unemployed_since"] = None
                    self.log[p["hid"]].append((t, "informal_start"))
            if p["inf_on"]:
                if rng.random() < 0.007:
                    p["inf_on"] = False
                    p["inf_stop"] = t
                    self.log[p["hid"]].append((t, "informal_stop"))
            elif p["informal"] > 0 and p.get("inf_stop") is not None and rng.random() < 0.22:
                p["inf_on"] = True
                self.log[p["hid"]].append((t, "informal_resume"))
            # illness
            if p["sick_until"] is not None:
                if t >= p["sick_until"]:
                    p["sick_until"] = None
                    p["health"] = "慢性病"
                    self.log[p["hid"]].append((t, "recovered"))
                    if p.get("lost_job_to_illness") and rng.random() < 0.6:
                        p["informal"] = p["informal"] or rng.uniform(600, 1600)
                        p["inf_on"] = True
            elif 18 <= a <= 75 and rng.random() < 0.0013:
                p["health"] = "重病"
                p["sick_until"] = t + rng.randint(3, 14)
                if p["job"]:
                    self.separate(p, rand_date(rng, d_start, d_end), ui_prob=0.05)
                    p["lost_job_to_illness"] = True
                self.log[p["hid"]].append((t, "illness"))
            # disability onset
            if (p["cert"] is None or p["cert"]["status"] != "有效") and a >= 5 and rng.random() < 0.0005:
                g = rng.choices((1, 2, 3, 4), weights=(15, 30, 30, 25))[0]
                p["health"] = "残疾"
                p["pending_cert"] = (d_end + dt.timedelta(days=rng.randint(45, 150)), g)
                if g <= 2:
                    p["labor"] = "完全丧失"
                    if p["job"]:
                        self.separate(p, rand_date(rng, d_start, d_end), ui_prob=0.0)
                    p["inf_on"] = False
                    p["informal"] = 0.0
                self.log[p["hid"]].append((t, "disability"))
            if p.get("pending_cert") and p["pending_cert"][0] <= d_end:
                self.issue_cert(p, p["pending_cert"][0], grade=p["pending_cert"][1])
                p["pending_cert"] = None
            # death
            if a >= 62 and rng.random() < min(0.03, 0.0009 * math.exp(0.085 * (a - 62))):
                self.kill(p, rand_date(rng, d_start, d_end), t)
                continue
            # departure of adult children
            if p["rel"] in ("子女",) and 20 <= a <= 34 and p["student"] == "否" and h and len(h["members"]) > 2 \
                    and rng.random() < 0.0035:
                self.depart(p, rand_date(rng, d_start, d_end), t)
                continue
            # student finishes school
            if p["student"] == "是" and a >= 19 and MONTHS[t][1] == 7 and rng.random() < 0.5:
                p["student"] = "否"
                if rng.random() < 0.6:
                    p["informal"] = rng.uniform(900, 2000)
                    p["inf_on"] = True
                    self.log[p["hid"]].append((t, "child_starts_work"))
            # pension start is automatic (age >= 60 in person_income)
        # births and transfers (household level)
        for h in self.hh.values():
            if not any(self.persons[q]["alive"] for q in h["members"]):
                continue
            hd = [self.persons[q] for q in h["members"]]
            moms = [p for p in hd if p["sex"] == "女" and 22 <= age_at(p["birth"], d_end) <= 40
                    and p["rel"] in ("本人", "配偶")]
            if moms and any(p["sex"] == "男" and p["rel"] in ("本人", "配偶") for p in hd) and rng.random() < 0.004:
                self.birth(h, moms[0], rand_date(rng, d_start, d_end), t)
            if h["transfer"] > 0:
                if h["transfer_on"] and rng.random() < 0.006:
                    h["transfer_on"] = False
                    self.log[h["hid"]].append((t, "transfer_stop"))
                elif not h["transfer_on"] and rng.random() < 0.05:
                    h["transfer_on"] = True
                    self.log[h["hid"]].append((t, "transfer_resume"))
        # incomes this month
        for h in self.hh.values():
            if not h["members"]:
                h["income"][t] = (0.0, 0.0, 0.0)
                continue
            inc = self.household_income(h, t)
            infl = sum(self.persons[q]["informal"] * (1 + self.persons[q]["inf_e"]) for q in h["members"]
                       if self.persons[q]["inf_on"] and not self.persons[q]["sick_until"])
            h["income"][t] = (inc, inc / len(h["members"]), infl)
        # checks
        self.checks_for_month(t)
        if t == MI[(2024, 3)]:
            self.plant_exited(t)
        # new entrants
        if t >= 1:
            for _ in range(rng.choice((6, 7, 8, 9, 10))):
                self.entrant(t)
            for _ in range(rng.choice((1, 2, 2, 3))):
                self.outreach_entrant(t)
        # member-register updates reported by households
        for h in self.hh.values():
            self.flush_pending(h, upto=d_end)
        if t in DELIV_T:
            self.snapshot(t)

    def backfill_contribs(self, h, t):
        """Contributions an entrant's workers paid before the household entered the register."""
        for q in h["members"]:
            p = self.persons[q]
            j = p["job"]
            if not j:
                continue
            f = self.firms[j["firm"]]
            base = j["base"] or 3800.0
            for x in range(max(0, t_of(j["start"]) + 1), t):
                b = base if month_end(x) >= dt.date(2024, 1, 1) or j["base"] else 3600.0
                self.contrib(p, x, "企业职工基本养老保险", b, f["name"])
                if p["ui_insured"]:
                    self.contrib(p, x, "失业保险", b, f["name"])

    def plant_exited(self, t):
        """A few members of recently exited households get a grade-1/2 certificate: uncovered, may qualify."""
        rng = self.rng
        d = month_end(t)
        n = 0
        for h in sorted(self.hh.values(), key=lambda h: h["hid"]):
            if n >= 6 or h["status"] != "退出" or not h["exit"] or h["exit"] < dt.date(2023, 12, 5):
                continue
            for q in h["members"]:
                p = self.persons[q]
                if 18 <= age_at(p["birth"], d) <= 70 and not p["job"] and p["cert"] is None and p["alive"]:
                    self.issue_cert(p, rand_date(rng, month_start(t), d), grade=rng.choice((1, 2)))
                    p["labor"], p["health"], p["inf_on"] = "完全丧失", "残疾", False
                    self.planted[q] = "exited_household"
                    n += 1
                    break

    def kill(self, p, d, t):
        p["alive"] = False
        p["death"] = d
        if p["job"]:
            self.separate(p, d, ui_prob=0.0)
        p["inf_on"] = False
        h = self.hh.get(p["hid"])
        if p["cert"] and p["cert"]["status"] == "有效":
            p["cert"]["status"] = "注销"
            p["cert"]["cancel"] = d + dt.timedelta(days=self.rng.randint(20, 120))
        if h:
            h["members"].remove(p["pid"])
            self.log[h["hid"]].append((t, "death"))
            self.pending.append((d + dt.timedelta(days=self.rng.randint(20, 110)), h["hid"], "del", p["pid"]))
            if not h["members"] and h["status"] == "在册":
                h["status"] = "退出"
                h["exit"] = d + dt.timedelta(days=self.rng.randint(10, 60))

    def depart(self, p, d, t):
        h = self.hh[p["hid"]]
        h["members"].remove(p["pid"])
        p["moved_out"] = d
        p["kind"] = "departed"
        self.log[h["hid"]].append((t, "departure"))
        self.pending.append((d + dt.timedelta(days=self.rng.randint(25, 130)), h["hid"], "del", p["pid"]))

    def birth(self, h, mom, d, t):
        dad_name = [self.persons[q] for q in h["members"] if self.persons[q]["sex"] == "男"
                    and self.persons[q]["rel"] in ("本人", "配偶")][0]["name"][0]
        c = self.new_person(d, county=h["county"], surname=dad_name)
        c["hid"] = h["hid"]
        c["code"] = h["code"]
        c["rel"] = "子女" if mom["rel"] in ("本人", "配偶") else "孙子女"
        c["labor"] = "完全丧失"
        h["members"].append(c["pid"])
        self.log[h["hid"]].append((t, "birth"))
        self.pending.append((d + dt.timedelta(days=self.rng.randint(20, 100)), h["hid"], "add", c["pid"]))

    def entrant(self, t):
        """An outside household applies (usually after a shock): application check."""
        rng = self.rng
        h = self.make_household(t, entrant=True)
        # recent shock
        r = rng.random()
        workers = [self.persons[q] for q in h["members"] if self.persons[q]["job"]]
        d_start = month_start(t)
        if workers and r < 0.55:
            w = rng.choice(workers)
            self.separate(w, d_start - dt.timedelta(days=rng.randint(10, 80)), ui_prob=0.4)
        elif r < 0.75:
            adults = [self.persons[q] for q in h["members"] if 20 <= age_at(self.persons[q]["birth"], d_start) <= 70]
            if adults:
                p = rng.choice(adults)
                p["health"] = "重病"
                p["sick_until"] = t + rng.randint(3, 12)
                if p["job"]:
                    self.separate(p, d_start - dt.timedelta(days=rng.randint(5, 60)), ui_prob=0.0)
                p["inf_on"] = False
        for x in (t - 2, t - 1, t):
            inc = self.household_income(h, max(0, x))
            infl = sum(self.persons[q]["informal"] for q in h["members"] if self.persons[q]["inf_on"])
            h["income"][x] = (inc, inc / len(h["members"]), infl)
        d = rand_date(rng, month_start(t), month_end(t))
        if not self.do_check(h, t, d, "application"):
            self.drop_household(h)
        else:
            h["entered"] = t
            self.backfill_contribs(h, t)

    def outreach_entrant(self, t):
        """Found by 排查 (outreach), registered as 其他低收入 without an income check yet."""
        rng = self.rng
        h = self.make_household(t)
        inc = self.household_income(h, t)
        s = dibao_std(month_end(t), h["urban"])
        if inc / len(h["members"]) > 2.2 * s:
            self.drop_household(h)
            return
        h["cat"] = "其他低收入"
        h["grant"] = rand_date(rng, month_start(t), month_end(t))
        h["entered"] = t
        h["income"][t] = (inc, inc / len(h["members"]),
                          sum(self.persons[q]["informal"] for q in h["members"] if self.persons[q]["inf_on"]))
        self.backfill_contribs(h, t)
        for q in h["rec_members"]:
            p = self.persons[q]
            h["rec_attrs"][q] = (p["labor"], p["health"], p["student"])

    def checks_for_month(self, t):
        rng = self.rng
        d0, d1 = month_start(t), month_end(t)
        for a, b in CAMPAIGNS:
            if t_of(a) == t:   # campaign starts: schedule
                for h in self.hh.values():
                    if h["status"] != "在册" or h["cat"] is None:
                        continue
                    p = 0.78 if h["cat"] in ("低保", "特困") else 0.60
                    if not h["checks"]:
                        p = 0.9
                    if rng.random() < p:
                        self.next_check[h["hid"]] = rand_date(rng, a, b)
        for h in list(self.hh.values()):
            if h["status"] != "在册" or h["cat"] is None or not h["members"]:
                continue
            if h["entered"] == t and h["checks"] and h["checks"][-1][2] == "application":
                continue
            nd = self.next_check.get(h["hid"])
            reason = None
            if nd and d0 <= nd <= d1:
                reason, d = "campaign", nd
                del self.next_check[h["hid"]]
            else:
                s = dibao_std(d1, h["urban"])
                pc = h["income"][t][1]
                if h["cat"] not in ("低保", "特困") and pc < s and rng.random() < 0.06:
                    reason = "application"
                elif rng.random() < 0.004:
                    reason = "adhoc"
                d = rand_date(rng, d0, d1)
            if reason:
                self.do_check(h, t, d, reason)

    # ------------------------------------------------------------------ snapshots
    def snapshot(self, t):
        """Clean records of what mz and cl hold on the month-end t (rs is event-based)."""
        D = month_end(t)
        hh_rows, mem_rows = [], []
        for h in self.hh.values():
            if h["cat"] is None:
                continue
            if h["status"] == "退出" and (h["exit"] is None or (D - h["exit"]).days > 365):
                continue
            if h["status"] == "退出" and h["exit"] > D:
                st = "在册"
            else:
                st = h["status"]
            rec = [q for q in h["rec_members"]]
            if not rec:
                continue
            head = None
            for q in rec:
                if self.persons[q]["rel"] == "本人" and self.persons[q]["alive"]:
                    head = self.persons[q]
                    break
            if head is None:
                head = self.persons[rec[0]]
            last = h["checks"][-1] if h["checks"] else None
            hh_rows.append(dict(hid=h["hid"], head=head["pid"], head_name=head["name"], code=h["code"],
                                urban=h["urban"], cat=h["cat"], status=st, size=h["size_rec"],
                                income=None if last is None else last[1],
                                check=None if last is None else last[0], benefit=h["benefit"] if st == "在册" else 0.0,
                                grant=h["grant"], county=h["county"]))
            for q in rec:
                p = self.persons[q]
                labor, health, student = h["rec_attrs"].get(q, (p["labor"], p["health"], p["student"]))
                rel = p["rel"] if p is not head else "本人"
                if p is not head and rel == "本人":
                    rel = "配偶"
                mem_rows.append(dict(hid=h["hid"], pid=q, name=p["name"], rel=rel, sex=p["sex"], birth=p["birth"],
                                     labor=labor, health=health, student=student))
        certs = []
        for c in self.certs:
            if c["issued"] > D:
                continue
            p = self.persons.get(c["pid"])
            if p is None:
                continue
            st = "注销" if (c["status"] == "注销" and c["cancel"] and c["cancel"] <= D) else "有效"
            hh = self.hh.get(p["hid"]) if p["hid"] else None
            in_db = bool(hh and hh["status"] == "在册" and hh["cat"] in ("低保", "特困")
                         and p["pid"] in hh["members"])
            certs.append(dict(pid=c["pid"], name=p["name"], kind=c["kind"], grade=c["grade"], issued=c["issued"],
                              status=st, code=p["code"] or hh and hh["code"], living=in_db and st == "有效",
                              nursing=(c["grade"] <= 2 and st == "有效" and int(c["pid"][10:16]) % 10 != 0),
                              mism=c["mism"], cobj=c))
        self.snap[D] = dict(mz_h=hh_rows, mz_m=mem_rows, cl=certs)
