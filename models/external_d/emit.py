"""Render the external-d world (world.py) to a landing folder that follows
/work/shared/contracts/sources.md, with its defects, and write the ground truth.

    python emit.py --out DIR --seed N

DIR/landing      the deliveries as the pipeline first sees them (mz/2024-06-30 in its original,
                 wrong version; mz/2024-12-31 incomplete, no _READY)
DIR/redelivery   the same-date corrected re-delivery of mz/2024-06-30 (copy it over the landing
                 folder after a first run, then run again: run_world.sh does this)
DIR/truth        households.csv, baseline_inputs.csv, candidates.csv, defects.csv,
                 deliveries.csv, files.csv (the evaluator's files) + income_monthly.csv, README
Deterministic for a seed.  Standard library + openpyxl.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import shutil
from collections import defaultdict

import world as W

HH_COLS = ["家庭编号", "户主身份证号", "户主姓名", "行政区划代码", "城乡属性", "保障类别", "保障状态", "家庭人口数",
           "月人均收入", "核对日期", "月保障金额", "认定日期"]
MB_COLS = ["家庭编号", "身份证号", "姓名", "与户主关系", "性别", "出生日期", "劳动能力", "健康状况", "在校生"]
CL_COLS = ["残疾人证号", "姓名", "残疾类别", "残疾等级", "发证日期", "证件状态", "行政区划代码", "享受生活补贴", "享受护理补贴"]
RG_COLS = ["身份证号", "姓名", "登记类型", "登记日期", "单位名称", "行政区划代码"]
CT_COLS = ["身份证号", "缴费年月", "险种", "缴费基数", "单位名称"]

# column -> type; optional columns may be empty
CTYPE = {
    "户主身份证号": "id", "身份证号": "id",
    "核对日期": "date", "认定日期": "date", "出生日期": "date", "发证日期": "date", "登记日期": "date",
    "月人均收入": "amount", "月保障金额": "amount", "缴费基数": "amount",
    "城乡属性": "enum", "保障类别": "enum", "保障状态": "enum", "与户主关系": "enum", "性别": "enum", "劳动能力": "enum",
    "健康状况": "enum", "在校生": "enum", "残疾类别": "enum", "残疾等级": "grade", "证件状态": "enum",
    "享受生活补贴": "enum", "享受护理补贴": "enum", "登记类型": "enum", "险种": "enum",
    "行政区划代码": "code", "家庭编号": "str", "缴费年月": "str", "残疾人证号": "str",
}
OPTIONAL = {"户主姓名", "姓名", "月人均收入", "核对日期", "单位名称", "月保障金额"}
UNKNOWN = {"城乡属性": "城乡结合部", "保障类别": "低保户", "保障状态": "暂停", "与户主关系": "女婿", "性别": "未知",
           "劳动能力": "丧失劳动能力", "健康状况": "良好", "在校生": "Y", "残疾类别": "肢残", "残疾等级": "五级",
           "证件状态": "挂失", "享受生活补贴": "待审", "享受护理补贴": "待审", "登记类型": "灵活就业登记", "险种": "职工医疗保险"}
EXTRA_COLS = {"households": ["备注", "经办人"], "members": ["备注"], "disability": ["监护人", "联系地址"],
              "registrations": ["经办机构"], "contributions": ["经办机构", "缴费状态"]}
FW = {str(i): chr(0xFF10 + i) for i in range(10)}


# ---------------------------------------------------------------------------------------
# cell-level defects
# ---------------------------------------------------------------------------------------
def parse_date(s):
    return dt.date.fromisoformat(s)


def repairable_kinds(col, v):
    ty = CTYPE.get(col)
    if v == "":
        return []
    if ty == "id":
        k = ["id_spaces", "id_fullwidth_digits"]
        if v[6:8] == "19":
            k.append("id15")
        if v[-1] == "X":
            k += ["id_lower_x", "id_fullwidth_x"]
        else:
            k += ["id_float18", "id_sci18"]
        return k
    if ty == "date":
        return ["date_slash", "date_compact", "date_cn", "date_dot", "date_excel"]
    if ty == "amount":
        k = ["amount_yuan", "amount_spaces"]
        if float(v) >= 1000:
            k.append("amount_comma")
        return k
    if ty == "enum":
        k = ["enum_spaces"]
        if v == "城市":
            k.append("urban_chengzhen")
        return k
    if ty == "grade":
        return ["enum_spaces", "grade_n_ji", "grade_digit"]
    return []


def unrepairable_kinds(col, v):
    ty = CTYPE.get(col)
    k = []
    if col not in OPTIONAL:
        k.append("empty_mandatory")
    if v == "":
        return k
    if ty == "id":
        k += ["id_bad_check", "id_float_lossy"] if v[-1] != "X" else ["id_bad_check"]
    elif ty == "date":
        k.append("date_unparseable")
    elif ty == "amount" and float(v) > 0:
        k.append("amount_negative")
    elif ty in ("enum", "grade"):
        k.append("enum_unknown")
    return k


def apply_kind(kind, col, v, rng):
    if kind == "empty_mandatory":
        return ""
    if kind == "id_spaces":
        return rng.choice([" " + v, v + " ", "  " + v + " ", v[:6] + " " + v[6:]])
    if kind == "id_fullwidth_digits":
        return "".join(FW.get(c, c) for c in v)
    if kind == "id15":
        return v[:6] + v[8:17]
    if kind == "id_lower_x":
        return v[:-1] + "x"
    if kind == "id_fullwidth_x":
        return v[:-1] + rng.choice(["ｘ", "Ｘ"])
    if kind == "id_float18":
        return v + ".0"
    if kind == "id_sci18":
        return f"{v[0]}.{v[1:]}E+17"
    if kind == "id_bad_check":
        c = v[-1]
        alts = [x for x in "0123456789X" if x != c]
        return v[:-1] + rng.choice(alts)
    if kind == "id_float_lossy":
        return f"{v[0]}.{v[1:10]}E+17"
    if kind.startswith("date_") and kind != "date_unparseable":
        d = parse_date(v)
        return {"date_slash": f"{d.year}/{d.month}/{d.day}", "date_compact": f"{d:%Y%m%d}",
                "date_cn": f"{d.year}年{d.month}月{d.day}日", "date_dot": f"{d:%Y.%m.%d}",
                "date_excel": str((d - dt.date(1899, 12, 30)).days)}[kind]
    if kind == "date_unparseable":
        d = parse_date(v)
        return rng.choice([f"{d.year}-02-30", f"{d.year}13{d.day:02d}", f"{d.year}/{d.month}/32", "不详"])
    if kind == "amount_yuan":
        return v + "元"
    if kind == "amount_spaces":
        return "  " + v + " "
    if kind == "amount_comma":
        return f"{float(v):,.2f}"
    if kind == "amount_negative":
        return "-" + v
    if kind == "enum_spaces":
        return rng.choice([" " + v, v + " ", " " + v + "  "])
    if kind == "urban_chengzhen":
        return "城镇"
    if kind == "grade_n_ji":
        return f"{'一二三四'.index(v[0]) + 1}级"
    if kind == "grade_digit":
        return str("一二三四".index(v[0]) + 1)
    if kind == "enum_unknown":
        return UNKNOWN[col]
    raise ValueError(kind)


class FilePlan:
    """One data file: canonical rows -> delivered rows + defect records."""

    def __init__(self, source, date, stem, cols, rows):
        self.source, self.date, self.stem, self.cols = source, date, stem, cols
        self.entries = [{"row": {c: r[c] for c in cols}, "meta": r, "defects": [], "dup": False} for r in rows]
        self.file_defects = []
        self.fmt = "csv"

    def plan_defects(self, rng, p_rep, p_bad, p_dup, protect=lambda r: False, exclude=lambda r: False):
        plan = []   # (index, col, kind, expected)
        for i, e in enumerate(self.entries):
            if exclude(e["meta"]):
                continue
            r = rng.random()
            if r < p_bad and not protect(e["meta"]):
                cols = [c for c in self.cols if unrepairable_kinds(c, e["row"][c])]
                c = rng.choice(cols)
                plan.append((i, c, rng.choice(unrepairable_kinds(c, e["row"][c])), "quarantined"))
                if rng.random() < 0.08:          # a second bad cell in the same row
                    c2 = rng.choice(cols)
                    if c2 != c:
                        plan.append((i, c2, rng.choice(unrepairable_kinds(c2, e["row"][c2])), "quarantined"))
            elif r < p_bad + p_rep:
                cols = [c for c in self.cols if repairable_kinds(c, e["row"][c])]
                if cols:
                    c = rng.choice(cols)
                    plan.append((i, c, rng.choice(repairable_kinds(c, e["row"][c])), "repaired"))
        dups = [i for i, e in enumerate(self.entries) if not exclude(e["meta"]) and rng.random() < p_dup]
        return plan, dups

    def apply(self, plan, dups, rng):
        for i, c, kind, exp in plan:
            e = self.entries[i]
            e["row"][c] = apply_kind(kind, c, e["row"][c], rng)
            e["defects"].append((c, kind, exp))
        planned = {i for i, *_ in plan}
        inserts = [i for i in dups if i not in planned]
        for i in sorted(inserts, reverse=True):
            e = self.entries[i]
            copy = {"row": dict(e["row"]), "meta": e["meta"], "defects": [("", "duplicate_row", "duplicate")], "dup": True,
                    "src": e}
            self.entries.insert(i + rng.randint(1, 40), copy)

    def line_of(self, idx):
        return idx + 2


# ---------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------
def write_file(plan: FilePlan, folder, rng, style):
    """style: dict(encoding, order, extra, quote_all, trailing_blank, crlf, xlsx, xlsx_types)"""
    cols = list(plan.cols)
    if style.get("order"):
        rng.shuffle(cols)
        plan.file_defects.append("column_order")
    extra = EXTRA_COLS[plan.stem] if style.get("extra") else []
    if extra:
        plan.file_defects.append("extra_columns")
        for e in extra:
            cols.insert(rng.randint(0, len(cols)), e)
    rows = []
    for e in plan.entries:
        r = e["row"]
        src = e.get("src", e)          # an exact duplicate repeats its original's extra cells
        if extra and "x" not in src:
            src["x"] = {"备注": rng.choice(["", "", "", "", "入户核查,已公示", "村委上报"]), "经办人": "",
                        "经办机构": "莘县人力资源和社会保障局", "缴费状态": "已到账", "监护人": "", "联系地址": ""}
        out = [r[c] if c in r else src["x"].get(c, "") for c in cols]
        rows.append(out)
    if style.get("xlsx"):
        import openpyxl
        plan.file_defects.append("xlsx")
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("Sheet1")
        ws.append(cols)
        typed = style.get("xlsx_types")
        for e, out in zip(plan.entries, rows):
            if typed:
                vals = []
                clean = not any(x[2] in ("repaired", "quarantined") for x in e.get("src", e)["defects"])
                for c, v in zip(cols, out):
                    if clean and v and CTYPE.get(c) == "amount":
                        vals.append(float(v))
                    elif clean and v and c == "家庭人口数":
                        vals.append(int(v))
                    elif clean and v and CTYPE.get(c) == "date":
                        vals.append(dt.datetime.combine(dt.date.fromisoformat(v), dt.time()))
                    else:
                        vals.append(v if v != "" else None)
                ws.append(vals)
            else:
                ws.append([v if v != "" else None for v in out])
        name = plan.stem + ".xlsx"
        wb.save(os.path.join(folder, name))
        plan.file_name = name
        return name
    buf = io.StringIO()
    wr = csv.writer(buf, quoting=csv.QUOTE_ALL if style.get("quote_all") else csv.QUOTE_MINIMAL,
                    lineterminator="\r\n" if style.get("crlf") else "\n")
    wr.writerow(cols)
    wr.writerows(rows)
    text = buf.getvalue()
    if style.get("quote_all"):
        plan.file_defects.append("quoted_fields")
    if style.get("trailing_blank"):
        text += "\r\n" if style.get("crlf") else "\n"
        plan.file_defects.append("trailing_blank_line")
    enc = style.get("encoding", "utf-8")
    if enc == "gb18030":
        plan.file_defects.append("encoding_gb18030")
        data = text.encode("gb18030")
    elif enc == "utf-8-sig":
        plan.file_defects.append("utf8_bom")
        data = text.encode("utf-8-sig")
    else:
        data = text.encode("utf-8")
    if not plan.entries:
        plan.file_defects.append("empty_file")
    name = plan.stem + ".csv"
    with open(os.path.join(folder, name), "wb") as fh:
        fh.write(data)
    plan.file_name = name
    return name


def write_ready(folder, counts, with_counts):
    with open(os.path.join(folder, "_READY"), "w", encoding="utf-8") as fh:
        if with_counts:
            json.dump({"files": counts}, fh, ensure_ascii=False)


# ---------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20)
    a = ap.parse_args(argv)
    out = os.path.abspath(a.out)
    landing, redeliv, truth = (os.path.join(out, x) for x in ("landing", "redelivery", "truth"))
    for d in (landing, redeliv, truth):
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(d)
    w = W.simulate(a.seed)
    rng = random.Random(a.seed * 7919 + 1)

    def dstr(t):
        return W.month_end(t).isoformat()

    deliveries, files, defects = [], [], []
    SC = W.SCORING_T
    CORR_T, CORR_TOWN, STALE_FROM = 41, "371522107", 38
    REJECT = ("cl", 30)
    XLSX = {("cl", 26): False, ("cl", 27): True, ("mz", 37): True, ("rs", 44): False}
    REPLAYS = {("rs", 28): "2023-06-03", ("cl", 43): "2024-09-02"}

    # ---- planted cross-source conflicts (persistent)
    mz_ids = sorted({r["_h"].hid for r in w.snapshots[24][0]})
    size_err = {hid: (rng.choice([-1, 1]), rng.randint(24, 44)) for hid in rng.sample(mz_ids, 22)}
    two_hh = []   # (person, other household, from t)
    hh_by_v = defaultdict(list)
    for r in w.snapshots[30][0]:
        hh_by_v[r["行政区划代码"]].append(r["_h"])
    cands = [r for r in w.snapshots[30][1] if r["与户主关系"] == "子女" and r["_p"].birth.year < 2000]
    for r in rng.sample(cands, 4):
        others = [h for h in hh_by_v[r["_h"].vcode] if h is not r["_h"]]
        if others:
            two_hh.append((r["_p"], rng.choice(others), rng.randint(30, 40)))
    cert_persons = sorted({r["_c"]["no"] for r in w.cl_snaps[24]})
    mism = {}
    for no in rng.sample(cert_persons, 7):
        d19, d20 = int(no[18]), int(no[19])
        if rng.random() < 0.5:
            mism[no] = no[:19] + str(d20 % 4 + 1)
        else:
            mism[no] = no[:18] + str(d19 % 7 + 1) + no[19]

    # ---- rs: unemployment registration closed when a job comes (失业登记注销)
    by_person = defaultdict(list)
    for e in sorted(w.events, key=lambda e: (e["date"], e["type"])):
        by_person[e["person"].pid].append(e)
    extra_events = []
    for pid, evs in by_person.items():
        open_u = False
        for e in evs:
            if e["type"] == "失业登记":
                open_u = True
            elif e["type"] == "就业登记" and open_u:
                open_u = False
                if rng.random() < 0.7:
                    extra_events.append(dict(e, type="失业登记注销", employer=""))
    events = w.events + extra_events
    # arrival delivery of each rs row
    for e in events:
        if e["t"] < W.FIRST_DELIVERY:
            e["arr"] = W.FIRST_DELIVERY
        else:
            e["arr"] = e["t"] + rng.choices([0, 1, 2], [75, 20, 5])[0]
        if W.t_of(e["date"]) == 37 and e["arr"] == 37:
            e["arr"] = 38            # 2024-02 (Spring Festival): the registrations file is empty
    contribs = []
    for c in w.contribs:
        if c["t"] < 21:
            continue
        c["arr"] = max(W.FIRST_DELIVERY, c["t"] + rng.choices([0, 1, 2], [60, 30, 10])[0])
        contribs.append(c)

    seen_ids = set()      # ids seen in mz/cl deliveries so far (for rs_unknown_id flags)
    quarantined_people = set()   # person ids with a quarantined row in the final deliveries (discovery)

    def record_file(plan, expected, data_rows, source, date):
        files.append({"source": source, "extract_date": date, "file_name": plan.file_name, "data_rows": data_rows,
                      "expected": expected, "format": plan.fmt})
        if expected != "loaded":
            return
        for k in plan.file_defects:
            defects.append({"source": source, "extract_date": date, "file_name": plan.file_name, "line_number": 1,
                            "column_name": "", "kind": k, "expected": "repaired", "raw_value": ""})
        for i, e in enumerate(plan.entries):
            for col, kind, exp in e["defects"]:
                defects.append({"source": source, "extract_date": date, "file_name": plan.file_name,
                                "line_number": plan.line_of(i), "column_name": col, "kind": kind, "expected": exp,
                                "raw_value": e["row"].get(col, "") if col else ""})

    def style_for(source, t):
        r = rng.random()
        enc = {"mz": ["gb18030", "utf-8-sig", "utf-8"], "cl": ["gb18030", "gb18030", "utf-8-sig"],
               "rs": ["utf-8", "utf-8", "utf-8-sig", "gb18030"]}[source]
        return {"encoding": rng.choice(enc), "order": rng.random() < 0.12, "extra": rng.random() < 0.15,
                "quote_all": rng.random() < 0.15, "trailing_blank": rng.random() < 0.2,
                "crlf": rng.random() < 0.4, "xlsx": (source, t) in XLSX, "xlsx_types": XLSX.get((source, t))}

    def finish(source, t, folder, plans, expected, ready=True, ready_counts=True, count_fix=None):
        os.makedirs(folder, exist_ok=True)
        counts = {}
        for p in plans:
            counts[p.file_name] = len(p.entries)
        date = os.path.basename(folder)
        for p in plans:
            record_file(p, expected, len(p.entries), source, date)
        if count_fix:
            counts = count_fix(counts)
        if ready:
            write_ready(folder, counts, ready_counts)
        deliveries.append({"source": source, "extract_date": date, "expected": expected,
                           "ready": "json" if (ready and ready_counts) else ("empty" if ready else "none")})

    final_hh_rows = None
    for t in range(W.FIRST_DELIVERY, W.LAST_DELIVERY + 1):
        date = dstr(t)
        # ================= mz
        hrows, mrows = w.snapshots[t]
        hrows = [dict(r) for r in hrows]
        mrows = [dict(r) for r in mrows]
        for r in hrows:
            se = size_err.get(r["家庭编号"])
            if se and t >= se[1]:
                r["家庭人口数"] = str(max(1, int(r["家庭人口数"]) + se[0]))
                r["_flag"] = "household_size_mismatch"
        extra_members = []
        for p, h2, t0 in two_hh:
            if t >= t0 and any(r["_h"] is h2 for r in hrows) and any(r["_p"] is p for r in mrows):
                extra_members.append({"家庭编号": h2.hid, "身份证号": p.pid, "姓名": p.name, "与户主关系": "其他",
                                      "性别": p.sex, "出生日期": p.birth.isoformat(), "劳动能力": "有劳动能力",
                                      "健康状况": "健康", "在校生": "否", "_h": h2, "_p": p, "_flag": "member_in_two_households"})
                for r in hrows:
                    if r["_h"] is h2:
                        r["家庭人口数"] = str(int(r["家庭人口数"]) + 1)
                for r in mrows:
                    if r["_p"] is p:
                        r["_flag"] = "member_in_two_households"
        # place the extra rows after their household's members
        for em in extra_members:
            idx = max((i for i, r in enumerate(mrows) if r["_h"] is em["_h"]), default=len(mrows) - 1)
            mrows.insert(idx + 1, em)
        scored_now = lambda r: r.get("_h") is not None and r["_h"] is not None and r["保障状态"] == "在册" and r["保障类别"] not in ("低保", "特困")
        hp = FilePlan("mz", date, "households", HH_COLS, hrows)
        mp = FilePlan("mz", date, "members", MB_COLS, mrows)
        protect = (lambda m: m.get("保障状态") == "在册" and m.get("保障类别") not in ("低保", "特困")) if t == SC else (lambda m: False)
        excl = (lambda m: m["行政区划代码"][:9] == CORR_TOWN) if t == CORR_T else (lambda m: False)
        plan_h, dups_h = hp.plan_defects(rng, 0.03, 0.004, 0.0015, protect=protect, exclude=excl)
        plan_m, dups_m = mp.plan_defects(rng, 0.025, 0.003, 0.0015, exclude=lambda m: "_flag" in m)
        hp.apply(plan_h, dups_h, rng)
        mp.apply(plan_m, dups_m, rng)
        # flags and orphans
        bad_hids = set()
        for e in hp.entries:
            if any(x[2] == "quarantined" for x in e["defects"]):
                bad_hids.add(e["meta"]["家庭编号"])
            if "_flag" in e["meta"] and not e["dup"]:
                e["defects"].append(("家庭人口数", e["meta"]["_flag"], "flagged"))
        for e in mp.entries:
            if e["dup"]:
                continue
            if "_flag" in e["meta"]:
                e["defects"].append(("身份证号", e["meta"]["_flag"], "flagged"))
            if e["meta"]["家庭编号"] in bad_hids and not any(x[2] == "quarantined" for x in e["defects"]):
                e["defects"].append(("", "orphan_member", "flagged"))
        folder = os.path.join(landing, "mz", date)
        os.makedirs(folder, exist_ok=True)
        st = style_for("mz", t)
        if t == CORR_T:
            # the corrected version goes to redelivery/, the original (one township's values stale) to landing/
            cfolder = os.path.join(redeliv, "mz", date)
            os.makedirs(cfolder, exist_ok=True)
            srng = random.Random(rng.random())
            state = srng.getstate()
            write_file(hp, cfolder, srng, dict(st))
            write_file(mp, cfolder, srng, dict(st))
            stale = {r["家庭编号"]: r for r in w.snapshots[STALE_FROM][0]}
            orig = FilePlan("mz", date, "households", HH_COLS, [])
            orig.entries = []
            for e in hp.entries:
                e2 = {"row": dict(e["row"]), "meta": e["meta"], "defects": e["defects"], "dup": e["dup"]}
                if e["meta"]["行政区划代码"][:9] == CORR_TOWN and e["meta"]["家庭编号"] in stale:
                    s = stale[e["meta"]["家庭编号"]]
                    for c in ("保障类别", "月人均收入", "核对日期", "月保障金额", "认定日期"):
                        e2["row"][c] = s[c]
                orig.entries.append(e2)
            srng.setstate(state)
            write_file(orig, folder, srng, dict(st))
            mp2 = FilePlan("mz", date, "members", MB_COLS, [])
            mp2.entries = mp.entries
            write_file(mp2, folder, srng, dict(st))
            hp.file_defects = orig.file_defects[: len(orig.file_defects)]
            n_changed = sum(1 for a_, b_ in zip(orig.entries, hp.entries) if a_["row"] != b_["row"])
            write_ready(folder, {hp.file_name: len(hp.entries), mp.file_name: len(mp.entries)}, True)
            write_ready(cfolder, {hp.file_name: len(hp.entries), mp.file_name: len(mp.entries)}, True)
            record_file(hp, "loaded", len(hp.entries), "mz", date)
            record_file(mp, "loaded", len(mp.entries), "mz", date)
            deliveries.append({"source": "mz", "extract_date": date, "expected": "loaded", "ready": "json",
                               "note": f"original in landing/ has stale values for {n_changed} households of {CORR_TOWN}; "
                                       "redelivery/ holds the same-date correction, which must win"})
        else:
            write_file(hp, folder, rng, dict(st))
            if t == W.LAST_DELIVERY:
                mp.entries = mp.entries[: len(mp.entries) // 2]      # still being written
            write_file(mp, folder, rng, dict(st))
            if t == W.LAST_DELIVERY:
                finish("mz", t, folder, [hp, mp], "skipped_incomplete", ready=False)
            else:
                finish("mz", t, folder, [hp, mp], "loaded", ready_counts=rng.random() < 0.75)
        if t < W.LAST_DELIVERY:
            for e in mp.entries:
                seen_ids.add(e["meta"]["_p"].pid)
        if t == SC:
            final_hh_rows = hrows
            for e in mp.entries:
                if any(x[2] == "quarantined" for x in e["defects"]):
                    quarantined_people.add(e["meta"]["_p"].pid)
            final_mz_members = [e["meta"] for e in mp.entries if not any(x[2] == "quarantined" for x in e["defects"])]
            final_bad_hh = bad_hids
        # ================= cl
        crow = []
        for r in w.cl_snaps[t]:
            r = dict(r)
            if r["残疾人证号"] in mism:
                r["残疾人证号"] = mism[r["残疾人证号"]]
                r["_flag"] = "cert_digit_mismatch"
            crow.append(r)
        cp = FilePlan("cl", date, "disability", CL_COLS, crow)
        plan_c, dups_c = cp.plan_defects(rng, 0.03, 0.004, 0.002, exclude=lambda m: "_flag" in m)
        cp.apply(plan_c, dups_c, rng)
        for e in cp.entries:
            if "_flag" in e["meta"] and not e["dup"]:
                e["defects"].append(("残疾人证号", e["meta"]["_flag"], "flagged"))
        folder = os.path.join(landing, "cl", date)
        os.makedirs(folder, exist_ok=True)
        if (("cl", t) == REJECT):
            full = len(cp.entries)
            cp.entries = cp.entries[: full - 25]
            write_file(cp, folder, rng, style_for("cl", t))
            finish("cl", t, folder, [cp], "rejected", count_fix=lambda c: {k: v + 25 for k, v in c.items()})
        else:
            write_file(cp, folder, rng, style_for("cl", t))
            finish("cl", t, folder, [cp], "loaded", ready_counts=rng.random() < 0.75)
        for e in cp.entries:
            seen_ids.add(e["meta"]["_p"].pid)
        if t == SC:
            for e in cp.entries:
                if any(x[2] == "quarantined" for x in e["defects"]):
                    quarantined_people.add(e["meta"]["_p"].pid)
        # ================= rs
        regs = sorted([e for e in events if e["arr"] == t], key=lambda e: (e["date"], e["person"].pid))
        rrows = [{"身份证号": e["person"].pid, "姓名": e["person"].name if rng.random() < 0.93 else "",
                  "登记类型": e["type"], "登记日期": e["date"].isoformat(),
                  "单位名称": e["employer"] if e["type"] in ("就业登记", "就业登记注销") else "",
                  "行政区划代码": e["vcode"], "_p": e["person"], "_e": e} for e in regs]
        cts = sorted([c for c in contribs if c["arr"] == t], key=lambda c: (c["ym"], c["person"].pid, c["kind"]))
        crows = [{"身份证号": c["person"].pid, "缴费年月": f"{c['ym'][0]}{c['ym'][1]:02d}", "险种": c["kind"],
                  "缴费基数": f"{c['base']:.2f}", "单位名称": c["employer"], "_p": c["person"], "_c": c} for c in cts]
        rp = FilePlan("rs", date, "registrations", RG_COLS, rrows)
        tp = FilePlan("rs", date, "contributions", CT_COLS, crows)
        pr, dr = rp.plan_defects(rng, 0.03, 0.005, 0.002)
        rp.apply(pr, dr, rng)
        pc, dc = tp.plan_defects(rng, 0.02, 0.002, 0.0015)
        tp.apply(pc, dc, rng)
        for e in rp.entries:
            if not e["dup"] and e["meta"]["_p"].pid not in seen_ids and not any(x[2] == "quarantined" for x in e["defects"]):
                e["defects"].append(("身份证号", "rs_unknown_id", "flagged"))
        if t <= SC:
            for pl in (rp, tp):
                for e in pl.entries:
                    if any(x[2] == "quarantined" for x in e["defects"]):
                        quarantined_people.add(e["meta"]["_p"].pid)
        folder = os.path.join(landing, "rs", date)
        os.makedirs(folder, exist_ok=True)
        st = style_for("rs", t)
        write_file(rp, folder, rng, dict(st, xlsx=False))
        write_file(tp, folder, rng, dict(st))
        finish("rs", t, folder, [rp, tp], "loaded", ready_counts=rng.random() < 0.75)

    # ---- replays: the same bytes under a new date folder
    for (src, t), newdate in REPLAYS.items():
        srcf = os.path.join(landing, src, dstr(t))
        dst = os.path.join(landing, src, newdate)
        shutil.copytree(srcf, dst)
        for fn in sorted(os.listdir(dst)):
            if fn != "_READY":
                n = next(f["data_rows"] for f in files if f["source"] == src and f["extract_date"] == dstr(t)
                         and f["file_name"] == fn)
                files.append({"source": src, "extract_date": newdate, "file_name": fn, "data_rows": n,
                              "expected": "replay", "format": fn.rsplit(".", 1)[1]})
        deliveries.append({"source": src, "extract_date": newdate, "expected": "replay", "ready": "copied",
                           "note": f"byte copy of {src}/{dstr(t)}"})

    write_truth(w, truth, final_hh_rows, final_mz_members, final_bad_hh, events, contribs, quarantined_people,
                deliveries, files, defects, mism)
    print(f"external-d seed {a.seed}: {len(deliveries)} deliveries, {len(files)} files, {len(defects)} defect records -> {out}")


def write_truth(w, truth, hrows, final_members, bad_hh, events, contribs, qpeople, deliveries, files, defects, mism):
    SC = W.SCORING_T
    asof = W.month_end(SC)

    def wcsv(name, rows, cols):
        with open(os.path.join(truth, name), "w", encoding="utf-8", newline="") as fh:
            wr = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
            wr.writeheader()
            wr.writerows(rows)

    hh, base, inc = [], [], []
    for r in hrows:
        h = r["_h"]
        scored = r["保障状态"] == "在册" and r["保障类别"] not in ("低保", "特困")
        std = lambda t: W.dibao_std(t, h.area)
        lab = int(any(h.inc[t] < std(t) for t in W.LABEL_TS))
        head_region = r["户主身份证号"][:6]
        nonlocal_ = int(not head_region.startswith(W.LIAOCHENG_PREFIXES))
        shocks = ";".join(f"{W.month_end(t).isoformat()[:7]}:{s}" for t, s in h.hist if t >= 36 and t <= SC and not s.startswith("check"))
        hh.append({"household_id": h.hid, "as_of_date": asof.isoformat(), "scored": int(scored),
                   "fell_below_within_3m": lab, "urban_rural": h.area, "true_pc_income_asof": f"{h.inc[SC]:.2f}",
                   "nonlocal": nonlocal_, "category": r["保障类别"], "status": r["保障状态"],
                   "county_code": h.vcode[:6], "township_code": h.vcode[:9], "village_code": h.vcode,
                   "members": len(h.members), "true_pc_2024_12": f"{h.inc[47]:.2f}", "true_pc_2025_01": f"{h.inc[48]:.2f}",
                   "true_pc_2025_02": f"{h.inc[49]:.2f}", "standard": std(SC), "last_check_date": r["核对日期"],
                   "households_row_quarantined": int(h.hid in bad_hh), "shocks_2024": shocks})
        base.append({"household_id": h.hid, "stale_pc_income": r["月人均收入"], "urban_rural": h.area,
                     "check_date": r["核对日期"], "category": r["保障类别"]})
        for t in range(W.FIRST_DELIVERY, W.N_MONTHS):
            inc.append({"household_id": h.hid, "month": W.month_end(t).isoformat()[:7], "true_pc_income": f"{h.inc[t]:.2f}",
                        "cash_pc_income": f"{h.cash[t]:.2f}", "standard": W.dibao_std(t, h.area)})
    cols = list(hh[0].keys())
    wcsv("households.csv", hh, cols)
    wcsv("baseline_inputs.csv", base, list(base[0].keys()))
    wcsv("income_monthly.csv", inc, list(inc[0].keys()))

    # ---- discovery truth (单人保) on the scoring date
    in_active = {}
    for m in final_members:
        h = m["_h"]
        if h.hid in bad_hh:
            pass
    active_hids = {r["_h"].hid for r in hrows if r["保障状态"] == "在册"}
    member_of_active = {m["_p"].pid for m in final_members if m["_h"].hid in active_hids}
    member_any = {m["_p"].pid: m["_h"] for m in final_members}
    window = {(2024, 9), (2024, 10), (2024, 11)}

    ev_people = defaultdict(list)
    for e in events:
        ev_people[e["person"].pid].append(e)
    c_people = defaultdict(list)
    for c in contribs:
        c_people[c["person"].pid].append(c)

    def employed(pid, delivered):
        evs = sorted([e for e in ev_people[pid] if e["date"] <= asof and (not delivered or e["arr"] <= SC)],
                     key=lambda e: (e["date"], e["type"] == "就业登记注销"))
        open_ = False
        for e in evs:
            if e["type"] == "就业登记":
                open_ = True
            elif e["type"] == "就业登记注销":
                open_ = False
        contrib = any(c["kind"] == "企业职工基本养老保险" and c["ym"] in window and
                      (not delivered or c["arr"] <= SC) for c in c_people[pid])
        return open_, contrib
    ev_people = defaultdict(list)
    for e in events:
        ev_people[e["person"].pid].append(e)
    c_people = defaultdict(list)
    for c in contribs:
        c_people[c["person"].pid].append(c)
    cands = []
    seen = set()
    for r in w.cl_snaps[SC]:
        p = r["_p"]
        if p.pid in seen:
            continue
        certs = [x for x in w.cl_snaps[SC] if x["_p"] is p]
        seen.add(p.pid)
        act = [x for x in certs if x["证件状态"] == "有效"]
        grade_ok = any(x["残疾等级"] in ("一级", "二级") for x in act)
        age = p.age(asof)
        tru = employed(p.pid, False)
        dlv = employed(p.pid, True)
        in_hh = p.pid in member_of_active
        reason = ""
        if not act:
            reason = "cancelled"
        elif not grade_ok:
            reason = "grade_3_4"
        elif age < 18:
            reason = "minor"
        elif in_hh:
            reason = "in_active_household"
        elif tru[0]:
            reason = "open_employment"
        elif tru[1]:
            reason = "recent_contribution"
        label = 0 if reason else 1
        base_ok = act and grade_ok and age >= 18 and not in_hh
        if base_ok and (tru != dlv) and (any(tru) != any(dlv)):
            label, reason = -1, "rs_rows_arrive_after_scoring_date"
        if p.pid in qpeople and (base_ok or p.pid in member_any):
            label, reason = -1, "relevant_row_quarantined"
        if act and grade_ok and age >= 18 and p.pid in member_any and member_any[p.pid].hid in bad_hh:
            label, reason = -1, "household_row_quarantined"
        planted = ""
        if label == 1:
            h = p.hh
            evs = ev_people[p.pid]
            if p.pid in member_any:
                planted = "member_of_exited_household"
            elif h is not None and not p.general:
                planted = "household_not_monitored"
            elif any(e["type"] == "就业登记注销" for e in evs if e["date"] <= asof):
                planted = "employment_closed"
            elif any(e["type"] == "失业登记" for e in evs if e["date"] <= asof):
                planted = "unemployment_registered"
            elif any(c["kind"] == "企业职工基本养老保险" for c in c_people[p.pid]):
                planted = "old_employee_contributions"
            elif any(c["kind"] == "城乡居民基本养老保险" for c in c_people[p.pid]):
                planted = "resident_pension_only"
            else:
                planted = "no_employment_record"
        cands.append({"person_id": p.pid, "name": p.name, "label": label, "reason": reason, "planted": planted,
                      "age": age, "grades": "|".join(sorted(x["残疾等级"] for x in act)),
                      "county_code": (p.hh.vcode if p.hh else p.group)[:6]})
    wcsv("candidates.csv", cands, list(cands[0].keys()))
    wcsv("defects.csv", defects, ["source", "extract_date", "file_name", "line_number", "column_name", "kind", "expected",
                                  "raw_value"])
    wcsv("deliveries.csv", deliveries, ["source", "extract_date", "expected", "ready", "note"])
    wcsv("files.csv", files, ["source", "extract_date", "file_name", "data_rows", "expected", "format"])


if __name__ == "__main__":
    main()
