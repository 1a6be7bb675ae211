#!/usr/bin/env python3
"""Self-check of external-b: re-reads the landing with an independent reading of sources.md
and compares it with truth/defects.csv and truth/files.csv.

    .venv/bin/python models/external_b/check_landing.py WORLD_DIR

- every file of every complete delivery parses with polars (CSV after encoding detection, XLSX
  with all columns as strings) and has the data rows files.csv and _READY say;
- a row-level re-validation (repairs, unrepairable cells, exact duplicates) finds exactly the
  quarantine / duplicate lines planted in defects.csv, and a repair on every planted repair.
"""
import csv
import datetime as dt
import io
import json
import os
import re
import sys
from collections import defaultdict

import polars as pl

if len(sys.argv) != 2:
    sys.exit("usage: check_landing.py WORLD_DIR  (the --out folder emit.py wrote)")
ROOT = sys.argv[1]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emit import CTYPE  # noqa: E402

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHK = "10X98765432"
ENUMS = {
    "城乡属性": {"城市", "农村"}, "保障类别": {"低保", "特困", "低保边缘", "刚性支出困难", "其他低收入"},
    "保障状态": {"在册", "退出"}, "与户主关系": {"本人", "配偶", "子女", "父母", "兄弟姐妹", "孙子女", "祖父母", "其他"},
    "性别": {"男", "女"}, "劳动能力": {"有劳动能力", "部分丧失", "完全丧失"}, "健康状况": {"健康", "慢性病", "重病", "残疾"},
    "在校生": {"是", "否"}, "残疾类别": {"视力", "听力", "言语", "肢体", "智力", "精神", "多重"},
    "残疾等级": {"一级", "二级", "三级", "四级"}, "证件状态": {"有效", "注销"}, "享受生活补贴": {"是", "否"},
    "享受护理补贴": {"是", "否"}, "登记类型": {"就业登记", "就业登记注销", "失业登记", "失业登记注销"},
    "险种": {"企业职工基本养老保险", "失业保险", "城乡居民基本养老保险"},
}
HALF = str.maketrans("０１２３４５６７８９ＸｘＸ", "0123456789XxX")


def norm_id(v):
    s = re.sub(r"\s+", "", v.translate(HALF)).upper()
    if not s:
        return None, "empty"
    m = re.fullmatch(r"(\d{18})\.0+", s)
    if m:
        s = m.group(1)
    m = re.fullmatch(r"(\d)\.(\d+)E\+?(\d+)", s)
    if m:
        digits = m.group(1) + m.group(2)
        if int(m.group(3)) != 17 or len(digits) != 18:
            return None, "lossy_float"
        s = digits
    if re.fullmatch(r"\d{15}", s):
        s17 = s[:6] + "19" + s[6:]
        s = s17 + CHK[sum(int(c) * w for c, w in zip(s17, W)) % 11]
    if not re.fullmatch(r"\d{17}[\dX]", s):
        return None, "bad_format"
    if CHK[sum(int(c) * w for c, w in zip(s[:17], W)) % 11] != s[17]:
        return None, "bad_check"
    return s, None


def norm_date(v):
    s = v.strip()
    if not s:
        return None, "empty"
    for rx in (r"(\d{4})-(\d{1,2})-(\d{1,2})", r"(\d{4})/(\d{1,2})/(\d{1,2})", r"(\d{4})(\d{2})(\d{2})",
               r"(\d{4})年(\d{1,2})月(\d{1,2})日", r"(\d{4})\.(\d{1,2})\.(\d{1,2})"):
        m = re.fullmatch(rx, s)
        if m:
            try:
                return dt.date(*map(int, m.groups())), None
            except ValueError:
                return None, "bad_date"
    if re.fullmatch(r"\d{4,5}(\.0)?", s):
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(float(s))), None
    return None, "bad_date"


def check_cell(col, v):
    """-> (clean or None, error or None, repaired bool)"""
    ty = CTYPE[col]
    raw = v
    if ty == "id":
        c, e = norm_id(v)
        return c, e, c is not None and c != raw
    if ty in ("date", "date_opt"):
        if ty == "date_opt" and not v.strip():
            return "", None, False
        c, e = norm_date(v)
        return c, e, c is not None and c.isoformat() != raw
    if ty in ("amount", "amount_opt"):
        s = v.strip().replace(",", "").removesuffix("元").strip()
        if not s:
            return ("", None, False) if ty == "amount_opt" else (None, "empty", False)
        try:
            f = float(s)
        except ValueError:
            return None, "bad_amount", False
        if f < 0:
            return None, "negative", False
        return f, None, s != raw
    if ty in ("enum", "enum_ur", "grade"):
        s = v.strip()
        if ty == "enum_ur" and s == "城镇":
            s = "城市"
        if ty == "grade":
            m = re.fullmatch(r"([1-4])级?", s)
            if m:
                s = "一二三四"[int(m.group(1)) - 1] + "级"
        if not s:
            return None, "empty", False
        if s not in ENUMS[col]:
            return None, "unknown", False
        return s, None, s != raw
    if ty in ("code",):
        if not re.fullmatch(r"\d{12}", v.strip()):
            return None, "bad_code", False
        return v.strip(), None, False
    if ty == "hid":
        return (v, None, False) if v.strip() else (None, "empty", False)
    if ty == "int":
        return (int(v), None, False) if v.strip().isdigit() else (None, "bad_int", False)
    if ty == "ym":
        return (v, None, False) if re.fullmatch(r"\d{6}", v.strip()) else (None, "bad_ym", False)
    if ty == "cert":
        ok = len(v) == 20 and norm_id(v[:18])[1] is None and v[18] in "1234567" and v[19] in "1234"
        return (v, None, False) if ok else (None, "bad_cert", False)
    return v, None, False


def read_rows(path):
    """-> header, [(line_number, [values])] counting data rows per sources.md"""
    if path.endswith(".xlsx"):
        import openpyxl
        ws = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        rows = []
        hdr = None
        for i, r in enumerate(ws.iter_rows(values_only=True), start=1):
            vals = ["" if x is None else (str(x) if not isinstance(x, float) else repr(x)) for x in r]
            if i == 1:
                hdr = vals
                continue
            if any(v.strip() for v in vals):
                rows.append((i, vals))
        df = pl.read_excel(path, infer_schema_length=0)
        return hdr, rows, df.height
    raw = open(path, "rb").read()
    if raw.startswith(b"\xef\xbb\xbf"):
        txt = raw[3:].decode("utf-8")
    else:
        try:
            txt = raw.decode("utf-8")
        except UnicodeDecodeError:
            txt = raw.decode("gb18030")
    lines = list(csv.reader(io.StringIO(txt, newline="")))
    hdr = lines[0]
    rows = [(i, r) for i, r in enumerate(lines[1:], start=2) if any(x.strip() for x in r)]
    df = pl.read_csv(txt.encode("utf-8"), infer_schema=False)
    return hdr, rows, df.filter(~pl.all_horizontal(pl.all().is_null())).height


def main():
    truth = os.path.join(ROOT, "truth")
    landing = os.path.join(ROOT, "landing")
    files = list(csv.DictReader(open(os.path.join(truth, "files.csv"), encoding="utf-8")))
    defects = list(csv.DictReader(open(os.path.join(truth, "defects.csv"), encoding="utf-8")))
    dl = list(csv.DictReader(open(os.path.join(truth, "deliveries.csv"), encoding="utf-8")))
    planted = defaultdict(lambda: defaultdict(list))
    for d in defects:
        planted[(d["source"], d["extract_date"], d["file_name"])][int(d["line_number"])].append(d)
    problems = []
    n_checked = 0
    stats = defaultdict(int)
    # every folder in the landing is described
    on_disk = {(s, d) for s in os.listdir(landing) for d in os.listdir(os.path.join(landing, s))}
    described = {(d["source"], d["extract_date"]) for d in dl}
    if on_disk != described:
        problems.append(f"folders vs deliveries.csv: {sorted(on_disk ^ described)}")
    for f in files:
        path = os.path.join(landing, f["source"], f["extract_date"], f["file_name"])
        if not os.path.exists(path):
            problems.append(f"missing {path}")
            continue
        rp = os.path.join(landing, f["source"], f["extract_date"], "_READY")
        if f["expected"] == "skipped_incomplete":
            if os.path.exists(rp):
                problems.append(f"{path}: incomplete delivery has _READY")
            continue
        hdr, rows, pl_rows = read_rows(path)
        n_checked += 1
        if len(rows) != int(f["data_rows"]) or pl_rows != len(rows):
            problems.append(f"{path}: rows {len(rows)} polars {pl_rows} files.csv {f['data_rows']}")
        rd = open(rp, encoding="utf-8").read().strip()
        if rd:
            cnt = json.loads(rd)["files"].get(f["file_name"])
            if f["expected"] == "rejected":
                if cnt == len(rows):
                    stats["rejected_but_counts_match"] += 1
            elif cnt != len(rows):
                problems.append(f"{path}: _READY {cnt} != rows {len(rows)}")
        if f["expected"] != "loaded":
            continue
        pk = planted[(f["source"], f["extract_date"], f["file_name"])]
        seen = set()
        cols = [c for c in hdr if c in CTYPE]
        for line, vals in rows:
            rec = dict(zip(hdr, vals))
            key = tuple(vals)
            pd = pk.get(line, [])
            kinds = {d["expected"] for d in pd}
            if key in seen:
                stats["duplicates"] += 1
                if "duplicate" not in kinds:
                    problems.append(f"{path}:{line} unplanted duplicate")
                continue
            seen.add(key)
            if "duplicate" in kinds:
                problems.append(f"{path}:{line} planted duplicate is not a duplicate")
            bad, rep = [], []
            for c in cols:
                clean, err, repaired = check_cell(c, rec.get(c, ""))
                if err:
                    bad.append(c)
                elif repaired:
                    rep.append(c)
            qcols = {d["column_name"] for d in pd if d["expected"] == "quarantined"}
            if set(bad) != qcols:
                problems.append(f"{path}:{line} bad cells {bad} vs planted {sorted(qcols)} {[rec.get(c) for c in bad]}")
            rcols = {d["column_name"] for d in pd if d["expected"] == "repaired" and d["column_name"]}
            if not bad and not rcols <= set(rep):
                problems.append(f"{path}:{line} planted repair {rcols} not seen as repair ({rep})")
            if not bad and set(rep) - rcols:
                problems.append(f"{path}:{line} unplanted repair {set(rep) - rcols}")
            for d in pd:
                if d["column_name"] and d["expected"] in ("quarantined", "repaired") and rec.get(d["column_name"]) != d["raw_value"]:
                    problems.append(f"{path}:{line} raw_value mismatch {d['column_name']} {rec.get(d['column_name'])!r} vs {d['raw_value']!r}")
            stats["rows"] += 1
            stats["quarantined_rows"] += bool(bad)
            stats["repaired_rows"] += bool(rep) and not bad
    print(f"checked {n_checked} files, {stats['rows']} distinct rows; quarantined {stats['quarantined_rows']}, "
          f"repaired {stats['repaired_rows']}, duplicates {stats['duplicates']}")
    print(f"problems: {len(problems)}")
    for p in problems[:40]:
        print("  ", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
