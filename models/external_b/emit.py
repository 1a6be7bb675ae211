#!/usr/bin/env python3
"""external-b: write the landing deliveries (with planted defects) and the ground truth.

    .venv/bin/python models/external_b/emit.py --out DIR [--seed S]

Needs openpyxl for the few XLSX deliveries (the project's venv has it); everything else is
the standard library.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import os
import random
import shutil
import sys
import time
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world as W  # noqa: E402
from world import month_end, ym, dibao_std, age_at, CAT_DB, CAT_TK, SCORED_CATS  # noqa: E402

DT = [W.FIRST_EXTRACT_T + k for k in range(W.N_EXTRACTS)]          # extract months t
SCORING_T = W.SCORING_T
LAST_T = DT[-1]
# special deliveries
REJECT = ("mz", 31)        # 2023-08-31: households.csv truncated vs _READY counts
REPLAY = ("cl", 33, 32)    # 2023-10-31 is a byte copy of 2023-09-30
CORRECTION = ("mz", 38)    # 2024-03-31 re-delivered corrected (landing holds the correction)
LATE_RS = 29               # rs 2023-06-30 delivered empty; its records arrive 2023-07-31
MISSING_CL = 37            # no cl delivery for 2024-02-29 at all
INCOMPLETE = ("mz", LAST_T)
XLSX_CL = {27, 28, 29}     # cl 2023-04..06 as xlsx
XLSX_RS_REG = {41}         # rs registrations 2024-06 as xlsx
GB_RS = {34}               # rs 2023-11 in GB18030
SERIAL_CL = 28             # every 发证日期 an Excel serial in cl 2023-05 (xlsx)
FLOATID_RS = 38            # rs contributions 2024-03: IDs exported as floats

HH_COLS = ["家庭编号", "户主身份证号", "户主姓名", "行政区划代码", "城乡属性", "保障类别", "保障状态", "家庭人口数",
           "月人均收入", "核对日期", "月保障金额", "认定日期"]
MEM_COLS = ["家庭编号", "身份证号", "姓名", "与户主关系", "性别", "出生日期", "劳动能力", "健康状况", "在校生"]
CL_COLS = ["残疾人证号", "姓名", "残疾类别", "残疾等级", "发证日期", "证件状态", "行政区划代码", "享受生活补贴", "享受护理补贴"]
REG_COLS = ["身份证号", "姓名", "登记类型", "登记日期", "单位名称", "行政区划代码"]
CON_COLS = ["身份证号", "缴费年月", "险种", "缴费基数", "单位名称"]
CTYPE = {
    "家庭编号": "hid", "户主身份证号": "id", "身份证号": "id", "户主姓名": "opt", "姓名": "opt", "行政区划代码": "code",
    "城乡属性": "enum_ur", "保障类别": "enum", "保障状态": "enum", "家庭人口数": "int", "月人均收入": "amount_opt",
    "核对日期": "date_opt", "月保障金额": "amount_opt", "认定日期": "date", "与户主关系": "enum", "性别": "enum",
    "出生日期": "date", "劳动能力": "enum", "健康状况": "enum", "在校生": "enum", "残疾人证号": "cert",
    "残疾类别": "enum", "残疾等级": "grade", "发证日期": "date", "证件状态": "enum", "享受生活补贴": "enum",
    "享受护理补贴": "enum", "登记类型": "enum", "登记日期": "date", "单位名称": "opt", "缴费年月": "ym",
    "险种": "enum", "缴费基数": "amount",
}
UNKNOWN = {
    "城乡属性": ["城郊", "乡镇"], "保障类别": ["低保户", "五保", "临时救助"], "保障状态": ["暂停", "待审核"],
    "与户主关系": ["儿子", "女婿"], "性别": ["未知", "M"], "劳动能力": ["一般", "弱劳动力"], "健康状况": ["良好", "大病"],
    "在校生": ["Y", "不详"], "残疾类别": ["肢残", "智障"], "残疾等级": ["五级", "特级"], "证件状态": ["过期", "挂失"],
    "享受生活补贴": ["有", "不详"], "享受护理补贴": ["有", "不详"], "登记类型": ["就业", "失业"],
    "险种": ["职工养老", "医疗保险"],
}
DTYPE = {1: "视力", 2: "听力", 3: "言语", 4: "肢体", 5: "智力", 6: "精神", 7: "多重"}
GRADE = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
FW = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


DYNAMICS = [
    "Persons and households simulated monthly 2021-01..2025-02 (24 burn-in months, 24 deliveries 2023-01..2024-12, label months 2024-12..2025-02); scoring date 2024-11-30.",
    "Initial monitored stock drawn by rejection sampling on expected per-capita income / standard (bins 0-0.6, 0.6-1, 1-1.3, 1.3-1.7, 1.7-2.2, >2.2); an at-risk pool of non-monitored households (refilled monthly) applies when income falls (below the line, or a 25% drop over 3 months).",
    "Income = formal wages + informal/migrant wages (paid a seasonal share: Dec 0.90, spring-festival month 0.80-0.84, months around it 0.86-0.90, Jul-Aug 0.92) + farm income (grain: wheat June and corn Sep-Oct peaks; greenhouse vegetables in 莘县/冠县 peak in winter; June 2023 harvest rain x0.55) + resident or enterprise pensions + unemployment insurance benefit (registered, insured >=12 months) + private transfers that stop and resume. Social assistance and disability subsidies are not income.",
    "Formal job loss: county base hazard (5-12%/yr x0.7) x age factor (0.7 <35, 1.0 <45, 1.3 <52, 1.8 older) x industry shocks (茌平 aluminium 2024-04..11 x3.2, 临清 bearings 2023-H2 x1.8, 高唐 paper 2024-09.. x2.4, 冠县 textiles 2024-H1 x1.6); re-employment hazard falls with age; some drift to informal work.",
    "Informal work toggles off/on (0.8%/month off, 20%/month back); severe illness (age-rising hazard, half recover in 5-20 months) and disability onset stop work, and a spouse may cut work to care; disability certificates are issued 2-10 months after onset and graded up on re-assessment; certificates of the dead are cancelled 2-14 months late.",
    "Births (wives 20-40, 5.5%/yr), deaths (age and illness), adult children leaving home, elderly households merging into a child's monitored household, moves away: all real at once, recorded by 民政 1-9 months late (or at the next check).",
    "Income checks (核对) are event-driven: on application (6-month window), when the household reports a change (job loss, illness, birth, death; 20-35% report within 1-3 months, 3-month window), on re-application; plus county review cycles: 东昌府 Mar+Sep, 东阿 Jan+Jul, 茌平 Apr, 临清 May, 莘县 Jun, 高唐 Aug, 阳谷 Oct, 冠县 rarely (random ~3%/month); 低保/特困 reviewed at 95%, others at 62%. Cycle checks average 6 (东昌府, 东阿, 高唐) or 12 months.",
    "A check sees formal wages and pensions in full, informal income under-declared (household factor 0.72-0.97), farm income from per-mu norms without seasonality, 80% of transfers, x lognormal noise (sd 0.035), divided by the registered (possibly stale) household size.",
    "Category at a check (c = checked income / standard): 特困 if all members old or unable to work and c < 特困/低保 ratio; 低保 if c < 1 (approval takes 1-2 months, during which the household still shows its old category with the new low income); 低保边缘 if c < 1.5; 刚性支出困难 for severe illness / grade 1-2 disability up to 2.2; 其他低收入 below 2.0; otherwise exit (退出 rows stay 12 months).",
    "rs only exchanges records of persons already seen in an mz or cl snapshot; events arrive 0/1/2 deliveries late (70/20/10%), contributions 55/33/12%; the first rs delivery carries the history (registrations since hire, contributions since 2022-01). Contribution bases are updated each July from last year's wages, floored by the provincial minimum.",
]


def iso(d):
    return d.isoformat() if d else ""


def amt(v):
    return "" if v is None else f"{v:.2f}"


class Planter:
    """applies cell defects and duplicates to one file's clean rows and records them."""

    def __init__(self, rng, defects, source, date, fname, xlsx=False):
        self.rng, self.defects, self.source, self.date, self.fname, self.xlsx = rng, defects, source, date, fname, xlsx

    def rec(self, line, kind, expected, col="", raw="", clean=""):
        self.defects.append(dict(source=self.source, extract_date=self.date, file_name=self.fname, line_number=line,
                                 kind=kind, expected=expected, column_name=col, raw_value=raw, clean_value=clean))

    def repair(self, col, v):
        """a repairable rewrite of clean value v, or None when the column has none."""
        r = self.rng
        ty = CTYPE[col]
        opts = []
        if ty == "id" and v:
            if v[6:8] == "19":
                opts.append(("id_15digit", v[:6] + v[8:17]))
            if v.endswith("X"):
                opts += [("id_lowercase_x", v[:-1] + "x"), ("id_fullwidth_x", v[:-1] + "Ｘ")]
            else:
                if not self.xlsx:
                    opts += [("id_float_full", v + ".0"), ("id_sci_full", f"{v[0]}.{v[1:]}E+17")]
            opts += [("id_spaces", r.choice([f" {v} ", f"{v[:6]} {v[6:14]} {v[14:]}", f"{v}  "])),
                     ("id_fullwidth_digits", v.translate(FW))]
        elif ty in ("date", "date_opt") and v:
            d = dt.date.fromisoformat(v)
            opts = [("date_slash", f"{d.year}/{d.month}/{d.day}"), ("date_compact", d.strftime("%Y%m%d")),
                    ("date_chinese", f"{d.year}年{d.month}月{d.day}日"), ("date_dot", d.strftime("%Y.%m.%d")),
                    ("date_excel_serial", str((d - dt.date(1899, 12, 30)).days))]
        elif ty in ("amount", "amount_opt") and v:
            f = float(v)
            opts = [("amount_yuan_suffix", f"{v}元" if r.random() < 0.5 else f"{f:g}元"), ("amount_spaces", f"  {v} ")]
            if f >= 1000:
                opts.append(("amount_thousands", f"{f:,.2f}"))
        elif ty == "enum" and v:
            opts = [("enum_spaces", r.choice([f" {v}", f"{v} ", f" {v}  "]))]
        elif ty == "enum_ur" and v:
            opts = [("enum_spaces", f"{v} ")] + ([("enum_chengzhen", "城镇")] * 2 if v == "城市" else [])
        elif ty == "grade" and v:
            n = "一二三四".index(v[0]) + 1
            opts = [("grade_n_ji", f"{n}级"), ("grade_digit", str(n)), ("enum_spaces", f" {v}")]
        if not opts:
            return None
        return r.choice(opts)

    def breakit(self, col, v):
        """an unrepairable rewrite (one bad cell)."""
        r = self.rng
        ty = CTYPE[col]
        if ty == "id" and v:
            opts = [("id_bad_check", v[:17] + W.CHK[(W.CHK.index(v[17]) + r.randint(1, 10)) % 11])]
            if not v.endswith("X") and not self.xlsx:
                opts.append(("id_float_lossy", f"{v[0]}.{v[1:10]}E+17"))
            opts.append(("empty_mandatory", ""))
            return r.choice(opts)
        if ty == "date":
            return r.choice([("date_unparseable", r.choice(["2023-02-30", "待补充", "0000-00-00", "20231341", "2024-13-05"])),
                             ("empty_mandatory", "")])
        if ty == "date_opt" and v:
            return ("date_unparseable", r.choice(["2023-02-30", "不详", "2024-13-05"]))
        if ty in ("amount", "amount_opt") and v and float(v) > 0:
            return ("amount_negative", "-" + v)
        if ty == "amount":
            return ("empty_mandatory", "")
        if ty in ("enum", "enum_ur", "grade"):
            if col in UNKNOWN and r.random() < 0.75:
                return ("enum_unknown", r.choice(UNKNOWN[col]))
            return ("empty_mandatory", "")
        if ty in ("code", "hid"):
            return ("empty_mandatory", "")
        return None

    def plant(self, cols, rows, p_rep, p_bad, p_dup, protect=(), no_bad=(), bad_cols=None, rep_cols=None):
        """rows: list of clean value lists. Returns (rows_out, line_map) where line_map[i] is the
        line of input row i and the set of input rows that went to quarantine."""
        r = self.rng
        out = []
        quarantined = set()
        line_of = []
        for i, row in enumerate(rows):
            row = list(row)
            line = len(out) + 2
            line_of.append(line)
            if i in protect:
                out.append(row)
                continue
            u = r.random()
            if u < p_bad and i not in no_bad:
                cands = [j for j, c in enumerate(cols) if (bad_cols is None or c in bad_cols)]
                r.shuffle(cands)
                done = 0
                for j in cands:
                    b = self.breakit(cols[j], row[j])
                    if b:
                        self.rec(line, b[0], "quarantined", cols[j], b[1], row[j])
                        row[j] = b[1]
                        done += 1
                        if done >= (2 if r.random() < 0.12 else 1):
                            break
                if done:
                    quarantined.add(i)
                out.append(row)
                continue
            if u < p_bad + p_rep:
                cands = [j for j, c in enumerate(cols) if (rep_cols is None or c in rep_cols)]
                r.shuffle(cands)
                for j in cands:
                    x = self.repair(cols[j], row[j])
                    if x:
                        self.rec(line, x[0], "repaired", cols[j], x[1], row[j])
                        row[j] = x[1]
                        break
                out.append(row)
                continue
            out.append(row)
            if u > 1 - p_dup:
                out.append(list(row))
                self.rec(len(out) + 1, "duplicate_row", "duplicate", "", "", "")
        return out, line_of, quarantined


def write_table(path, cols, rows, enc="utf-8", xlsx=False, quote_all=False, crlf=False, trailing_blank=False,
                extra=None, order=None):
    """write header + rows; extra: list of (col, fn(row)->value); order: column permutation."""
    hdr = list(cols)
    data = [list(x) for x in rows]
    if extra:
        for name, fn in extra:
            hdr.append(name)
            for d in data:
                d.append(fn(d))
    if order:
        perm = order(hdr)
        hdr = [hdr[i] for i in perm]
        data = [[d[i] for i in perm] for d in data]
    if xlsx:
        import openpyxl
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Sheet1"
        ws.append(hdr)
        for d in data:
            ws.append([int(v) if isinstance(v, str) and v.isdigit() and len(v) == 5 and h in ("发证日期", "出生日期", "登记日期") else v
                       for v, h in zip(d, hdr)])
        wb.save(path)
        return len(data)
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\r\n" if crlf else "\n")
    w.writerow(hdr)
    for d in data:
        w.writerow(d)
    txt = buf.getvalue()
    if trailing_blank:
        txt += "\r\n" if crlf else "\n"
    with open(path, "wb") as fh:
        if enc == "utf-8-sig":
            fh.write(txt.encode("utf-8-sig"))
        else:
            fh.write(txt.encode(enc))
    return len(data)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="writes landing/, truth/ and corrections/ under it")
    ap.add_argument("--seed", type=int, default=W.SEED)
    a = ap.parse_args(argv)
    t0 = time.time()
    wd = W.World(a.seed)
    wd.run()
    t_sim = time.time() - t0
    rng = random.Random(a.seed + 1)
    landing = os.path.join(a.out, "landing")
    truth = os.path.join(a.out, "truth")
    corr_dir = os.path.join(a.out, "corrections")
    for d in (landing, truth, corr_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    P = wd.persons
    defects = []
    files = []
    deliveries = []
    loaded_rows = defaultdict(list)   # (source, t) -> list of (file, clean row dict) loaded (not quarantined)
    quarantined_ids = defaultdict(set)   # t -> person ids with a quarantined row (any source) in deliveries <= t
    special = {}

    def folder(src, t):
        p = os.path.join(landing, src, iso(month_end(t)))
        os.makedirs(p, exist_ok=True)
        return p

    def ready(path, counts):
        with open(os.path.join(path, "_READY"), "w", encoding="utf-8") as fh:
            if counts is not None:
                fh.write(json.dumps({"files": counts}, ensure_ascii=False))

    def file_defect(src, t, fname, kind):
        defects.append(dict(source=src, extract_date=iso(month_end(t)), file_name=fname, line_number=1, kind=kind,
                            expected="repaired", column_name="", raw_value="", clean_value=""))

    # ------------------------------------------------------------------ mz
    size_mismatch = {}      # hid -> (t_from, t_to, delta)
    hh_ids_sorted = sorted({h["hid"] for t in DT for h in wd.snap_mz[t]})
    for hid in rng.sample(hh_ids_sorted, 9):
        t1 = rng.choice(DT[:-4])
        size_mismatch[hid] = (t1, t1 + rng.randint(2, 5), rng.choice([1, -1, 1]))
    # planted: children listed in two active households (divorced parents)
    dup_members = []   # (pid, second hid, t_from, t_to)
    for h in rng.sample([h for h in wd.snap_mz[DT[3]] if h["status"] == "在册"], 60):
        kids = [pid for pid, rel, *_ in h["members"] if rel == "子女" and age_at(P[pid].birth, month_end(DT[3])) < 16]
        if not kids:
            continue
        others = [g for g in wd.snap_mz[DT[3]] if g["status"] == "在册" and g["village"][:9] == h["village"][:9] and g["hid"] != h["hid"]]
        if others:
            dup_members.append((kids[0], rng.choice(others)["hid"], DT[3], DT[3] + rng.randint(6, 30)))
        if len(dup_members) >= 4:
            break
    dropped_hh = {(35, rng.choice([h["hid"] for h in wd.snap_mz[35] if h["category"] in (CAT_DB, CAT_TK)]))}
    mz_q_hids = {}          # t -> hids whose households row is quarantined
    mz_members_q = {}       # t -> pids whose member row quarantined
    mz_loaded = {}          # t -> (hh dict by hid of loaded rows, membership list [(hid, pid)])
    for t in DT:
        date = iso(month_end(t))
        hrows = wd.snap_mz[t]
        rng.shuffle(hrows)
        hrows.sort(key=lambda h: h["village"][:6])
        # clean rows
        H, HM = [], []
        M, MM = [], []
        for h in hrows:
            if (t, h["hid"]) in dropped_hh:
                pass
            size = h["size"]
            sm = size_mismatch.get(h["hid"])
            flag_size = sm and sm[0] <= t <= sm[1]
            if flag_size:
                size = max(1, size + sm[2])
            head = P[h["head"]]
            H.append([h["hid"], head.id, head.name if rng.random() > 0.01 else "", h["village"],
                      "城市" if h["urban"] else "农村", h["category"], h["status"], str(size),
                      amt(h["pc"]), iso(h["check_date"]),
                      ("" if (h["benefit"] == 0 and rng.random() < 0.3) else amt(h["benefit"])), iso(h["grant"])])
            HM.append(dict(hid=h["hid"], flag_size=flag_size, h=h))
            for pid, rel, health, cap, stud in h["members"]:
                p = P[pid]
                if pid == h["head"]:
                    rel = "本人"
                elif rel == "本人":
                    rel = "其他"
                M.append([h["hid"], p.id, p.name, rel, "男" if p.male else "女", iso(p.birth), cap, health, stud])
                MM.append(dict(hid=h["hid"], pid=pid))
        for pid, hid2, ta, tb in dup_members:
            if ta <= t <= tb and any(x["hid"] == hid2 for x in HM):
                p = P[pid]
                M.append([hid2, p.id, p.name, "孙子女", "男" if p.male else "女", iso(p.birth), "完全丧失", "健康",
                          "是" if age_at(p.birth, month_end(t)) >= 6 else "否"])
                MM.append(dict(hid=hid2, pid=pid, planted_dup=True))
        # drop a households row entirely (never delivered) -> its members are orphans
        drop_idx = {i for i, x in enumerate(HM) if (t, x["hid"]) in dropped_hh}
        # members appearing in two households (natural merges + planted)
        occ = defaultdict(list)
        for i, mm in enumerate(MM):
            occ[mm["pid"]].append(i)
        two_hh = {i for pid, ii in occ.items() if len({MM[j]["hid"] for j in ii}) > 1 for i in ii}
        fmt_2024 = t >= 36
        enc = "utf-8-sig" if fmt_2024 else "gb18030"
        # households
        hf = "households.csv"
        pl = Planter(rng, defects, "mz", date, hf)
        final = t == SCORING_T
        protect = {i for i, x in enumerate(HM) if x["flag_size"]}
        no_bad = {i for i, x in enumerate(HM) if final and x["h"]["category"] not in (CAT_DB, CAT_TK)}
        H2 = [row for i, row in enumerate(H) if i not in drop_idx]
        HM2 = [x for i, x in enumerate(HM) if i not in drop_idx]
        protect = {i for i, x in enumerate(HM2) if x["flag_size"]}
        no_bad = {i for i, x in enumerate(HM2) if final and x["h"]["category"] not in (CAT_DB, CAT_TK) or x["h"]["status"] == "在册" and x["h"]["category"] in SCORED_CATS and t >= SCORING_T - 1}
        h_out, h_line, h_q = pl.plant(HH_COLS, H2, 0.006 if not final else 0.02, 0.0035, 0.0008, protect=protect, no_bad=no_bad)
        if t == 26:     # 2023-03: the 核对日期 exported as yyyy/m/d for the whole file
            for i, row in enumerate(h_out):
                pass
        for i, x in enumerate(HM2):
            if x["flag_size"]:
                pl.rec(h_line[i], "household_size_mismatch", "flagged", "家庭人口数", H2[i][7], str(x["h"]["size"]))
        qh = {HM2[i]["hid"] for i in h_q}
        mz_q_hids[t] = qh
        # members
        mf = "members.csv"
        plm = Planter(rng, defects, "mz", date, mf)
        protect_m = set(two_hh) | {i for i, mm in enumerate(MM) if mm["hid"] in qh or any((t, mm["hid"]) == d for d in dropped_hh)}
        m_out, m_line, m_q = plm.plant(MEM_COLS, M, 0.004, 0.002, 0.0008, protect=protect_m)
        for i in sorted(protect_m):
            mm = MM[i]
            if mm["hid"] in qh or (t, mm["hid"]) in dropped_hh:
                plm.rec(m_line[i], "orphan_member", "flagged", "家庭编号", mm["hid"], mm["hid"])
            elif i in two_hh:
                plm.rec(m_line[i], "member_in_two_households", "flagged", "身份证号", P[mm["pid"]].id, P[mm["pid"]].id)
        mz_members_q[t] = {MM[i]["pid"] for i in m_q}
        mz_loaded[t] = ({HM2[i]["hid"]: HM2[i]["h"] for i in range(len(HM2)) if i not in h_q},
                        [(MM[i]["hid"], MM[i]["pid"]) for i in range(len(MM)) if i not in m_q])
        for i in h_q:
            quarantined_ids[t].add(HM2[i]["h"]["head"])
        for i in m_q:
            quarantined_ids[t].add(MM[i]["pid"])
        # write
        path = folder("mz", t)
        kw = dict(enc=enc, crlf=not fmt_2024, quote_all=fmt_2024)
        if fmt_2024:
            kw["extra"] = [("数据来源", lambda d: "山东省社会救助信息系统")]
            kw["order"] = lambda hdr: list(range(len(hdr)))[::-1] if False else [hdr.index(c) for c in
                                                                                   ["家庭编号", "行政区划代码", "户主姓名", "户主身份证号"] + [c for c in hdr if c not in ("家庭编号", "行政区划代码", "户主姓名", "户主身份证号")]]
        trailing = t in (27, 40)
        nh = write_table(os.path.join(path, hf), HH_COLS, h_out, trailing_blank=trailing, **kw)
        kwm = dict(enc=enc, crlf=not fmt_2024, quote_all=fmt_2024)
        nm = write_table(os.path.join(path, mf), MEM_COLS, m_out, **kwm)
        for fn in (hf, mf):
            file_defect("mz", t, fn, "encoding_utf8_bom" if fmt_2024 else "encoding_gb18030")
        if fmt_2024:
            file_defect("mz", t, hf, "extra_column")
            file_defect("mz", t, hf, "column_order")
        if trailing:
            file_defect("mz", t, hf, "trailing_blank_line")
        exp = "loaded"
        note = ""
        counts = {hf: nh, mf: nm}
        if (("mz", t) == REJECT):
            # truncated: the last 180 data lines of households.csv never arrived
            with open(os.path.join(path, hf), "rb") as fh:
                raw = fh.read()
            lines = raw.split(b"\r\n")
            keep = lines[:len(lines) - 181] + [b""]
            with open(os.path.join(path, hf), "wb") as fh:
                fh.write(b"\r\n".join(keep))
            nh_written = nh - 180
            exp, note = "rejected", "households.csv truncated: _READY says %d data rows, file has %d" % (nh, nh_written)
            defects[:] = [d for d in defects if not (d["source"] == "mz" and d["extract_date"] == date)]
            mz_loaded[t] = None
            quarantined_ids[t] = set()
            files.append(dict(source="mz", extract_date=date, file_name=hf, format="csv", data_rows=nh_written, expected="rejected"))
            files.append(dict(source="mz", extract_date=date, file_name=mf, format="csv", data_rows=nm, expected="rejected"))
            ready(path, counts)
            deliveries.append(dict(source="mz", extract_date=date, expected=exp, ready="json", note=note))
            continue
        if ("mz", t) == INCOMPLETE:
            # still being written: members half done, no _READY
            with open(os.path.join(path, mf), "rb") as fh:
                raw = fh.read()
            cut = raw.rfind(b"\n", 0, len(raw) // 2) + 1
            with open(os.path.join(path, mf), "wb") as fh:
                fh.write(raw[:cut])
            nm = raw[:cut].count(b"\n") - 1
            defects[:] = [d for d in defects if not (d["source"] == "mz" and d["extract_date"] == date)]
            for fn in (hf, mf):
                files.append(dict(source="mz", extract_date=date, file_name=fn, format="csv",
                                  data_rows=nh if fn == hf else nm, expected="skipped_incomplete"))
            deliveries.append(dict(source="mz", extract_date=date, expected="skipped_incomplete", ready="absent",
                                   note="folder without _READY (members.csv half written)"))
            mz_loaded[t] = None
            continue
        if ("mz", t) == CORRECTION:
            # the original delivery (superseded): 月人均收入 of one township delivered as annual figures
            cdir = os.path.join(corr_dir, "mz", date)
            os.makedirs(cdir, exist_ok=True)
            bad_town = sorted({row[3][:9] for row in h_out if row[3]})[3]
            orig = []
            for row in h_out:
                row = list(row)
                if row[3][:9] == bad_town and row[8]:
                    try:
                        row[8] = f"{float(row[8]) * 12:.2f}"
                    except ValueError:
                        pass
                orig.append(row)
            n0 = write_table(os.path.join(cdir, hf), HH_COLS, orig, trailing_blank=trailing, **kw)
            shutil.copy(os.path.join(path, mf), os.path.join(cdir, mf))
            ready(cdir, {hf: n0, mf: nm})
            note = (f"correction: landing holds the corrected re-delivery; the superseded original (月人均收入 of township "
                    f"{bad_town} ×12) is kept outside the landing under corrections/mz/{date}/")
            special["correction"] = dict(source="mz", extract_date=date, township=bad_town,
                                         original=os.path.relpath(cdir, a.out))
        ready(path, counts)
        for fn, n in counts.items():
            files.append(dict(source="mz", extract_date=date, file_name=fn, format="csv", data_rows=n, expected="loaded"))
        deliveries.append(dict(source="mz", extract_date=date, expected=exp, ready="json", note=note))

    # ------------------------------------------------------------------ cl
    mism = {}
    cert_people = sorted({c["pid"] for t in DT for c in wd.snap_cl[t]})
    for pid in rng.sample(cert_people, 14):
        mism[pid] = rng.choice(["dtype", "grade"])
    cl_loaded = {}
    prev_folder = None
    for t in DT:
        date = iso(month_end(t))
        if t == MISSING_CL:
            special["missing_delivery"] = dict(source="cl", extract_date=date, note="no folder at all (never delivered)")
            continue
        if ("cl", t) == REPLAY[:2]:
            src = os.path.join(landing, "cl", iso(month_end(REPLAY[2])))
            dst = os.path.join(landing, "cl", date)
            shutil.copytree(src, dst)
            for f in files[:]:
                if f["source"] == "cl" and f["extract_date"] == iso(month_end(REPLAY[2])):
                    files.append(dict(f, extract_date=date, expected="replay"))
            deliveries.append(dict(source="cl", extract_date=date, expected="replay", ready="empty",
                                   note=f"byte-identical copy of cl/{iso(month_end(REPLAY[2]))}"))
            cl_loaded[t] = cl_loaded[REPLAY[2]]
            continue
        rows = sorted(wd.snap_cl[t], key=lambda c: (c["code"], c["pid"]))
        R, RM = [], []
        for c in rows:
            p = P[c["pid"]]
            d1, g1 = c["dtype"], c["grade"]
            kind = mism.get(c["pid"])
            if kind == "dtype":
                d1 = d1 % 7 + 1
            elif kind == "grade":
                g1 = g1 % 4 + 1
            R.append([p.id + str(d1) + str(g1), p.name, DTYPE[c["dtype"]], GRADE[c["grade"]], iso(c["issue"]), c["status"],
                      c["code"], "是" if c["life"] else "否", "是" if c["care"] else "否"])
            RM.append(dict(c=c, mism=kind))
        xlsx = t in XLSX_CL
        fn = "disability.xlsx" if xlsx else "disability.csv"
        pl = Planter(rng, defects, "cl", date, fn, xlsx=xlsx)
        protect = {i for i, x in enumerate(RM) if x["mism"]}
        rep_cols = [c for c in CL_COLS if c != "残疾人证号"]
        out, line, q = pl.plant(CL_COLS, R, 0.006, 0.0025, 0.001, protect=protect, bad_cols=rep_cols, rep_cols=rep_cols,
                                no_bad={i for i, x in enumerate(RM) if t == SCORING_T and x["c"]["grade"] <= 2 and rng.random() < 0.5})
        for i in sorted(protect):
            pl.rec(line[i], "cert_code_mismatch", "flagged", "残疾人证号", R[i][0], R[i][2] + R[i][3])
        if t == SERIAL_CL:
            for i, row in enumerate(out):
                v = row[4]
                try:
                    d = dt.date.fromisoformat(v)
                except ValueError:
                    continue
                row[4] = str((d - dt.date(1899, 12, 30)).days)
                ln = i + 2
                defects.append(dict(source="cl", extract_date=date, file_name=fn, line_number=ln, kind="date_excel_serial",
                                    expected="repaired", column_name="发证日期", raw_value=row[4], clean_value=v))
            # a duplicated line keeps the same content: fix duplicates whose original got a serial
            # (the copy was appended after the original, so both rewritten identically above)
            defects[:] = [d for d in defects if not (d["extract_date"] == date and d["file_name"] == fn and d["kind"] == "date_excel_serial"
                                                       and any(e["extract_date"] == date and e["file_name"] == fn and e["line_number"] == d["line_number"]
                                                               and e["expected"] in ("duplicate", "quarantined") for e in defects))]
        path = folder("cl", t)
        kw = {}
        if xlsx:
            kw["order"] = lambda hdr: [hdr.index(c) for c in ["姓名", "残疾人证号"] + [c for c in hdr if c not in ("姓名", "残疾人证号")]]
        trailing = (not xlsx) and t in (30, 44)
        n = write_table(os.path.join(path, fn), CL_COLS, out, xlsx=xlsx, trailing_blank=trailing, **kw)
        if xlsx:
            file_defect("cl", t, fn, "xlsx_format")
            file_defect("cl", t, fn, "column_order")
        if trailing:
            file_defect("cl", t, fn, "trailing_blank_line")
        ready(path, None)
        files.append(dict(source="cl", extract_date=date, file_name=fn, format="xlsx" if xlsx else "csv", data_rows=n, expected="loaded"))
        deliveries.append(dict(source="cl", extract_date=date, expected="loaded", ready="empty", note="xlsx" if xlsx else ""))
        cl_loaded[t] = [RM[i] for i in range(len(RM)) if i not in q]
        for i in q:
            quarantined_ids[t].add(RM[i]["c"]["pid"])

    # ------------------------------------------------------------------ rs
    def due(t_ev, lags, w):
        t_rec = max(t_ev, DT[0]) + (rng.choices(lags, w)[0] if t_ev >= DT[0] else 0)
        if t_rec == LATE_RS:
            t_rec = LATE_RS + 1 if t_ev >= LATE_RS - 1 else LATE_RS - 1
        return t_rec

    rs_by_t = defaultdict(lambda: {"reg": [], "con": []})
    for e in wd.events:
        t_ev = e["t"] if e["t"] >= 0 else -1
        if t_ev > LAST_T:
            continue
        tr = due(t_ev if t_ev >= 0 else DT[0], [0, 1, 2], [0.7, 0.2, 0.1]) if t_ev >= DT[0] else DT[0]
        if tr > LAST_T or tr < DT[0]:
            continue
        p = P[e["pid"]]
        if p.seen_t is None or p.seen_t > tr:
            continue
        rs_by_t[tr]["reg"].append(e)
    for c in wd.contribs:
        if c["t"] < 12 or c["t"] > LAST_T:
            continue
        tr = due(c["t"], [0, 1, 2], [0.55, 0.33, 0.12]) if c["t"] >= DT[0] else DT[0]
        if tr > LAST_T:
            continue
        p = P[c["pid"]]
        if p.seen_t is None or p.seen_t > tr:
            continue
        rs_by_t[tr]["con"].append(c)
    # registrations for IDs seen nowhere else
    ghosts = []
    for k in range(34):
        cc = rng.choice(list(W.COUNTIES))
        birth = dt.date(rng.randint(1965, 2003), rng.randint(1, 12), rng.randint(1, 28))
        male = rng.random() < 0.5
        gid = wd.c.new_id(cc, birth, male)
        ghosts.append((gid, wd.c.name(male), cc))
    rs_loaded = defaultdict(list)
    rs_q_ids = set()
    for t in DT:
        date = iso(month_end(t))
        regs = sorted(rs_by_t[t]["reg"], key=lambda e: (e["date"], e["pid"])) if t != LATE_RS else []
        cons = sorted(rs_by_t[t]["con"], key=lambda c: (c["t"], c["pid"], c["kind"])) if t != LATE_RS else []
        R, RM = [], []
        for e in regs:
            p = P[e["pid"]]
            code = p.hh.village if p.hh is not None else (p.caregiver or "")
            R.append([p.id, p.name, e["kind"], iso(e["date"]), e["employer"] if e["kind"].startswith("就业") else "", code])
            RM.append(dict(e=e, ghost=False))
        if t != LATE_RS and t >= DT[1]:
            for gid, gname, cc in rng.sample(ghosts, rng.randint(0, 3)):
                st, tw = wd.towns[cc]
                code = rng.choice(st) + f"{rng.randint(1, 18):03d}"
                R.append([gid, gname, rng.choice(["就业登记", "失业登记", "就业登记"]), iso(W.month_day(t, rng)),
                          "", code])
                if R[-1][2] == "就业登记":
                    R[-1][4] = rng.choice(wd.employers[cc])
                RM.append(dict(e=None, ghost=True))
        C, CM = [], []
        for c in cons:
            p = P[c["pid"]]
            y, m = ym(c["t"])
            C.append([p.id, f"{y}{m:02d}", c["kind"], amt(c["base"]), c["employer"]])
            CM.append(dict(c=c))
        path = folder("rs", t)
        xr = t in XLSX_RS_REG
        fr = "registrations.xlsx" if xr else "registrations.csv"
        fc = "contributions.csv"
        enc = "gb18030" if t in GB_RS else "utf-8"
        pl = Planter(rng, defects, "rs", date, fr, xlsx=xr)
        protect = {i for i, x in enumerate(RM) if x["ghost"]}
        r_out, r_line, r_q = pl.plant(REG_COLS, R, 0.01, 0.006, 0.002, protect=protect)
        for i in sorted(protect):
            pl.rec(r_line[i], "rs_unknown_id", "flagged", "身份证号", R[i][0], R[i][0])
        plc = Planter(rng, defects, "rs", date, fc)
        c_out, c_line, c_q = plc.plant(CON_COLS, C, 0.003, 0.0015, 0.0015)
        if t == FLOATID_RS:
            mine = [d for d in defects if d["extract_date"] == date and d["file_name"] == fc]
            qlines = {d["line_number"] for d in mine} | {d["line_number"] - 1 for d in mine if d["expected"] == "duplicate"}
            for i, row in enumerate(c_out):
                ln = i + 2
                v = row[0]
                if ln in qlines or len(v) != 18 or v.endswith("X") or not v.isdigit():
                    continue
                row[0] = v + ".0"
                defects.append(dict(source="rs", extract_date=date, file_name=fc, line_number=ln, kind="id_float_full",
                                    expected="repaired", column_name="身份证号", raw_value=row[0], clean_value=v))
        trailing = t in (33, 45)
        kwc = {}
        if t >= 33:
            kwc["extra"] = [("经办机构", lambda d: "聊城市社会保险事业中心")]
        nr = write_table(os.path.join(path, fr), REG_COLS, r_out, enc=enc, xlsx=xr)
        nc = write_table(os.path.join(path, fc), CON_COLS, c_out, enc=enc, trailing_blank=trailing, **kwc)
        if t in GB_RS:
            file_defect("rs", t, fc, "encoding_gb18030")
            if not xr:
                file_defect("rs", t, fr, "encoding_gb18030")
        if xr:
            file_defect("rs", t, fr, "xlsx_format")
        if t >= 33:
            file_defect("rs", t, fc, "extra_column")
        if trailing:
            file_defect("rs", t, fc, "trailing_blank_line")
        if t == LATE_RS:
            file_defect("rs", t, fr, "empty_file")
            file_defect("rs", t, fc, "empty_file")
        ready(path, {fr: nr, fc: nc} if t >= 36 else None)
        for fn, n, fm in ((fr, nr, "xlsx" if xr else "csv"), (fc, nc, "csv")):
            files.append(dict(source="rs", extract_date=date, file_name=fn, format=fm, data_rows=n, expected="loaded"))
        note = "late: header-only files; this month's records arrive with the next delivery" if t == LATE_RS else ""
        deliveries.append(dict(source="rs", extract_date=date, expected="loaded", ready="json" if t >= 36 else "empty", note=note))
        for i, x in enumerate(RM):
            if i in r_q:
                if x["e"]:
                    rs_q_ids.add((t, x["e"]["pid"]))
            elif x["e"]:
                rs_loaded[t].append(("reg", x["e"]))
        for i, x in enumerate(CM):
            if i in c_q:
                rs_q_ids.add((t, x["c"]["pid"]))
            else:
                rs_loaded[t].append(("con", x["c"]))
    t_write = time.time() - t0 - t_sim

    # ------------------------------------------------------------------ truth: households
    T = SCORING_T
    d_asof = month_end(T)
    loaded_hh, loaded_mem = mz_loaded[T]
    hh_rows, base_rows = [], []
    LOCAL = ("3715", "3725")
    for hid, h in sorted(loaded_hh.items()):
        hobj = wd.hh_by_id[hid]
        scored = int(h["status"] == "在册" and h["category"] in SCORED_CATS)
        n = hobj.size.get(T, 0)
        inc = hobj.income.get(T, 0.0)
        pc = inc / n if n else 0.0
        std = dibao_std(T, h["urban"])
        ratios = []
        for tt in W.LABEL_TS:
            nn = hobj.size.get(tt, 0)
            if nn:
                ratios.append(hobj.income[tt] / nn / dibao_std(tt, h["urban"]))
        mr = min(ratios) if ratios else None
        head = P[h["head"]]
        nonlocal_ = int(not head.id.startswith(LOCAL) or not h["village"].startswith("3715"))
        hh_rows.append(dict(household_id=hid, as_of_date=iso(d_asof), scored=scored,
                            fell_below_within_3m=int(mr is not None and mr < 1.0),
                            urban_rural="城市" if h["urban"] else "农村", category=h["category"], status=h["status"],
                            county_code=h["village"][:6], township_code=h["village"][:9], **{"nonlocal": nonlocal_},
                            members_true_asof=n, true_pc_income_asof=f"{pc:.2f}", below_at_asof=int(n > 0 and pc < std),
                            min_ratio_next3m="" if mr is None else f"{mr:.4f}"))
        base_rows.append(dict(household_id=hid, scored=scored, stale_pc_income=amt(h["pc"]), check_date=iso(h["check_date"]),
                              urban_rural="城市" if h["urban"] else "农村", standard=f"{std:.0f}"))

    # ------------------------------------------------------------------ truth: 单人保 candidates
    def rs_view(upto):
        reg_open = defaultdict(int)
        last_formal = {}
        unemp = set()
        res = set()
        regs = defaultdict(list)
        for t in DT:
            if t > upto:
                break
            for kind, x in rs_loaded.get(t, []):
                pid = x["pid"]
                if kind == "reg":
                    regs[pid].append(x)
                else:
                    if x["kind"] == "企业职工基本养老保险":
                        last_formal[pid] = max(last_formal.get(pid, -99), x["t"])
                    elif x["kind"] == "城乡居民基本养老保险":
                        res.add(pid)
        ambiguous = set()
        order = {"就业登记": 0, "失业登记": 1, "就业登记注销": 2, "失业登记注销": 3}
        for pid, evs in regs.items():
            evs.sort(key=lambda e: (e["date"], order[e["kind"]]))
            n, last = 0, None
            for e in evs:
                if e["kind"] == "就业登记":
                    n += 1
                    last = True
                elif e["kind"] == "就业登记注销":
                    n = max(0, n - 1)
                    last = False
                elif e["kind"] == "失业登记":
                    unemp.add(pid)
                else:
                    unemp.discard(pid)
            reg_open[pid] = n
            if last is not None and (n > 0) != last:
                ambiguous.add(pid)
        return reg_open, last_formal, unemp, res, ambiguous

    def job_status(view, pid):
        reg_open, last_formal = view[0], view[1]
        if reg_open.get(pid, 0) > 0:
            return "employment_registration_open"
        if last_formal.get(pid, -99) >= T - 2:
            return "formal_contribution_recent"
        return ""

    v_now = rs_view(T)
    v_later = rs_view(LAST_T)
    active_members = defaultdict(set)
    for hid, pid in loaded_mem:
        active_members[pid].add(hid)
    q_upto = {pid for (t, pid) in rs_q_ids if t <= T} | quarantined_ids[T]
    cands = []
    cl_now = {x["c"]["pid"]: x for x in cl_loaded[T]}
    cl_all = {c["pid"] for t in DT if t <= T for c in wd.snap_cl[t]}
    for pid in sorted(cl_all | set(cl_now)):
        p = P[pid]
        x = cl_now.get(pid)
        age = age_at(p.birth, d_asof)
        code = x["c"]["code"] if x else (p.hh.village if p.hh is not None else p.caregiver or "")
        hids = active_members.get(pid, set())
        st = [loaded_hh[h]["status"] if h in loaded_hh else "unknown" for h in hids]
        mz_status = "在册" if "在册" in st else ("unknown" if "unknown" in st else ("退出" if st else "none"))
        job = job_status(v_now, pid)
        lf = v_now[1].get(pid)
        label, reason = 1, ""
        if x is None:
            label, reason = (0, "not_in_scoring_snapshot") if pid not in {c["pid"] for c in wd.snap_cl[T]} else (-1, "cl_row_quarantined")
        elif x["c"]["status"] != "有效":
            label, reason = 0, "certificate_cancelled"
        elif x["c"]["grade"] > 2:
            label, reason = 0, "grade_3_or_4"
        elif age < 18:
            label, reason = 0, "under_18"
        elif mz_status == "在册":
            label, reason = 0, "member_of_active_household"
        elif mz_status == "unknown":
            label, reason = -1, "household_row_quarantined"
        elif job:
            label, reason = 0, job
        if label != -1 and x is not None:
            if job != job_status(v_later, pid) and label in (0, 1) and reason in ("", "employment_registration_open", "formal_contribution_recent"):
                label, reason = -1, "rs_after_scoring_date_changes_status"
            elif pid in v_now[4] and (label == 1 or reason == "employment_registration_open"):
                label, reason = -1, "registration_pairing_ambiguous"
            elif pid in q_upto and label == 1 or (pid in q_upto and reason in ("employment_registration_open", "formal_contribution_recent")):
                label, reason = -1, "a_row_of_this_person_quarantined"
            elif pid in mz_members_q.get(T, set()):
                label, reason = -1, "member_row_quarantined"
        planted = ""
        if label == 1:
            if x["mism"]:
                planted = "cert_code_mismatch"
            elif mz_status == "退出":
                planted = "member_of_exited_household"
            elif pid in v_now[2]:
                planted = "open_unemployment_registration"
            elif lf is not None:
                planted = "formal_job_ended"
            elif pid in v_now[3]:
                planted = "resident_pension_only"
            elif p.econ == "informal":
                planted = "informal_work_invisible"
            else:
                planted = "never_in_mz"
        y, m = ym(lf) if lf is not None else (None, None)
        cands.append(dict(person_id=p.id, person_sha256=hashlib.sha256(p.id.encode()).hexdigest(),
                          masked_id=p.id[:6] + p.id[-4:], name=p.name, label=label, reason=reason, planted=planted,
                          grade=GRADE[x["c"]["grade"]] if x else "", age=age, county_code=code[:6], township_code=code[:9],
                          mz_status=mz_status, job=job, last_formal_ym=f"{y}{m:02d}" if y else ""))

    # ------------------------------------------------------------------ write truth
    def wcsv(name, rows, cols):
        with open(os.path.join(truth, name), "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            for r in rows:
                w.writerow(r)

    wcsv("households.csv", hh_rows, ["household_id", "as_of_date", "scored", "fell_below_within_3m", "urban_rural", "category",
                                     "status", "county_code", "township_code", "nonlocal", "members_true_asof",
                                     "true_pc_income_asof", "below_at_asof", "min_ratio_next3m"])
    wcsv("baseline_inputs.csv", base_rows, ["household_id", "scored", "stale_pc_income", "check_date", "urban_rural", "standard"])
    wcsv("candidates.csv", cands, ["person_id", "person_sha256", "masked_id", "name", "label", "reason", "planted", "grade", "age",
                                   "county_code", "township_code", "mz_status", "job", "last_formal_ym"])
    defects.sort(key=lambda d: (d["source"], d["extract_date"], d["file_name"], int(d["line_number"])))
    wcsv("defects.csv", defects, ["source", "extract_date", "file_name", "line_number", "kind", "expected", "column_name",
                                  "raw_value", "clean_value"])
    deliveries.sort(key=lambda d: (d["source"], d["extract_date"]))
    wcsv("deliveries.csv", deliveries, ["source", "extract_date", "expected", "ready", "note"])
    files.sort(key=lambda d: (d["source"], d["extract_date"], d["file_name"]))
    wcsv("files.csv", files, ["source", "extract_date", "file_name", "format", "data_rows", "expected"])
    scored = [r for r in hh_rows if r["scored"] == 1]
    pos = sum(r["fell_below_within_3m"] for r in scored)
    summary = dict(
        dynamics=DYNAMICS,
        params=dict(seed=a.seed, start="2021-01", months_simulated=W.N_MONTHS, first_extract=iso(month_end(DT[0])),
                    extract_dates=len(DT), monitored_households_initial=W.N_MONITORED_INIT, at_risk_pool_initial=W.N_POOL_INIT,
                    pool_refill_per_month=W.POOL_REFILL_PER_MONTH, certificate_holders_outside_mz=W.N_CL_ONLY,
                    counties={k: dict(name=v["name"], urban_share=v["urban"], industry=v["ind"], job_loss_annual=v["jl"],
                                      review_cycle=v["cycle"][1] if v["cycle"][0] == "months" else f"random {v['cycle'][1]:.3f}/month",
                                      check_window_months=v["window"]) for k, v in W.COUNTIES.items()},
                    industry_shocks={k: [dict(from_=iso(month_end(a0)), to=iso(month_end(b0)), hazard_x=m0) for a0, b0, m0 in v]
                                     for k, v in W.SHOCKS.items()},
                    farm_season_grain=W.FARM_GRAIN, farm_season_greenhouse=[round(x, 3) for x in W.FARM_VEG],
                    spring_festival=W.SPRING_FESTIVAL, contribution_floor=W.CONTRIB_FLOOR,
                    resident_pension=W.RESIDENT_PENSION, standards={"2023": [890, 720], "2024+": [931, 753]}),
        seconds_simulate=round(t_sim, 1), seconds_write=round(t_write, 1),
        persons=len(P), households=len(loaded_hh), households_ever_monitored=sum(1 for h in wd.hhs if h.status is not None),
        extract_dates=[iso(month_end(t)) for t in DT], as_of_date=iso(d_asof),
        scored_households=len(scored), positives=pos, label_rate=round(pos / max(1, len(scored)), 4),
        defects_by_kind=dict(Counter(f"{d['expected']}:{d['kind']}" for d in defects).most_common()),
        candidates=dict(Counter(str(c["label"]) for c in cands)),
        candidates_planted=dict(Counter(c["planted"] for c in cands if c["label"] == 1)),
        special=dict(special, rejected=dict(source=REJECT[0], extract_date=iso(month_end(REJECT[1]))),
                     replay=dict(source="cl", extract_date=iso(month_end(REPLAY[1])), copy_of=iso(month_end(REPLAY[2]))),
                     late=dict(source="rs", extract_date=iso(month_end(LATE_RS))),
                     incomplete=dict(source="mz", extract_date=iso(month_end(LAST_T)))),
    )
    with open(os.path.join(truth, "world_summary.json"), "w", encoding="utf-8") as fh:
        json.dump(summary, fh, ensure_ascii=False, indent=1, default=str)
    print(json.dumps({k: summary[k] for k in ("persons", "households", "scored_households", "positives", "label_rate",
                                              "seconds_simulate", "seconds_write", "candidates")}, ensure_ascii=False))


if __name__ == "__main__":
    main()
