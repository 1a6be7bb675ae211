# -*- coding: utf-8 -*-
"""Write world C's landing (sources.md layout) and its ground truth (evaluate_world.py layout).

    python emit.py --out DIR [--seed S]      ->  DIR/landing, DIR/truth, DIR/staged

DIR/staged holds the superseded first version of the corrected delivery (mz/2024-09-30)
for a two-phase run (see README.md); it is not part of the landing.
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
import sys
import time
import zlib
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world as Wm  # noqa: E402
from world import AS_OF, AS_OF_T, DELIV_T, LABEL_T, MI, MONTHS, age_at, dibao_std, month_end  # noqa: E402

HEADERS = {
    "households": ["家庭编号", "户主身份证号", "户主姓名", "行政区划代码", "城乡属性", "保障类别", "保障状态",
                   "家庭人口数", "月人均收入", "核对日期", "月保障金额", "认定日期"],
    "members": ["家庭编号", "身份证号", "姓名", "与户主关系", "性别", "出生日期", "劳动能力", "健康状况", "在校生"],
    "disability": ["残疾人证号", "姓名", "残疾类别", "残疾等级", "发证日期", "证件状态", "行政区划代码",
                   "享受生活补贴", "享受护理补贴"],
    "registrations": ["身份证号", "姓名", "登记类型", "登记日期", "单位名称", "行政区划代码"],
    "contributions": ["身份证号", "缴费年月", "险种", "缴费基数", "单位名称"],
}
SOURCE_OF = {"households": "mz", "members": "mz", "disability": "cl", "registrations": "rs", "contributions": "rs"}
OPTIONAL = {"户主姓名", "姓名", "月人均收入", "核对日期", "单位名称", "月保障金额"}
ID_COLS = {"户主身份证号", "身份证号"}
DATE_COLS = {"核对日期", "认定日期", "出生日期", "发证日期", "登记日期"}
AMT_COLS = {"月人均收入", "月保障金额", "缴费基数"}
ENUMS = {
    "城乡属性": ["城市", "农村"], "保障类别": list(Wm.CATS), "保障状态": ["在册", "退出"],
    "与户主关系": ["本人", "配偶", "子女", "父母", "兄弟姐妹", "孙子女", "祖父母", "其他"], "性别": ["男", "女"],
    "劳动能力": ["有劳动能力", "部分丧失", "完全丧失"], "健康状况": ["健康", "慢性病", "重病", "残疾"], "在校生": ["是", "否"],
    "残疾类别": ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"], "残疾等级": ["一级", "二级", "三级", "四级"],
    "证件状态": ["有效", "注销"], "享受生活补贴": ["是", "否"], "享受护理补贴": ["是", "否"],
    "登记类型": ["就业登记", "就业登记注销", "失业登记", "失业登记注销"],
    "险种": ["企业职工基本养老保险", "失业保险", "城乡居民基本养老保险"],
}
UNKNOWN = {
    "城乡属性": ["城乡结合部"], "保障类别": ["低保户", "边缘户", "特困供养"], "保障状态": ["暂停", "待审核"],
    "与户主关系": ["女婿", "儿媳", "外孙"], "性别": ["未知"], "劳动能力": ["无劳动能力", "丧失"],
    "健康状况": ["良好", "一般"], "在校生": ["1", "在读"], "残疾类别": ["肢残", "视残"], "残疾等级": ["五级", "特级"],
    "证件状态": ["挂失", "过期"], "享受生活补贴": ["有"], "享受护理补贴": ["无"],
    "登记类型": ["灵活就业登记", "就业登记变更"], "险种": ["职工基本医疗保险", "工伤保险"],
}
GRADE_TXT = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
KIND_TXT = {1: "视力", 2: "听力", 3: "言语", 4: "肢体", 5: "智力", 6: "精神", 7: "多重"}
EXTRA_COLS = ["备注", "经办人", "数据更新时间", "来源系统"]

REPAIR_KINDS = ["id_15digit", "id_lowercase_x", "id_fullwidth_x", "id_fullwidth_digits", "id_spaces",
                "id_float_full", "id_sci_full", "date_slash", "date_compact", "date_cn", "date_dot",
                "date_excel_serial", "amount_thousands_comma", "amount_yuan_suffix", "amount_spaces",
                "enum_spaces", "grade_n_ji", "grade_n_digit", "urban_chengzhen"]
QUAR_KINDS = ["id_bad_check", "id_float_lossy", "enum_unknown", "amount_negative", "date_unparseable",
              "mandatory_empty"]
FW = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
EXCEL_EPOCH = dt.date(1899, 12, 30)


def d_iso(d):
    return "" if d is None else d.isoformat()


def amt(v, zero_empty=False):
    if v is None:
        return ""
    if zero_empty and v == 0:
        return "0"
    return f"{v:.2f}"


# ------------------------------------------------------------------------------------- defects
def applicable(col, val, rowinfo):
    """(repairable kinds, unrepairable kinds) applicable to this cell."""
    rep, bad = [], []
    if col in ID_COLS and val:
        bad += ["id_bad_check"]
        rep += ["id_fullwidth_digits", "id_spaces"]
        if val.endswith("X"):
            rep += ["id_lowercase_x", "id_fullwidth_x"]
        else:
            rep += ["id_float_full", "id_sci_full"]
            bad += ["id_float_lossy"]
        if val[6:8] == "19":
            rep += ["id_15digit"]
    elif col == "残疾人证号":
        bad += ["id_bad_check"]
        rep += ["id_spaces", "id_fullwidth_digits"]
        if val[17] == "X":
            rep += ["id_lowercase_x"]
    elif col in DATE_COLS and val:
        rep += ["date_slash", "date_compact", "date_cn", "date_dot", "date_excel_serial"]
        bad += ["date_unparseable"]
    elif col in AMT_COLS and val and float(val) > 0:
        rep += ["amount_yuan_suffix", "amount_spaces"]
        if float(val) >= 1000:
            rep += ["amount_thousands_comma"]
        bad += ["amount_negative"]
    elif col in ENUMS:
        rep += ["enum_spaces"]
        bad += ["enum_unknown"]
        if col == "残疾等级":
            rep += ["grade_n_ji", "grade_n_digit"]
        if col == "城乡属性" and val == "城市":
            rep += ["urban_chengzhen"]
    if col not in OPTIONAL:
        bad += ["mandatory_empty"]
    return rep, bad


def apply_kind(kind, val, rng, col):
    if kind == "id_15digit":
        return val[:6] + val[8:17]
    if kind == "id_lowercase_x":
        return val[:-1] + "x" if col != "残疾人证号" else val[:17] + "x" + val[18:]
    if kind == "id_fullwidth_x":
        return val[:-1] + "Ｘ"
    if kind == "id_fullwidth_digits":
        return val.translate(FW)
    if kind == "id_spaces":
        return rng.choice([f" {val} ", f"{val}  ", f"{val[:6]} {val[6:14]} {val[14:]}", f"  {val}"])
    if kind == "id_float_full":
        return val + ".0"
    if kind == "id_sci_full":
        return f"{val[0]}.{val[1:]}E+17"
    if kind == "id_float_lossy":
        return f"{val[0]}.{val[1:10]}E+17"
    if kind == "id_bad_check":
        body, c = (val[:17], val[17]) if len(val) == 18 else (val[:17], val[17])
        good = Wm.check_char(body)
        wrong = rng.choice([x for x in "0123456789X" if x != good])
        return body + wrong + val[18:]
    if kind.startswith("date_"):
        d = dt.date.fromisoformat(val)
        if kind == "date_slash":
            return f"{d.year}/{d.month}/{d.day}"
        if kind == "date_compact":
            return d.strftime("%Y%m%d")
        if kind == "date_cn":
            return f"{d.year}年{d.month}月{d.day}日"
        if kind == "date_dot":
            return d.strftime("%Y.%m.%d")
        if kind == "date_excel_serial":
            return str((d - EXCEL_EPOCH).days)
        if kind == "date_unparseable":
            return rng.choice([f"{d.year}-02-30", f"{d.year}-13-{d.day:02d}", "不详", f"{d.year}0231", "0000-00-00"])
    if kind == "amount_yuan_suffix":
        v = float(val)
        return (f"{v:.0f}元" if v == int(v) else f"{v:.2f}元")
    if kind == "amount_spaces":
        return f"  {val} "
    if kind == "amount_thousands_comma":
        return f"{float(val):,.2f}"
    if kind == "amount_negative":
        return "-" + val
    if kind == "enum_spaces":
        return rng.choice([f" {val}", f"{val} ", f"  {val}  "])
    if kind == "grade_n_ji":
        return f"{'一二三四'.index(val[0]) + 1}级"
    if kind == "grade_n_digit":
        return str("一二三四".index(val[0]) + 1)
    if kind == "urban_chengzhen":
        return "城镇"
    if kind == "enum_unknown":
        return rng.choice(UNKNOWN[col])
    if kind == "mandatory_empty":
        return ""
    raise ValueError(kind)


class FileSpec:
    def __init__(self, stem, rows, metas):
        self.stem = stem
        self.rows = rows            # list of dict col->clean string
        self.metas = metas          # parallel list of dicts (entity info)


# ------------------------------------------------------------------------------------- emitter
class Emitter:
    def __init__(self, W, out, seed):
        self.W = W
        self.out = out
        self.rng = random.Random(seed * 7 + 1)
        self.landing = os.path.join(out, "landing")
        self.truth = os.path.join(out, "truth")
        self.staged = os.path.join(out, "staged")
        self.defects = []
        self.files = []
        self.deliveries = []
        self.visible = {}           # (source, date, stem) -> list of (meta, loaded: bool)
        self.quarantined_rows = defaultdict(set)

    # ---------------------------------------------------------------- clean rows
    def mz_rows(self, D):
        S = self.W.snap[D]
        H, M = [], []
        for r in S["mz_h"]:
            H.append(({"家庭编号": r["hid"], "户主身份证号": r["head"], "户主姓名": r["head_name"],
                       "行政区划代码": r["code"], "城乡属性": "城市" if r["urban"] else "农村", "保障类别": r["cat"],
                       "保障状态": r["status"], "家庭人口数": str(r["size"]), "月人均收入": amt(r["income"]),
                       "核对日期": d_iso(r["check"]),
                       "月保障金额": ("" if (r["benefit"] == 0 and self.rng.random() < 0.3) else amt(r["benefit"], True)),
                       "认定日期": d_iso(r["grant"])},
                      dict(kind="hh", hid=r["hid"], county=r["county"], status=r["status"], cat=r["cat"],
                           scored=r["status"] == "在册" and r["cat"] not in ("低保", "特困"))))
        for r in S["mz_m"]:
            M.append(({"家庭编号": r["hid"], "身份证号": r["pid"], "姓名": r["name"], "与户主关系": r["rel"],
                       "性别": r["sex"], "出生日期": d_iso(r["birth"]), "劳动能力": r["labor"], "健康状况": r["health"],
                       "在校生": r["student"]}, dict(kind="mem", hid=r["hid"], pid=r["pid"])))
        return H, M

    def cl_rows(self, D):
        out = []
        for c in self.W.snap[D]["cl"]:
            kd, gd = c["kind"], c["grade"]
            if c["mism"]:
                kd = c["mism"][0] or kd
                gd = c["mism"][1] or gd
            out.append(({"残疾人证号": f"{c['pid']}{kd}{gd}", "姓名": c["name"], "残疾类别": KIND_TXT[c["kind"]],
                         "残疾等级": GRADE_TXT[c["grade"]], "发证日期": d_iso(c["issued"]), "证件状态": c["status"],
                         "行政区划代码": c["code"], "享受生活补贴": "是" if c["living"] else "否",
                         "享受护理补贴": "是" if c["nursing"] else "否"},
                        dict(kind="cert", pid=c["pid"], grade=c["grade"], status=c["status"], issued=c["issued"],
                             mism=bool(c["mism"]))))
        return out

    def rs_rows(self, t, first=False):
        regs = [e for e in self.W.reg_events if (e["deliv"] <= t if first else e["deliv"] == t)]
        regs.sort(key=lambda e: (e["date"], e["pid"], e["type"]))
        R = [({"身份证号": e["pid"], "姓名": e["name"], "登记类型": e["type"], "登记日期": d_iso(e["date"]),
               "单位名称": e["employer"], "行政区划代码": e["code"]},
              dict(kind="reg", pid=e["pid"], type=e["type"], date=e["date"])) for e in regs]
        t2023 = MI[(2023, 1)]
        cons = [c for c in self.W.contribs if c["t"] >= t2023 and (c["deliv"] <= t if first else c["deliv"] == t)]
        cons.sort(key=lambda c: (c["ym"], c["pid"], c["kind"]))
        C = [({"身份证号": c["pid"], "缴费年月": c["ym"], "险种": c["kind"], "缴费基数": f"{c['base']:.2f}",
               "单位名称": c["employer"]}, dict(kind="con", pid=c["pid"], ym=c["ym"], ins=c["kind"]))
             for c in cons]
        return R, C

    # ---------------------------------------------------------------- injection + write
    def inject(self, stem, rows, D, src, protect=lambda m: False, no_bad=lambda m: False, rates=(0.004, 0.0016, 0.001),
               segments=None):
        """rows: list of (clean dict, meta).  Returns list of (raw dict, meta, tags) in output order;
        tags = list of (column, kind, expected)."""
        rng = self.rng
        p_rep, p_bad, p_dup = rates
        out = []
        for clean, meta in rows:
            raw = dict(clean)
            tags = []
            r = rng.random()
            cols = list(HEADERS[stem])
            if r < p_rep + p_bad:
                want_bad = r < p_bad and not no_bad(meta)
                opts = []
                for col in cols:
                    rep, bad = applicable(col, clean[col], meta)
                    for k in (bad if want_bad else rep):
                        opts.append((col, k))
                if opts:
                    # pick kind uniformly, then a column for it
                    kinds = sorted({k for _, k in opts})
                    k = rng.choice(kinds)
                    col = rng.choice([c for c, kk in opts if kk == k])
                    raw[col] = apply_kind(k, clean[col], rng, col)
                    tags.append((col, k, "quarantined" if want_bad else "repaired"))
                    if want_bad and rng.random() < 0.12:     # a second bad cell in the same row
                        o2 = [(c, kk) for c, kk in opts if c != col]
                        if o2:
                            c2, k2 = rng.choice(o2)
                            raw[c2] = apply_kind(k2, clean[c2], rng, c2)
                            tags.append((c2, k2, "quarantined"))
                    elif not want_bad and rng.random() < 0.08:  # a second repair in the same row
                        o2 = []
                        for c in cols:
                            if c != col:
                                o2 += [(c, kk) for kk in applicable(c, clean[c], meta)[0]]
                        if o2:
                            c2, k2 = rng.choice(o2)
                            raw[c2] = apply_kind(k2, clean[c2], rng, c2)
                            tags.append((c2, k2, "repaired"))
            out.append([raw, meta, tags, False])
        # exact duplicates: a copy of a clean row placed shortly after it (same segment)
        res = []
        pend = []
        for i, item in enumerate(out):
            res.append(item)
            if not item[2] and rng.random() < p_dup:
                cp = [dict(item[0]), item[1], [("", "duplicate_row", "duplicate")], True]
                seg = segments(item[1]) if segments else 0
                pend.append((rng.randint(0, 4), cp, seg))
            keep = []
            for left, cp, seg in pend:
                nxt_seg = segments(out[i + 1][1]) if (segments and i + 1 < len(out)) else seg
                if left == 0 or i + 1 == len(out) or nxt_seg != seg:
                    res.append(cp)
                else:
                    keep.append((left - 1, cp, seg))
            pend = keep
        for left, cp, seg in pend:
            res.append(cp)
        return res

    def write_file(self, path, stem, items, fmt="csv", enc="utf-8", extra=False, reorder=False, trailing=0,
                   quote_all=False, crlf=False, xlsx_blank=False, hdr=None, extra_cols=()):
        """Writes the file; returns (data_rows, header list, line numbers per item, file-level kinds, blank line)."""
        rng = self.rng
        fl = []
        if reorder:
            fl.append("reordered_columns")
        if extra:
            fl.append("extra_columns")

        def extra_val(c, raw):
            # deterministic from the row's content, so an exact duplicate stays exact
            rng = random.Random(zlib.crc32(("|".join(raw[k] for k in HEADERS[stem]) + c).encode("utf-8")))
            if c == "备注":
                return rng.choice(["", "", "", "复核", "入户核查", "系统导入"])
            if c == "经办人":
                return rng.choice(["", "张敏", "李娜", "王强"])
            if c == "数据更新时间":
                return "2024-" + rng.choice(["03", "06", "09", "11"]) + "-15 10:20:00"
            return rng.choice(["", "省平台", "市平台"])

        lines = []
        for i, it in enumerate(items):
            lines.append(i + 2)
        if fmt == "xlsx":
            import openpyxl
            wb = openpyxl.Workbook()
            ws = wb.active
            ws.title = stem
            ws.append(hdr)
            for raw, meta, tags, dup in items:
                tagged = {c: k for c, k, e in tags}
                vals = []
                for c in hdr:
                    if c in extra_cols:
                        vals.append(extra_val(c, raw))
                        continue
                    v = raw[c]
                    if c in tagged or v == "":
                        if tagged.get(c) == "date_excel_serial":     # Excel serial stored as a number
                            vals.append(int(v))
                        else:
                            vals.append(v)
                    elif c in DATE_COLS:
                        vals.append(dt.datetime.fromisoformat(v))
                    elif c in AMT_COLS:
                        vals.append(float(v))
                    elif c in ("家庭人口数", "缴费年月"):
                        vals.append(int(v))
                    else:
                        vals.append(v)
                ws.append(vals)
            if xlsx_blank:
                ws.append([""] * len(hdr))
                fl.append("xlsx_trailing_empty_row")
            fl.append("xlsx")
            wb.save(path)
            return len(items), hdr, lines, fl, (len(items) + 2 if xlsx_blank else None)
        buf = io.StringIO()
        wr = csv.writer(buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
                        lineterminator="\r\n" if crlf else "\n")
        wr.writerow(hdr)
        for raw, meta, tags, dup in items:
            wr.writerow([extra_val(c, raw) if c in extra_cols else raw[c] for c in hdr])
        text = buf.getvalue()
        blank_line = None
        if trailing:
            text += ("\r\n" if crlf else "\n") * trailing
            blank_line = len(items) + 2
            fl.append("trailing_empty_line")
        if quote_all:
            fl.append("quoted_fields")
        if enc == "utf-8-sig":
            fl.append("utf8_bom")
        elif enc == "gb18030":
            fl.append("gb18030")
        if not items:
            fl.append("empty_file")
        with open(path, "wb") as fh:
            fh.write(text.encode(enc))
        return len(items), hdr, lines, fl, blank_line

    def file_style(self, src, D, stem):
        rng = self.rng
        st = dict(fmt="csv", enc=rng.choices(["utf-8", "utf-8-sig", "gb18030"], weights=(62, 20, 18))[0],
                  extra=rng.random() < 0.10, reorder=rng.random() < 0.08, trailing=rng.choice((1, 2)) if rng.random() < 0.12 else 0,
                  quote_all=rng.random() < 0.15, crlf=rng.random() < 0.3, xlsx_blank=False)
        forced = FORCED_STYLE.get((src, D.isoformat(), stem))
        if forced:
            st.update(forced)
        hdr = list(HEADERS[stem])
        if st["reorder"]:
            while hdr == HEADERS[stem]:
                rng.shuffle(hdr)
        extra_cols = []
        if st["extra"]:
            extra_cols = rng.sample(EXTRA_COLS, rng.choice((1, 2)))
            for c in extra_cols:
                hdr.insert(rng.randint(0, len(hdr)), c)
        st["hdr"], st["extra_cols"] = hdr, extra_cols
        return st

    def emit_delivery(self, src, D, specs, ready="auto", folder_date=None, record=True, expected="loaded",
                      root=None, note=""):
        """specs: list of (stem, items).  Writes one delivery folder; returns dict stem->data_rows."""
        root = root or self.landing
        fdate = folder_date or D
        folder = os.path.join(root, src, fdate.isoformat())
        os.makedirs(folder, exist_ok=True)
        counts = {}
        fnames = {}
        for stem, items, style in specs:
            ext = "xlsx" if style["fmt"] == "xlsx" else "csv"
            fname = f"{stem}.{ext}"
            n, hdr, lines, fl, blank = self.write_file(os.path.join(folder, fname), stem, items, **style)
            counts[fname] = n
            fnames[stem] = fname
            if record:
                self.files.append(dict(source=src, extract_date=fdate.isoformat(), file_name=fname, data_rows=n,
                                       expected=expected, format=ext, encoding=style["enc"] if ext == "csv" else "",
                                       header="|".join(hdr)))
                if expected == "loaded":
                    for k in fl:
                        ln = blank if k in ("trailing_empty_line", "xlsx_trailing_empty_row") and blank else 1
                        self.defects.append(dict(source=src, extract_date=fdate.isoformat(), file_name=fname,
                                                 line_number=ln, column_name="", kind=k, expected="repaired",
                                                 raw_value="", detail="file-level"))
                    vis = []
                    for (raw, meta, tags, dup), ln in zip(items, lines):
                        bad = dup or any(e == "quarantined" for c, k, e in tags)
                        vis.append((meta, not bad))
                        for c, k, e in tags:
                            self.defects.append(dict(source=src, extract_date=fdate.isoformat(), file_name=fname,
                                                     line_number=ln, column_name=c, kind=k, expected=e,
                                                     raw_value=raw.get(c, "") if c else "", detail=""))
                        for ck, cd in meta.get("flags", []):
                            self.defects.append(dict(source=src, extract_date=fdate.isoformat(), file_name=fname,
                                                     line_number=ln, column_name=cd[0], kind=ck, expected="flagged",
                                                     raw_value="", detail=cd[1]))
                    self.visible[(src, fdate, stem)] = vis
        if ready == "auto":
            ready = "json" if self.rng.random() < 0.55 else "empty"
        if ready == "json":
            with open(os.path.join(folder, "_READY"), "w", encoding="utf-8") as fh:
                json.dump({"files": counts}, fh, ensure_ascii=False)
        elif ready == "empty":
            open(os.path.join(folder, "_READY"), "w").close()
        elif isinstance(ready, dict):
            with open(os.path.join(folder, "_READY"), "w", encoding="utf-8") as fh:
                json.dump({"files": ready}, fh, ensure_ascii=False)
        if record:
            self.deliveries.append(dict(source=src, extract_date=fdate.isoformat(), expected=expected, note=note))
        return counts, fnames

    # ---------------------------------------------------------------- the whole landing
    def run(self):
        W, rng = self.W, self.rng
        for d in (self.landing, self.truth, self.staged):
            if os.path.exists(d):
                shutil.rmtree(d)
            os.makedirs(d)
        dates = [month_end(t) for t in DELIV_T]
        last = dates[-1]
        # February's registrations file is empty (header only): what would have come then arrives
        # in January (already recorded by the extract) or March (one delivery late)
        tf = MI[(EMPTY_REG_DATE.year, EMPTY_REG_DATE.month)]
        for ev in W.reg_events:
            if ev["deliv"] == tf:
                ev["deliv"] = tf - 1 if ev["date"] <= dt.date(2024, 1, 31) else tf + 1
        seen_ids = set()          # IDs delivered by mz/cl so far (for rs_unknown_id flags)
        self.mz_final = None
        # planted cross-source conflicts (persistent)
        two_hh = self.plant_two_households()
        for i, (t, D) in enumerate(zip(DELIV_T, dates)):
            # ---------------- mz
            H, M = self.mz_rows(D)
            H, M = self.mz_conflicts(D, H, M, two_hh)
            final = D == AS_OF
            if final:
                self.mz_clean_final = (list(H), list(M))
            seg = None
            if D == CORRECTION_DATE:
                H.sort(key=lambda x: x[1]["county"] == CORRECTION_COUNTY)
                M.sort(key=lambda x: x[1]["hid"][2:8] == CORRECTION_COUNTY)
                seg = lambda m: m["hid"][2:8] == CORRECTION_COUNTY
            Hi = self.inject("households", H, D, "mz", no_bad=(lambda m: m["scored"]) if final else (lambda m: False),
                             segments=seg)
            q_hids = {m["hid"] for raw, m, tags, dup in Hi if not dup and any(e == "quarantined" for _, _, e in tags)}
            # one household row never delivered (members become orphans) in a few snapshots
            if D in MISSING_HH_DATES:
                cand = [it for it in Hi if not it[2] and not it[3] and not it[1]["scored"] and it[1]["status"] == "在册"]
                gone = rng.choice(cand)
                Hi.remove(gone)
                q_hids.add(gone[1]["hid"])
            for raw, m, tags, dup in Hi:
                m.setdefault("flags", [])
            Mi = self.inject("members", M, D, "mz", no_bad=lambda m: m["hid"] in q_hids, segments=seg)
            for raw, m, tags, dup in Mi:
                if m["hid"] in q_hids and not dup:
                    m.setdefault("flags", []).append(("orphan_member", ("家庭编号", "household row quarantined or missing")))
            # 家庭人口数 vs member rows
            cnt = Counter(m["hid"] for raw, m, tags, dup in Mi if not dup)
            for raw, m, tags, dup in Hi:
                if dup:
                    continue
                if m["hid"] in cnt and str(cnt[m["hid"]]) != H_SIZE[m["hid"], D]:
                    m.setdefault("flags", []).append(("household_size_mismatch",
                                                      ("家庭人口数", f"{H_SIZE[m['hid'], D]} vs {cnt[m['hid']]} member rows")))
            st_h, st_m = self.file_style("mz", D, "households"), self.file_style("mz", D, "members")
            if D == last:        # still being written: no _READY, members cut mid-row
                self.emit_delivery("mz", D, [("households", Hi, st_h)], ready=None, expected="skipped_incomplete",
                                   note="no _READY: still being written (members.csv cut mid-row)")
                self.write_partial_members(D, Mi)
            else:
                # build _READY counts etc.
                counts, fn = self.emit_delivery("mz", D, [("households", Hi, st_h), ("members", Mi, st_m)],
                                                ready="json" if D == CORRECTION_DATE else "auto",
                                                note="correction: final content; first version in staged/" if D == CORRECTION_DATE else "")
                if D == CORRECTION_DATE:
                    self.write_staged_original(D, Hi, Mi, st_h, st_m)
            if D == AS_OF:
                self.mz_final = (Hi, Mi)
            for raw, m, tags, dup in Hi + Mi:
                if m["kind"] == "mem":
                    seen_ids.add(m["pid"])
            for r in H:
                seen_ids.add(r[0]["户主身份证号"])
            # ---------------- cl
            C = self.cl_rows(D)
            for clean, m in C:
                if m["mism"]:
                    m["flags"] = [("cert_digit_mismatch", ("残疾人证号", "digits 19-20 disagree with 残疾类别/残疾等级"))]
            st_c = self.file_style("cl", D, "disability")
            if D == REJECT_DATE:
                items = [[dict(c), m, [], False] for c, m in C]
                keep = len(items) - 143
                self.emit_delivery("cl", D, [("disability", items[:keep], st_c)],
                                   ready={"disability.csv": len(items)}, expected="rejected",
                                   note="_READY count 143 rows more than the file holds (truncated transfer)")
            else:
                Ci = self.inject("disability", C, D, "cl")
                self.emit_delivery("cl", D, [("disability", Ci, st_c)])
                if D == AS_OF:
                    self.cl_final = Ci
            for c, m in C:
                seen_ids.add(m["pid"])
            # ---------------- rs
            R, Co = self.rs_rows(t, first=(i == 0))
            for clean, m in R:
                if m["pid"] not in seen_ids:
                    m["flags"] = [("rs_unknown_id", ("身份证号", "ID never seen in mz or cl"))]
            Ri = self.inject("registrations", R, D, "rs")
            Coi = self.inject("contributions", Co, D, "rs", rates=(0.003, 0.0008, 0.0006))
            self.emit_delivery("rs", D, [("registrations", Ri, self.file_style("rs", D, "registrations")),
                                         ("contributions", Coi, self.file_style("rs", D, "contributions"))])
        # ---------------- replays (same bytes, new date folder)
        for src, orig, new in REPLAYS:
            a = os.path.join(self.landing, src, orig.isoformat())
            b = os.path.join(self.landing, src, new.isoformat())
            shutil.copytree(a, b)
            self.deliveries.append(dict(source=src, extract_date=new.isoformat(), expected="replay",
                                        note=f"byte-identical replay of {src}/{orig.isoformat()}"))
            for f in sorted(os.listdir(b)):
                if f != "_READY":
                    n = next(x["data_rows"] for x in self.files if x["source"] == src
                             and x["extract_date"] == orig.isoformat() and x["file_name"] == f)
                    self.files.append(dict(source=src, extract_date=new.isoformat(), file_name=f, data_rows=n,
                                           expected="replay", format=f.rsplit(".", 1)[1], encoding="", header=""))
        self.deliveries.sort(key=lambda d: (d["extract_date"], d["source"]))

    def write_partial_members(self, D, Mi):
        folder = os.path.join(self.landing, "mz", D.isoformat())
        buf = io.StringIO()
        wr = csv.writer(buf, lineterminator="\n")
        wr.writerow(HEADERS["members"])
        for raw, m, tags, dup in Mi[: len(Mi) * 2 // 3]:
            wr.writerow([raw[c] for c in HEADERS["members"]])
        text = buf.getvalue()
        text = text[: len(text) - 37]            # cut in the middle of a row
        with open(os.path.join(folder, "members.csv"), "wb") as fh:
            fh.write(text.encode("utf-8"))
        self.files.append(dict(source="mz", extract_date=D.isoformat(), file_name="members.csv",
                               data_rows=text.count("\n"), expected="skipped_incomplete", format="csv",
                               encoding="utf-8", header="|".join(HEADERS["members"])))

    def write_staged_original(self, D, Hi, Mi, st_h, st_m):
        """The first version of the corrected delivery: 冠县 rows missing (they are the tail of each file)."""
        Ho = [it for it in Hi if it[1]["county"] != CORRECTION_COUNTY]
        Mo = [it for it in Mi if it[1]["hid"][2:8] != CORRECTION_COUNTY]
        assert Hi[:len(Ho)] == Ho and Mi[:len(Mo)] == Mo
        counts, fn = self.emit_delivery("mz", D, [("households", Ho, st_h), ("members", Mo, st_m)], ready="json",
                                        record=False, root=self.staged)
        with open(os.path.join(self.truth, "staged.csv"), "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["source", "extract_date", "file_name", "data_rows", "expected", "note"])
            for f, n in counts.items():
                w.writerow(["mz", D.isoformat(), f, n, "superseded",
                            f"first version without {Wm.COUNTIES[CORRECTION_COUNTY]} ({CORRECTION_COUNTY}) rows; "
                            "a prefix of the corrected file"])

    # ---------------------------------------------------------------- planted conflicts
    def plant_two_households(self):
        """Persons listed in two households (a married daughter still in her parents' register)."""
        rng = self.rng
        D0 = month_end(DELIV_T[0])
        S = self.W.snap[D0]
        hids = [r["hid"] for r in S["mz_h"] if r["status"] == "在册"]
        mem = defaultdict(list)
        for r in S["mz_m"]:
            mem[r["hid"]].append(r)
        out = []
        for _ in range(5):
            a, b = rng.sample(hids, 2)
            p = rng.choice(mem[a])
            out.append((p["pid"], b, rng.choice(DELIV_T[2:8]), rng.choice(DELIV_T[8:] + [99])))
        # a grade-1/2 adult certificate holder in a 退出 household and also in an 在册 one (covered)
        return out

    def mz_conflicts(self, D, H, M, two_hh):
        t = DELIV_T[[month_end(x) for x in DELIV_T].index(D)]
        byhid = {m["hid"] for c, m in H}
        for pid, hid_b, t0, t1 in two_hh:
            if t0 <= t < t1 and hid_b in byhid:
                src = next((x for x in M if x[1]["pid"] == pid), None)
                if src is None:
                    continue
                clean = dict(src[0])
                clean["家庭编号"] = hid_b
                clean["与户主关系"] = "其他"
                M.append((clean, dict(kind="mem", hid=hid_b, pid=pid)))
        cnt = Counter(m["pid"] for c, m in M)
        for c, m in M:
            if cnt[m["pid"]] > 1:
                m["flags"] = [("member_in_two_households", ("身份证号", "ID listed in more than one household"))]
        M.sort(key=lambda x: x[1]["hid"])
        for c, m in H:
            H_SIZE[m["hid"], D] = c["家庭人口数"]
        return H, M


H_SIZE = {}
CORRECTION_DATE = dt.date(2024, 9, 30)
CORRECTION_COUNTY = "371525"
REJECT_DATE = dt.date(2024, 9, 30)
EMPTY_REG_DATE = dt.date(2024, 2, 29)
MISSING_HH_DATES = {dt.date(2024, 4, 30), dt.date(2024, 8, 31), dt.date(2024, 11, 30)}
REPLAYS = [("rs", dt.date(2024, 5, 31), dt.date(2024, 6, 3)), ("cl", dt.date(2024, 7, 31), dt.date(2024, 8, 2))]
FORCED_STYLE = {
    ("cl", "2024-04-30", "disability"): dict(fmt="xlsx"),
    ("mz", "2024-07-31", "members"): dict(fmt="xlsx", xlsx_blank=True),
    ("rs", "2024-09-30", "contributions"): dict(fmt="xlsx"),
    ("mz", "2024-06-30", "households"): dict(enc="gb18030", crlf=True, trailing=1),
    ("mz", "2024-11-30", "households"): dict(enc="utf-8-sig", extra=True),
    ("mz", "2024-11-30", "members"): dict(enc="gb18030", reorder=True),
    ("rs", "2024-02-29", "registrations"): dict(enc="utf-8", fmt="csv"),
    ("mz", "2024-09-30", "households"): dict(extra=False, reorder=False, trailing=0),
    ("mz", "2024-09-30", "members"): dict(extra=False, reorder=False, trailing=0, fmt="csv"),
}


# ===================================================================================== truth
def qualifies(pid, birth, certs, memberships, hh_status, regs, contribs):
    """The outputs.md 单人保 rule, literally, on one view of the data.  Returns (ok, reason)."""
    if not any(c["status"] == "有效" for c in certs):
        return False, "no_valid_certificate"
    if not any(c["status"] == "有效" and c["grade"] in (1, 2) for c in certs):
        return False, "grade_3_or_4"
    if age_at(birth, AS_OF) < 18:
        return False, "under_18"
    ev = sorted((e["date"], 0 if e["type"] == "就业登记" else 1) for e in regs
                if e["date"] <= AS_OF and e["type"] in ("就业登记", "就业登记注销"))
    open_ = False
    for d, k in ev:
        open_ = (k == 0)
    if open_:
        return False, "open_employment_registration"
    months = {"202409", "202410", "202411"}
    if any(c["ins"] == "企业职工基本养老保险" and c["ym"] in months for c in contribs):
        return False, "enterprise_pension_contribution"
    if any(hh_status.get(h) == "在册" for h in memberships):
        return False, "member_of_active_household"
    return True, "qualifies"


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)


def write_truth(E):
    W = E.W
    T = E.truth
    S = W.snap[AS_OF]
    # ---------------- households / baseline
    hrows, brows = [], []
    for r in S["mz_h"]:
        h = W.hh[r["hid"]]
        urban = h["urban"]
        s = dibao_std(AS_OF, urban)
        scored = r["status"] == "在册" and r["cat"] not in ("低保", "特困")
        pcs = []
        for t in LABEL_T:
            inc = h["income"].get(t)
            pcs.append(None if (inc is None or not h["members"]) else inc[1])
        lab = int(any(pc is not None and pc < dibao_std(month_end(t), urban) for pc, t in zip(pcs, LABEL_T)))
        head_region = r["head"][:6]
        nonlocal_ = int(not (head_region.startswith("3715") or head_region.startswith("3725"))
                        or not r["code"].startswith("3715"))
        ev = [e for (t, e) in W.log[r["hid"]] if MI[(2024, 6)] <= t <= LABEL_T[-1]]
        hrows.append(dict(household_id=r["hid"], as_of_date=AS_OF.isoformat(), scored=int(scored),
                          fell_below_within_3m=lab, true_pc_income_asof=f"{h['income'][AS_OF_T][1]:.2f}",
                          urban_rural="城市" if urban else "农村", **{"nonlocal": nonlocal_}, category=r["cat"],
                          status=r["status"], county_code=r["county"], true_size_asof=len(h["members"]),
                          standard=f"{s:.0f}",
                          true_pc_2024_12="" if pcs[0] is None else f"{pcs[0]:.2f}",
                          true_pc_2025_01="" if pcs[1] is None else f"{pcs[1]:.2f}",
                          true_pc_2025_02="" if pcs[2] is None else f"{pcs[2]:.2f}",
                          last_check_date=d_iso(r["check"]), events_2024_06_to_2025_02=";".join(
                              f"{MONTHS[t][0]}-{MONTHS[t][1]:02d}:{e}" for t, e in
                              [(t, e) for (t, e) in W.log[r["hid"]] if MI[(2024, 6)] <= t <= LABEL_T[-1]])))
        brows.append(dict(household_id=r["hid"], stale_pc_income=amt(r["income"]),
                          urban_rural="城市" if urban else "农村", check_date=d_iso(r["check"]),
                          as_of_date=AS_OF.isoformat(), household_size_recorded=r["size"]))
    write_csv(os.path.join(T, "households.csv"), list(hrows[0].keys()), hrows)
    write_csv(os.path.join(T, "baseline_inputs.csv"), list(brows[0].keys()), brows)

    # ---------------- discovery candidates (two views: the world as recorded vs what loads)
    Hc, Mc = E.mz_clean_final
    world_status = {m["hid"]: m["status"] for c, m in Hc}
    world_mem = defaultdict(set)
    for c, m in Mc:
        world_mem[m["pid"]].add(m["hid"])
    vis_h = E.visible[("mz", AS_OF, "households")]
    vis_m = E.visible[("mz", AS_OF, "members")]
    vis_status = {m["hid"]: m["status"] for m, ok in vis_h if ok}
    vis_mem = defaultdict(set)
    for m, ok in vis_m:
        if ok:
            vis_mem[m["pid"]].add(m["hid"])
    world_cert = defaultdict(list)
    for c in S["cl"]:
        world_cert[c["pid"]].append(dict(status=c["status"], grade=c["grade"]))
    vis_cert = defaultdict(list)
    for m, ok in E.visible[("cl", AS_OF, "disability")]:
        if ok:
            vis_cert[m["pid"]].append(dict(status=m["status"], grade=m["grade"]))
    world_regs, world_con = defaultdict(list), defaultdict(list)
    for e in W.reg_events:
        world_regs[e["pid"]].append(e)
    for c in W.contribs:
        if c["ym"] in ("202409", "202410", "202411"):
            world_con[c["pid"]].append(dict(ins=c["kind"], ym=c["ym"]))
    vis_regs, vis_con = defaultdict(list), defaultdict(list)
    for (src, D, stem), vis in E.visible.items():
        if src != "rs" or D > AS_OF:
            continue
        for m, ok in vis:
            if not ok:
                continue
            if stem == "registrations":
                vis_regs[m["pid"]].append(dict(type=m["type"], date=m["date"]))
            else:
                vis_con[m["pid"]].append(dict(ins=m["ins"], ym=m["ym"]))
    later = {c["pid"] for c in W.snap[month_end(DELIV_T[-1])]["cl"]}
    exited_members = {m["pid"] for c, m in Mc if world_status.get(m["hid"]) == "退出"}
    cand = []
    for pid in sorted(set(world_cert) | set(vis_cert) | later):
        p = W.persons[pid]
        ok_w, why_w = qualifies(pid, p["birth"], world_cert.get(pid, []), world_mem.get(pid, set()), world_status,
                                world_regs.get(pid, []), world_con.get(pid, []))
        ok_v, why_v = qualifies(pid, p["birth"], vis_cert.get(pid, []), vis_mem.get(pid, set()), vis_status,
                                vis_regs.get(pid, []), vis_con.get(pid, []))
        if ok_w and ok_v:
            label, reason = 1, "qualifies"
        elif not ok_w and not ok_v:
            label, reason = 0, why_w
        else:
            label, reason = -1, f"ambiguous: recorded world says {why_w}, loadable data says {why_v}"
        planted = getattr(W, "planted", {}).get(pid)
        if not planted:
            types = {e["type"] for e in world_regs.get(pid, []) if e["date"] <= AS_OF}
            if pid in exited_members:
                planted = "exited_household"
            elif pid in world_mem:
                planted = "monitored_member"
            elif "失业登记" in types:
                planted = "unemployment_registration"
            elif "就业登记注销" in types:
                planted = "closed_employment"
            elif p["resident_tier"]:
                planted = "resident_pension"
            elif pid not in world_cert:
                planted = "certificate_after_asof"
            else:
                planted = "no_rs_record"
        cand.append(dict(person_id=pid, name=p["name"], label=label, reason=reason, planted=planted,
                         masked_id=pid[:6] + "********" + pid[-4:], birth_date=p["birth"].isoformat(),
                         grade=";".join(str(c["grade"]) + c["status"] for c in world_cert.get(pid, [])),
                         **{"nonlocal": int(not (pid.startswith("3715") or pid.startswith("3725")))}))
    write_csv(os.path.join(T, "candidates.csv"), list(cand[0].keys()), cand)
    # ---------------- ingestion truth
    write_csv(os.path.join(T, "deliveries.csv"), ["source", "extract_date", "expected", "note"], E.deliveries)
    write_csv(os.path.join(T, "files.csv"), ["source", "extract_date", "file_name", "data_rows", "expected",
                                             "format", "encoding", "header"], E.files)
    E.defects.sort(key=lambda d: (d["extract_date"], d["source"], d["file_name"], int(d["line_number"])))
    write_csv(os.path.join(T, "defects.csv"), ["source", "extract_date", "file_name", "line_number", "column_name",
                                               "kind", "expected", "raw_value", "detail"], E.defects)
    return hrows, cand


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20241130)
    a = ap.parse_args(argv)
    t0 = time.process_time()
    W = Wm.World(seed=a.seed).run()
    E = Emitter(W, a.out, a.seed)
    E.run()
    hrows, cand = write_truth(E)
    sc = [r for r in hrows if r["scored"] == 1]
    print(f"world C written to {a.out}: {len(hrows)} households in the {AS_OF} snapshot, {len(sc)} scored, "
          f"{sum(r['fell_below_within_3m'] for r in sc)} positives; "
          f"{sum(1 for c in cand if c['label'] == 1)} 单人保 candidates; {len(E.defects)} defect records; "
          f"cpu {time.process_time() - t0:.1f}s")


if __name__ == "__main__":
    main()
