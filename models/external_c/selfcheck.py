# -*- coding: utf-8 -*-
"""Self-check of world C: does the landing follow sources.md, and does the truth describe it?

    python selfcheck.py [DIR]        (DIR defaults to ./out; reads DIR/landing, DIR/truth, DIR/staged)

An independent, contract-literal reader (it does not import world.py or emit.py): every cell is
classified clean / repairable / unrepairable by the rules of sources.md, and the result is compared
with truth/defects.csv line by line.  Exit code 1 on any mismatch.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import sys
from collections import Counter, defaultdict

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
L, T, ST = (os.path.join(ROOT, x) for x in ("landing", "truth", "staged"))
FILES = {"mz": {"households", "members"}, "cl": {"disability"}, "rs": {"registrations", "contributions"}}
HEAD = {
    "households": ["家庭编号", "户主身份证号", "户主姓名", "行政区划代码", "城乡属性", "保障类别", "保障状态", "家庭人口数",
                   "月人均收入", "核对日期", "月保障金额", "认定日期"],
    "members": ["家庭编号", "身份证号", "姓名", "与户主关系", "性别", "出生日期", "劳动能力", "健康状况", "在校生"],
    "disability": ["残疾人证号", "姓名", "残疾类别", "残疾等级", "发证日期", "证件状态", "行政区划代码", "享受生活补贴", "享受护理补贴"],
    "registrations": ["身份证号", "姓名", "登记类型", "登记日期", "单位名称", "行政区划代码"],
    "contributions": ["身份证号", "缴费年月", "险种", "缴费基数", "单位名称"],
}
OPTIONAL = {"户主姓名", "姓名", "月人均收入", "核对日期", "单位名称", "月保障金额"}
ENUM = {
    "城乡属性": "城市 农村", "保障类别": "低保 特困 低保边缘 刚性支出困难 其他低收入", "保障状态": "在册 退出",
    "与户主关系": "本人 配偶 子女 父母 兄弟姐妹 孙子女 祖父母 其他", "性别": "男 女", "劳动能力": "有劳动能力 部分丧失 完全丧失",
    "健康状况": "健康 慢性病 重病 残疾", "在校生": "是 否", "残疾类别": "视力 听力 言语 肢体 智力 精神 多重",
    "残疾等级": "一级 二级 三级 四级", "证件状态": "有效 注销", "享受生活补贴": "是 否", "享受护理补贴": "是 否",
    "登记类型": "就业登记 就业登记注销 失业登记 失业登记注销", "险种": "企业职工基本养老保险 失业保险 城乡居民基本养老保险",
}
ENUM = {k: v.split() for k, v in ENUM.items()}
W17 = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHK = "10X98765432"
FW = {ord(c): ord(h) for c, h in zip("０１２３４５６７８９ＸｘＥ．＋", "0123456789XxE.+")}

errors = []


def err(msg):
    errors.append(msg)


def chk(s17):
    return CHK[sum(int(a) * w for a, w in zip(s17, W17)) % 11]


def norm_id(v):
    """-> (id18 or None, 'ok'|'repaired'|'bad')"""
    s = str(v).translate(FW).replace(" ", "")
    rep = s != str(v)
    m = re.fullmatch(r"(\d{18})\.0", s)
    if m:
        s, rep = m.group(1), True
    m = re.fullmatch(r"(\d)\.(\d+)[eE]\+17", s)
    if m:
        if len(m.group(2)) != 17:
            return None, "bad"
        s, rep = m.group(1) + m.group(2), True
    if s.endswith("x"):
        s, rep = s[:-1] + "X", True
    if re.fullmatch(r"\d{15}", s):
        s17 = s[:6] + "19" + s[6:]
        return s17 + chk(s17), "repaired"
    if not re.fullmatch(r"\d{17}[\dX]", s):
        return None, "bad"
    try:
        dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return None, "bad"
    if chk(s[:17]) != s[17]:
        return None, "bad"
    return s, "repaired" if rep else "ok"


def norm_date(v):
    if isinstance(v, dt.datetime):
        return v.date(), "ok"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(v)), "repaired"
    s = str(v).strip()
    pats = [(r"(\d{4})-(\d{2})-(\d{2})", "ok"), (r"(\d{4})/(\d{1,2})/(\d{1,2})", "repaired"),
            (r"(\d{4})(\d{2})(\d{2})", "repaired"), (r"(\d{4})年(\d{1,2})月(\d{1,2})日", "repaired"),
            (r"(\d{4})\.(\d{2})\.(\d{2})", "repaired")]
    for p, st in pats:
        m = re.fullmatch(p, s)
        if m:
            try:
                return dt.date(*map(int, m.groups())), st
            except ValueError:
                return None, "bad"
    if re.fullmatch(r"\d{4,5}", s) and 1000 < int(s) < 80000:
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(s)), "repaired"
    return None, "bad"


def norm_amt(v):
    if isinstance(v, (int, float)):
        return float(v), ("bad" if v < 0 else "ok")
    s = str(v)
    t = s.strip().removesuffix("元").replace(",", "")
    try:
        x = float(t)
    except ValueError:
        return None, "bad"
    if x < 0:
        return None, "bad"
    return x, ("ok" if t == s else "repaired")


def norm_enum(col, v):
    s = str(v)
    t = s.strip()
    if col == "城乡属性" and t == "城镇":
        t = "城市"
    if col == "残疾等级":
        m = re.fullmatch(r"([1-4])级?", t)
        if m:
            t = "一二三四"[int(m.group(1)) - 1] + "级"
    if t not in ENUM[col]:
        return None, "bad"
    return t, ("ok" if t == s else "repaired")


def cell(col, v):
    """-> (normalised value, status)"""
    if v is None or (isinstance(v, str) and v.strip() == ""):
        if col in OPTIONAL:
            return None, "ok"
        return None, "bad"
    if col in ("户主身份证号", "身份证号"):
        return norm_id(v)
    if col == "残疾人证号":
        s = str(v).translate(FW).replace(" ", "")
        i, st = norm_id(s[:18])
        if i is None or not re.fullmatch(r"[1-7][1-4]", s[18:]):
            return None, "bad"
        return i + s[18:], ("repaired" if s != str(v) or st != "ok" else "ok")
    if col in ("核对日期", "认定日期", "出生日期", "发证日期", "登记日期"):
        return norm_date(v)
    if col in ("月人均收入", "月保障金额", "缴费基数"):
        return norm_amt(v)
    if col in ENUM:
        return norm_enum(col, v)
    if col == "行政区划代码":
        return str(v), ("ok" if re.fullmatch(r"\d{12}", str(v)) else "bad")
    if col == "家庭人口数":
        return int(v), "ok"
    if col == "缴费年月":
        return str(v), ("ok" if re.fullmatch(r"20\d\d(0[1-9]|1[0-2])", str(v)) else "bad")
    return v, "ok"


def read_table(path):
    """-> (header, [(line_number, row_values)], encoding)"""
    if path.endswith(".xlsx"):
        import openpyxl
        wb = openpyxl.load_workbook(path, read_only=True)
        ws = wb.worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
        hdr = [str(x) for x in rows[0]]
        out = []
        for i, r in enumerate(rows[1:], start=2):
            if all(x is None or str(x).strip() == "" for x in r):
                continue
            out.append((i, list(r)))
        return hdr, out, "xlsx"
    raw = open(path, "rb").read()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValueError("undecodable")
    enc = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else enc
    lines = text.splitlines()
    hdr = next(csv.reader([lines[0]]))
    out = [(i, next(csv.reader([ln]))) for i, ln in enumerate(lines[1:], start=2) if ln.strip() != ""]
    return hdr, out, enc


def main():
    deliveries = {(d["source"], d["extract_date"]): d for d in csv.DictReader(open(os.path.join(T, "deliveries.csv"), encoding="utf-8"))}
    files = {(f["source"], f["extract_date"], f["file_name"]): f for f in csv.DictReader(open(os.path.join(T, "files.csv"), encoding="utf-8"))}
    defects = list(csv.DictReader(open(os.path.join(T, "defects.csv"), encoding="utf-8")))
    dmap = defaultdict(list)
    for d in defects:
        dmap[(d["extract_date"], d["file_name"], int(d["line_number"]))].append(d)
    seen_deliv = set()
    n_rows = Counter()
    found = Counter()
    for src in sorted(os.listdir(L)):
        if src not in FILES:
            err(f"unknown source folder {src}")
            continue
        for date in sorted(os.listdir(os.path.join(L, src))):
            folder = os.path.join(L, src, date)
            try:
                dt.date.fromisoformat(date)
            except ValueError:
                err(f"{src}/{date}: folder name is not YYYY-MM-DD")
            key = (src, date)
            seen_deliv.add(key)
            exp = deliveries.get(key, {}).get("expected")
            if exp is None:
                err(f"{src}/{date}: not in truth/deliveries.csv")
                continue
            names = sorted(os.listdir(folder))
            ready = "_READY" in names
            if exp == "skipped_incomplete":
                if ready:
                    err(f"{src}/{date}: expected incomplete but _READY exists")
                continue
            if not ready:
                err(f"{src}/{date}: _READY missing")
                continue
            rtxt = open(os.path.join(folder, "_READY"), encoding="utf-8").read()
            counts = json.loads(rtxt)["files"] if rtxt.strip() else None
            stems = set()
            actual = {}
            for fn in names:
                if fn == "_READY":
                    continue
                stem, ext = fn.rsplit(".", 1)
                if stem not in FILES[src] or ext not in ("csv", "xlsx"):
                    err(f"{src}/{date}/{fn}: unexpected file")
                stems.add(stem)
                hdr, rows, enc = read_table(os.path.join(folder, fn))
                actual[fn] = len(rows)
                if not set(HEAD[stem]) <= set(hdr):
                    err(f"{src}/{date}/{fn}: header lacks {set(HEAD[stem]) - set(hdr)}")
                f = files.get((src, date, fn))
                if f is None or int(f["data_rows"]) != len(rows):
                    err(f"{src}/{date}/{fn}: data rows {len(rows)} vs truth {f and f['data_rows']}")
                if exp != "loaded":
                    continue
                # ---- cell-level classification vs truth/defects.csv
                idx = {c: hdr.index(c) for c in HEAD[stem]}
                seen_rows = set()
                for ln, r in rows:
                    n_rows[stem] += 1
                    vals = tuple("" if x is None else str(x) for x in r)
                    tr = dmap.get((date, fn, ln), [])
                    tk = {(d["column_name"], d["expected"]) for d in tr if d["expected"] in ("repaired", "quarantined")}
                    if vals in seen_rows:
                        if not any(d["expected"] == "duplicate" for d in tr):
                            err(f"{src}/{date}/{fn}:{ln} exact duplicate not in truth")
                        found["duplicate"] += 1
                        continue
                    seen_rows.add(vals)
                    if any(d["expected"] == "duplicate" for d in tr):
                        err(f"{src}/{date}/{fn}:{ln} truth says duplicate but no earlier identical row")
                    got = set()
                    for c, i in idx.items():
                        v = r[i] if i < len(r) else None
                        _, st = cell(c, v)
                        if st == "repaired":
                            got.add((c, "repaired"))
                        elif st == "bad":
                            got.add((c, "quarantined"))
                    if got != tk:
                        err(f"{src}/{date}/{fn}:{ln} reader finds {sorted(got)}, truth says {sorted(tk)}")
                    for c, e in got:
                        found[e] += 1
            if src in FILES and stems != FILES[src]:
                err(f"{src}/{date}: files {stems} != {FILES[src]}")
            if counts is not None:
                mism = {k: (counts.get(k), actual.get(k)) for k in set(counts) | set(actual) if counts.get(k) != actual.get(k)}
                if mism and exp != "rejected":
                    err(f"{src}/{date}: _READY counts mismatch {mism}")
                if not mism and exp == "rejected":
                    err(f"{src}/{date}: expected rejected but _READY counts match")
            elif exp == "rejected":
                err(f"{src}/{date}: expected rejected but _READY is empty")
            if exp == "replay":
                orig = deliveries[key]["note"].split(" of ")[1]
                for fn in names:
                    a = open(os.path.join(L, orig, fn), "rb").read()
                    b = open(os.path.join(folder, fn), "rb").read()
                    if a != b:
                        err(f"{src}/{date}/{fn}: replay differs from {orig}")
    for key in deliveries:
        if key not in seen_deliv:
            err(f"truth delivery {key} not in landing")
    # staged correction: a prefix of the corrected delivery
    if os.path.isdir(ST):
        for src in os.listdir(ST):
            for date in os.listdir(os.path.join(ST, src)):
                for fn in os.listdir(os.path.join(ST, src, date)):
                    if fn == "_READY":
                        continue
                    a = open(os.path.join(ST, src, date, fn), "rb").read()
                    b = open(os.path.join(L, src, date, fn), "rb").read()
                    if not b.startswith(a) or a == b:
                        err(f"staged {src}/{date}/{fn} is not a strict prefix of the corrected file")
    # planted counts vs reader counts
    planted = Counter(d["expected"] for d in defects)
    for e in ("repaired", "quarantined"):
        n = sum(1 for d in defects if d["expected"] == e and d["column_name"])
        if n != found[e]:
            err(f"{e}: reader found {found[e]} cells, truth plants {n}")
    if planted["duplicate"] != found["duplicate"]:
        err(f"duplicates: reader {found['duplicate']} vs truth {planted['duplicate']}")
    # ranking truth sanity
    hh = list(csv.DictReader(open(os.path.join(T, "households.csv"), encoding="utf-8")))
    sc = [h for h in hh if h["scored"] == "1"]
    rate = sum(int(h["fell_below_within_3m"]) for h in sc) / len(sc)
    if not 0.08 <= rate <= 0.20:
        err(f"label rate {rate:.3f} outside 8-20%")
    as_of = sc[0]["as_of_date"]
    fin = os.path.join(L, "mz", as_of)
    fn = [f for f in os.listdir(fin) if f.startswith("households")][0]
    hdr, rows, _ = read_table(os.path.join(fin, fn))
    ok_h = set()
    i = hdr.index("家庭编号")
    for ln, r in rows:
        bad = any(cell(c, r[hdr.index(c)])[1] == "bad" for c in HEAD["households"])
        if not bad:
            ok_h.add(r[i])
    miss = [h["household_id"] for h in sc if h["household_id"] not in ok_h]
    if miss:
        err(f"{len(miss)} scored households do not load cleanly from the final snapshot: {miss[:5]}")
    print(f"rows checked: {dict(n_rows)}")
    print(f"cells: repaired {found['repaired']}, unrepairable {found['quarantined']}, duplicate rows {found['duplicate']}")
    print(f"deliveries: {Counter(d['expected'] for d in deliveries.values())}")
    print(f"scored {len(sc)}, label rate {rate:.3f}, as_of {as_of}")
    if errors:
        print(f"SELF-CHECK FAILED: {len(errors)} problem(s)")
        for e in errors[:40]:
            print("  ", e)
        return 1
    print("SELF-CHECK OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
