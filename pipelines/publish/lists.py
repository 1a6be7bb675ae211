"""Risk lists for caseworkers: one workbook per 乡镇/街道 per scoring date.

`write_lists(warehouse, out)` writes, for the latest scoring date of
`mart.risk_list` (or `as_of`), `<out>/<as_of_date>/<county_code>/<township_code>.xlsx`
and its CSV twin (the first sheet, UTF-8 with BOM). The workbook has three sheets:

1. 风险名单 — one row per household at 高/中, ranked by score, with the action and
   deadline of `parameters/outputs/check_rules.yaml`, each row marked 新增 / 升级 /
   持续 against the previous exported list, and empty 核查结果 / 核查日期 / 备注
   columns the caseworker fills in and returns (pipelines.ingest.feedback);
2. 主动发现 — the township's discovery candidates (mart.discovery_candidates);
3. 退出名单 — households the previous list showed and this one does not, and why.

A household is held off the list while a 不符合条件 finding about an earlier list
is recent (the rules file's `ineligible_quiet_days`), unless its level rose
above the level it was checked at or a change event of it or its members was
seen after the check. Writing a date's list again keeps the day it was first
issued, so its deadlines stay.

A list never holds another township's people: every row of a township's file
comes from rows of that township_code only. Caseworkers see the name and a
masked 身份证号 (first 6 + last 4), never the number itself.

What each list showed is kept (mart.listed_households, mart.listed_candidates,
mart.list_departures) so the next list can be compared with it and feedback can
be matched to it; every file written is recorded in audit.list_exports.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections import defaultdict
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from pipelines.publish.deadlines import RULES_FILE, CheckRules, load_rules
from pipelines.load.corrections import corrected_since_export
from pipelines.ingest.feedback import CHECK_DATE, HOUSEHOLD_ID, NOTE, RESULT, RESULTS, current_user
from pipelines.publish.list_corrections import alert_townships, changed_townships
from pipelines.publish.sheets import DATE, INT, MONEY, SCORE, Column, Sheet, write_csv, write_workbook
from pipelines.warehouse import insert_rows, rollback, warehouse as open_warehouse

log = logging.getLogger(__name__)

LIST_LEVELS = ("高", "中")
LEVEL_RANK = {"低": 0, "中": 1, "高": 2}
NEW, UP, SAME = "新增", "升级", "持续"
INELIGIBLE = "不符合条件"
_COUNTY = re.compile(r"[0-9]{6}")
_TOWNSHIP = re.compile(r"[0-9]{9}")

HOUSEHOLD_SHEET = "风险名单"
CANDIDATE_SHEET = "主动发现"
DEPARTURE_SHEET = "退出名单"

HOUSEHOLD_COLUMNS = (
    Column("变化"), Column(HOUSEHOLD_ID), Column("户主姓名"), Column("户主身份证号（脱敏）"),
    Column("村（社区）代码"), Column("保障类别"), Column("家庭人口数", INT), Column("月人均收入（元）", MONEY),
    Column("低保标准（元）", MONEY), Column("核对日期", DATE), Column("风险评分", SCORE), Column("风险等级"),
    Column("风险原因", wrap=True), Column("建议措施", wrap=True), Column("核查时限"), Column("核查期限", DATE),
    Column(RESULT), Column(CHECK_DATE, DATE), Column(NOTE, wrap=True),
)
CANDIDATE_COLUMNS = (
    Column("变化"), Column("规则"), Column("姓名"), Column("身份证号（脱敏）"), Column("村（社区）代码"),
    Column("依据", wrap=True), Column("建议措施", wrap=True), Column("核查时限"), Column("核查期限", DATE),
)
DEPARTURE_COLUMNS = (
    Column(HOUSEHOLD_ID), Column("户主姓名"), Column("户主身份证号（脱敏）"), Column("村（社区）代码"),
    Column("上期名单日期", DATE), Column("上期风险等级"), Column("退出原因"), Column("说明", wrap=True),
)


class ListError(Exception):
    """The lists cannot be written; the message is one line."""


class NoScores(ListError):
    """mart.risk_list has no scores at all yet (the scoring step has not run or skipped)."""


def write_lists(warehouse: Path, out: Path, as_of: date | None = None, *, actor: str | None = None,
                issued_on: date | None = None, new_only: bool = False, rules_file: Path = RULES_FILE) -> dict:
    """Write every township's risk list for `as_of` (default: the latest scores); return a summary.

    `issued_on` is the day deadlines count from: by default the day the list of
    this date was first issued (so writing it again keeps its deadlines), else
    today. `actor` is who is recorded as exporting (default the OS user).
    `new_only` (for the nightly run, which sees the same scoring date every
    night until the next mz delivery) leaves a list already written to `out`
    as it is. Without any scores yet (the scoring step skipped) and no `as_of`
    asked for, nothing is written and the summary says why; a date without
    scores is a ListError.
    """
    folder = Path(out).resolve()
    with open_warehouse(Path(warehouse)) as con:
        try:
            as_of = _scoring_date(con, as_of)
        except NoScores as exc:
            log.warning("risk lists not written: %s", exc)
            return {"status": "skipped", "reason": str(exc), "files": 0}
        corrected: set[str] | None = None  # a re-issue after a same-date correction (更正)
        if new_only and _already_written(con, as_of, folder / as_of.isoformat()):
            corrected = corrected_since_export(con, as_of)
            if not corrected:
                log.info("risk lists for %s already written under %s", as_of, folder)
                return {"status": "already_written", "as_of_date": as_of.isoformat(), "files": 0}
        issued_on = issued_on or _first_issued(con, as_of) or date.today()
        rules = load_rules(issued_on, rules_file)
        previous = _previous_list(con, as_of)
        households, held_back = _household_rows(con, as_of, previous, rules, issued_on)
        candidates = _candidate_rows(con, as_of, previous, rules, issued_on)
        listed = {(h["household_id"], h["township_code"]) for h in households}
        departures = _departure_rows(con, as_of, previous, listed, held_back)
        export_id = f"list-{as_of.isoformat()}-{uuid.uuid4().hex[:12]}"
        scored = con.execute("SELECT DISTINCT county_code, township_code FROM mart.risk_list WHERE as_of_date = ?",
                             [as_of]).fetchall()
        townships = None
        if corrected is not None:
            townships = changed_townships(con, as_of, corrected, households, candidates)
            if not townships:
                log.info("risk lists for %s: a correction changed no list", as_of)
                return {"status": "already_written", "as_of_date": as_of.isoformat(), "files": 0}
            scored = [k for k in scored if k in townships]
            households, candidates, departures = (
                [r for r in rows if (r["county_code"], r["township_code"]) in townships]
                for rows in (households, candidates, departures))
        files = _write_files(folder / as_of.isoformat(), scored, households, candidates, departures)
        unplaced = _unplaced(households + candidates + departures)
        _record(con, export_id, as_of, previous, issued_on, actor or current_user(), files,
                households, candidates, departures, townships)
        if townships is not None:
            alert_townships(con, as_of, files)
    summary = {
        "status": "written" if townships is None else "corrected",
        "as_of_date": as_of.isoformat(), "issued_on": issued_on.isoformat(),
        "previous_list": previous.isoformat() if previous else None, "export_id": export_id,
        "rules_version": rules.valid_from.isoformat(), "files": len(files),
        "households": len(households), "candidates": len(candidates), "departures": len(departures),
        "held_back_ineligible": len(held_back), "unplaced": unplaced,
        "markers": {m: sum(h["marker"] == m for h in households) for m in (NEW, UP, SAME)},
        "townships": {f["township_code"]: {k: f[k] for k in ("county_code", "xlsx", "csv", "households",
                                                               "candidates", "departures")} for f in files},
    }
    log.info("risk lists for %s: %d files, %d households (%s), %d candidates, %d departures, %d held back",
             as_of, len(files), len(households), summary["markers"], len(candidates), len(departures),
             len(held_back))
    return summary


# --------------------------------------------------------------------- reading


def _scoring_date(con: duckdb.DuckDBPyConnection, as_of: date | None) -> date:
    dates = [d for (d,) in con.execute("SELECT DISTINCT as_of_date FROM mart.risk_list ORDER BY 1").fetchall()
             ] if _exists(con, "mart", "risk_list") else []
    if as_of is None:
        if not dates:
            raise NoScores("mart.risk_list has no scores yet: score the households first")
        return dates[-1]
    if as_of not in dates:
        raise ListError(f"no risk scores for {as_of} in mart.risk_list (latest: {dates[-1] if dates else 'none'})")
    return as_of


def _previous_list(con: duckdb.DuckDBPyConnection, as_of: date) -> date | None:
    found = con.execute("SELECT max(as_of_date) FROM mart.listed_households WHERE as_of_date < ?",
                        [as_of]).fetchall()[0][0]
    if found is None:  # a previous list may have listed nobody, yet had candidates
        found = con.execute("SELECT max(as_of_date) FROM audit.list_exports WHERE as_of_date < ?",
                            [as_of]).fetchall()[0][0]
    return found


def _first_issued(con: duckdb.DuckDBPyConnection, as_of: date) -> date | None:
    return con.execute("SELECT min(issued_on) FROM audit.list_exports WHERE as_of_date = ?", [as_of]).fetchall()[0][0]


def _already_written(con: duckdb.DuckDBPyConnection, as_of: date, folder: Path) -> bool:
    """The latest export of this date went to `folder` and its files are still there."""
    paths = [Path(p) for (p,) in con.execute(
        "SELECT xlsx_path FROM audit.list_exports WHERE export_id = ("
        " SELECT arg_max(export_id, exported_at) FROM audit.list_exports WHERE as_of_date = ?)", [as_of]).fetchall()]
    return bool(paths) and all(p.parent.parent == folder and p.is_file() for p in paths)


def _exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE schema_name = $s AND table_name = $n"
        " UNION ALL SELECT 1 FROM duckdb_views() WHERE schema_name = $s AND view_name = $n",
        {"s": schema, "n": name}).fetchall())


def reason_texts(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Reason code -> plain Chinese, from the scoring step's code table if there is one.

    Looks for a `reason_codes` table or view (mart first) with a code column
    (code / reason_code / reason) and a Chinese text column (text_zh / label_zh /
    zh / description_zh / text); without one, codes are shown as they are.
    """
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE table_name = 'reason_codes'"
        " UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE view_name = 'reason_codes'"
        " ORDER BY schema_name <> 'mart', schema_name").fetchall()
    for schema, table in tables:
        columns = {c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
            [schema, table]).fetchall()}
        code = next((c for c in ("code", "reason_code", "reason") if c in columns), None)
        text = next((c for c in ("text_zh", "label_zh", "zh", "description_zh", "text") if c in columns), None)
        if code and text:
            rows = con.execute(f'SELECT "{code}", "{text}" FROM {schema}.{table}').fetchall()
            return {str(k): str(v) for k, v in rows if k is not None and v}
    return {}


_SCORED = """
    SELECT household_id, county_code, township_code, risk_score, risk_level, reasons
    FROM mart.risk_list
    WHERE as_of_date = $as_of
    QUALIFY row_number() OVER (PARTITION BY household_id ORDER BY risk_score DESC) = 1
"""

# The listed households with what the sheet shows of them, as of the scoring date.
_HOUSEHOLDS = f"""
WITH scored AS ({_SCORED}),
member_counts AS (
    SELECT household_id, count(*) AS members FROM core.members_asof($as_of) GROUP BY household_id
)
SELECT
    s.*,
    h.division_code,
    h.category,
    coalesce(nullif(m.members, 0), h.household_size) AS members,
    h.income_per_capita::DOUBLE AS income_per_capita,
    h.check_date,
    l.dibao_standard::DOUBLE AS dibao_standard,
    i.name AS head_name,
    h.head_masked_id
FROM scored s
LEFT JOIN core.households_asof($as_of) h USING (household_id)
LEFT JOIN member_counts m USING (household_id)
LEFT JOIN core.dibao_lines l
  ON l.urban_rural = h.urban_rural AND l.valid_from <= $as_of AND (l.valid_to IS NULL OR l.valid_to > $as_of)
LEFT JOIN restricted.person_identity i ON i.person_key = h.head_key
WHERE s.risk_level IN ('高', '中')
ORDER BY s.township_code, s.risk_score DESC, s.household_id
"""

# Situations that choose the action (check_rules.yaml lists them). "Recent" =
# first seen after $since; the first mz snapshot is a baseline, not a change.
_SIGNALS = f"""
WITH scored AS ({_SCORED}),
members AS (
    SELECT m.household_id, m.person_key, m.work_ability, m.health, m.valid_from, p.birth_date
    FROM core.members_asof($as_of) m
    JOIN scored s USING (household_id)
    LEFT JOIN core.persons p USING (person_key)
),
recent AS (
    SELECT * FROM core.change_events WHERE seen_date > $since AND seen_date <= $as_of
),
severe AS (
    SELECT DISTINCT person_key FROM core.certificates_asof($as_of) WHERE cert_status = '有效' AND grade_rank <= 2
),
baseline AS (
    SELECT min(extract_date) AS first_snapshot FROM core.snapshots WHERE source = 'mz'
),
signals AS (
    SELECT household_id, 'member_died_or_left' AS signal
    FROM recent WHERE kind = 'member_died_or_left'
    UNION
    SELECT m.household_id, 'serious_illness'
    FROM members m, baseline b
    WHERE m.health = '重病' AND m.valid_from > $since AND m.valid_from > b.first_snapshot
      AND NOT EXISTS (
          SELECT 1 FROM core.member_history before
          WHERE before.household_id = m.household_id AND before.person_key = m.person_key
            AND before.valid_to = m.valid_from AND before.health = '重病')
    UNION
    SELECT m.household_id, 'severe_disability_new'
    FROM recent e JOIN members m USING (person_key) JOIN severe USING (person_key)
    WHERE e.kind IN ('new_disability', 'disability_worsened')
    UNION
    SELECT m.household_id, 'severe_disabled_adult'
    FROM members m JOIN severe USING (person_key)
    WHERE date_sub('year', m.birth_date, $as_of::DATE) >= 18
      AND m.person_key NOT IN (SELECT person_key FROM core.open_registrations($as_of, '就业登记'))
    UNION
    SELECT m.household_id, 'unemployed_member'
    FROM members m
    WHERE m.work_ability = '有劳动能力'
      AND (m.person_key IN (SELECT person_key FROM core.open_registrations($as_of, '失业登记'))
           OR m.person_key IN (SELECT person_key FROM recent WHERE kind = 'job_lost'))
)
SELECT household_id, list(signal ORDER BY signal) AS signals
FROM signals
GROUP BY household_id
"""

# The latest 不符合条件 finding within the quiet period, the level the household
# had on the list it answered, and whether anything changed after the check.
# Only answers to earlier lists count: writing a list again never drops a
# household its own feedback is about (that would orphan the feedback).
_INELIGIBLE = """
WITH findings AS (
    SELECT household_id, check_date, list_as_of_date
    FROM staging.feedback
    WHERE result = '不符合条件' AND check_date > $as_of::DATE - $quiet_days::INTEGER AND list_as_of_date < $as_of
    QUALIFY row_number() OVER (PARTITION BY household_id ORDER BY check_date DESC, loaded_at DESC) = 1
),
events AS (
    SELECT household_id, seen_date FROM core.change_events WHERE household_id IS NOT NULL
    UNION ALL
    SELECT m.household_id, e.seen_date
    FROM core.change_events e
    JOIN core.members_asof($as_of) m ON m.person_key = e.person_key
    WHERE e.household_id IS NULL
)
SELECT
    f.household_id,
    f.check_date,
    l.risk_level AS checked_level,
    EXISTS (SELECT 1 FROM events e
            WHERE e.household_id = f.household_id AND e.seen_date > f.check_date
              AND e.seen_date <= $as_of) AS changed_since
FROM findings f
LEFT JOIN mart.listed_households l ON l.household_id = f.household_id AND l.as_of_date = f.list_as_of_date
"""


def _household_rows(con: duckdb.DuckDBPyConnection, as_of: date, previous: date | None, rules: CheckRules,
                    issued_on: date) -> tuple[list[dict], dict[str, date]]:
    """The rows of every township's first sheet, ranked; and the households held back."""
    rows = con.sql(_HOUSEHOLDS, params={"as_of": as_of}).pl().to_dicts()
    since = date.fromordinal(as_of.toordinal() - rules.recent_days)
    signals = dict(con.sql(_SIGNALS, params={"as_of": as_of, "since": since}).fetchall())
    before = {h: (t, lvl) for h, t, lvl in con.execute(
        "SELECT household_id, township_code, risk_level FROM mart.listed_households WHERE as_of_date = ?",
        [previous]).fetchall()}
    findings = {r[0]: r for r in con.sql(
        _INELIGIBLE, params={"as_of": as_of, "quiet_days": rules.ineligible_quiet_days}).fetchall()}
    texts = reason_texts(con)

    listed, held_back = [], {}
    for row in rows:
        level = row["risk_level"]
        finding = findings.get(row["household_id"])
        if finding:
            _, checked_on, checked_level, changed_since = finding
            rose = checked_level is not None and LEVEL_RANK[level] > LEVEL_RANK[checked_level]
            if not (rose or changed_since):  # found 不符合条件 and nothing new: not listed again yet
                held_back[row["household_id"]] = checked_on
                continue
        was = before.get(row["household_id"])
        if was is None or was[0] != row["township_code"]:
            row["marker"] = NEW  # new to this township's caseworkers
        elif LEVEL_RANK[level] > LEVEL_RANK.get(was[1], 0):
            row["marker"] = UP
        else:
            row["marker"] = SAME
        reasons = list(row["reasons"] or [])
        row["reason_text"] = "；".join(texts.get(r, r) for r in reasons)
        row["step"] = rules.household_step(level, set(signals.get(row["household_id"]) or ()), set(reasons),
                                           issued_on)
        listed.append(row)
    rank: dict[str, int] = defaultdict(int)
    for row in listed:  # already ordered by township, then score
        rank[row["township_code"]] += 1
        row["list_rank"] = rank[row["township_code"]]
    return listed, held_back


def _candidate_rows(con: duckdb.DuckDBPyConnection, as_of: date, previous: date | None, rules: CheckRules,
                    issued_on: date) -> list[dict]:
    rows = con.execute(
        """
        SELECT d.person_key, d.masked_id, d.name, d.county_code, d.township_code, d.rule, d.evidence,
               p.residence_code
        FROM mart.discovery_candidates d
        LEFT JOIN core.persons p USING (person_key)
        WHERE d.as_of_date = ?
        ORDER BY d.township_code, d.rule <> '急难', d.rule, d.priority
        """, [as_of]).fetchall()
    before = set(con.execute("SELECT person_key, rule FROM mart.listed_candidates WHERE as_of_date = ?",
                             [previous]).fetchall())
    keys = ("person_key", "masked_id", "name", "county_code", "township_code", "rule", "evidence", "residence_code")
    found = []
    for values in rows:
        row = dict(zip(keys, values))
        row["marker"] = SAME if (row["person_key"], row["rule"]) in before else NEW
        row["step"] = rules.candidate_step(row["rule"], issued_on)
        found.append(row)
    return found


_DEPARTED = f"""
WITH scored AS ({_SCORED}),
gone AS (
    SELECT * FROM mart.listed_households WHERE as_of_date = $previous
),
rechecks AS (
    -- the latest income check first reported after the previous list
    SELECT household_id, arg_max({{'day': check_date, 'income': income_per_capita, 'standard': dibao_standard,
                                   'below': below_standard}}, check_date) AS c
    FROM core.income_checks
    WHERE first_seen > $previous AND first_seen <= $as_of
    GROUP BY household_id
),
members_gone AS (
    SELECT household_id, count(*) AS n
    FROM core.change_events
    WHERE kind = 'member_died_or_left' AND seen_date > $previous AND seen_date <= $as_of
    GROUP BY household_id
)
SELECT
    g.household_id, g.county_code, g.township_code, g.risk_level AS previous_level,
    i.name AS head_name, was.head_masked_id, was.division_code,
    now.status, now.category, now.township_code AS now_township, now.granted_date,
    s.risk_level AS now_level, s.risk_score AS now_score,
    r.c.day AS recheck_date, r.c.income::DOUBLE AS recheck_income, r.c.standard::DOUBLE AS recheck_standard,
    r.c.below AS recheck_below,
    coalesce(mg.n, 0) AS members_gone
FROM gone g
LEFT JOIN core.households_asof($previous) was USING (household_id)
LEFT JOIN restricted.person_identity i ON i.person_key = was.head_key
LEFT JOIN core.households_asof($as_of) now USING (household_id)
LEFT JOIN scored s USING (household_id)
LEFT JOIN rechecks r USING (household_id)
LEFT JOIN members_gone mg USING (household_id)
ORDER BY g.township_code, g.list_rank
"""


def _departure_rows(con: duckdb.DuckDBPyConnection, as_of: date, previous: date | None,
                    listed: set[tuple[str, str]], held_back: dict[str, date]) -> list[dict]:
    """Entries of the previous list that this list does not show in the same township."""
    if previous is None:
        return []
    rows = [r for r in con.sql(_DEPARTED, params={"as_of": as_of, "previous": previous}).pl().to_dicts()
            if (r["household_id"], r["township_code"]) not in listed]
    for row in rows:
        row["previous_as_of_date"] = previous
        row["reason"], row["detail"] = departure_reason(row, held_back.get(row["household_id"]), as_of)
    return rows


def departure_reason(row: dict, ineligible_on: date | None, as_of: date) -> tuple[str, str]:
    """Why a household left the list: the first that applies, most definite first."""
    if row["status"] is None:
        return "退出名册", f"{as_of} 民政名册不再列出该户（去世、迁出或注销）"
    if row["status"] == "退出":
        return "退出保障", f"保障状态 在册→退出（{row['category']}）"
    if row["category"] in ("低保", "特困"):
        return f"纳入{row['category']}", f"已认定为{row['category']}，认定日期 {row['granted_date']}"
    if row["now_township"] != row["township_code"]:
        return "迁出", f"迁至 {row['now_township']}"
    if ineligible_on is not None:
        return "核查不符合条件", f"{ineligible_on} 核查不符合条件，此后无新变化，暂不重复列入"
    if row["recheck_below"] is False:
        return "收入回升", (f"核对日期 {row['recheck_date']} 月人均收入 {row['recheck_income']:.2f} 元，"
                            f"不低于低保标准 {row['recheck_standard']:.2f} 元")
    if row["members_gone"]:
        return "成员变动", f"{row['members_gone']} 名家庭成员去世或离开，风险下降"
    if row["now_level"] is not None:
        return "风险降低", f"风险评分 {row['now_score']:.3f}（{row['now_level']}）"
    return "不在评分范围", f"{as_of} 未评分（保障类别 {row['category']}）"


# --------------------------------------------------------------------- writing


def _placed(code_county, code_township) -> bool:
    return bool(code_county and code_township and _COUNTY.fullmatch(code_county)
                and _TOWNSHIP.fullmatch(code_township) and code_township.startswith(code_county))


def _write_files(folder: Path, scored: list[tuple[str, str]], households: list[dict], candidates: list[dict],
                 departures: list[dict]) -> list[dict]:
    """One workbook + CSV per township with scored households or anything to show.

    A township whose households are all 低 still gets its (empty) list: no file
    would leave its caseworkers wondering whether the list was lost.
    """
    def nothing() -> dict[str, list[dict]]:
        return {"households": [], "candidates": [], "departures": []}

    by_township = {key: nothing() for key in scored if _placed(*key)}
    for kind, rows in (("households", households), ("candidates", candidates), ("departures", departures)):
        for row in rows:
            key = (row["county_code"], row["township_code"])
            if _placed(*key):  # rows without a valid township go to no list (write_lists logs them)
                by_township.setdefault(key, nothing())[kind].append(row)
    files = []
    for (county, township), rows in sorted(by_township.items()):
        xlsx = folder / county / f"{township}.xlsx"
        main = Sheet(HOUSEHOLD_SHEET, HOUSEHOLD_COLUMNS, [_household_cells(r) for r in rows["households"]],
                     choices={RESULT: RESULTS})
        write_workbook(xlsx, [
            main,
            Sheet(CANDIDATE_SHEET, CANDIDATE_COLUMNS, [_candidate_cells(r) for r in rows["candidates"]]),
            Sheet(DEPARTURE_SHEET, DEPARTURE_COLUMNS, [_departure_cells(r) for r in rows["departures"]]),
        ])
        write_csv(xlsx.with_suffix(".csv"), main)
        files.append({"county_code": county, "township_code": township, "xlsx": str(xlsx.resolve()),
                      "csv": str(xlsx.with_suffix(".csv").resolve()),
                      "sha256": hashlib.sha256(xlsx.read_bytes()).hexdigest(),
                      **{k: len(v) for k, v in rows.items()}})
    return files


def _unplaced(rows: list[dict]) -> int:
    """Rows no list can take (no valid township code): counted and logged, never put in another list."""
    unplaced = [r for r in rows if not _placed(r["county_code"], r["township_code"])]
    if unplaced:
        codes = sorted({(r["county_code"], r["township_code"]) for r in unplaced}, key=str)
        log.warning("%d rows without a valid 6/9-digit county/township code are in no list: %s",
                    len(unplaced), codes[:10])
    return len(unplaced)


def _household_cells(r: dict) -> tuple:
    step = r["step"]
    return (r["marker"], r["household_id"], r["head_name"], r["head_masked_id"], r["division_code"],
            r["category"], r["members"], r["income_per_capita"], r["dibao_standard"], r["check_date"],
            r["risk_score"], r["risk_level"], r["reason_text"], step.action, step.time_limit, step.deadline,
            None, None, None)


def _candidate_cells(r: dict) -> tuple:
    step = r["step"]
    return (r["marker"], r["rule"], r["name"], r["masked_id"], r["residence_code"], r["evidence"],
            step.action, step.time_limit, step.deadline)


def _departure_cells(r: dict) -> tuple:
    return (r["household_id"], r["head_name"], r["head_masked_id"], r["division_code"],
            r["previous_as_of_date"], r["previous_level"], r["reason"], r["detail"])


# --------------------------------------------------------------------- state


def _record(con: duckdb.DuckDBPyConnection, export_id: str, as_of: date, previous: date | None, issued_on: date,
            actor: str, files: list[dict], households: list[dict], candidates: list[dict],
            departures: list[dict], townships: set[tuple[str, str]] | None = None) -> None:
    """Keep what the lists showed (replacing an earlier export of the same date, or of the
    re-issued `townships` only) and who exported them."""
    placed = {(f["county_code"], f["township_code"]) for f in files}
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    households = [r for r in households if (r["county_code"], r["township_code"]) in placed]
    candidates = [r for r in candidates if (r["county_code"], r["township_code"]) in placed]
    departures = [r for r in departures if (r["county_code"], r["township_code"]) in placed]
    con.execute("BEGIN")
    try:
        scope, args = ("", []) if townships is None else (
            " AND list_contains(?::VARCHAR[], township_code)", [[t for _, t in townships]])
        for table in ("mart.listed_households", "mart.listed_candidates", "mart.list_departures"):
            con.execute(f"DELETE FROM {table} WHERE as_of_date = ?{scope}", [as_of, *args])
        insert_rows(con, "INSERT INTO mart.listed_households VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            [as_of, issued_on, r["county_code"], r["township_code"], r["household_id"], r["list_rank"],
             r["risk_score"], r["risk_level"], r["reasons"], r["marker"], r["step"].action, r["step"].time_limit,
             r["step"].deadline, export_id] for r in households])
        insert_rows(con, "INSERT INTO mart.listed_candidates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            [as_of, r["county_code"], r["township_code"], r["person_key"], r["rule"], r["marker"],
             r["step"].action, r["step"].time_limit, r["step"].deadline, export_id] for r in candidates])
        insert_rows(con, "INSERT INTO mart.list_departures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            [as_of, previous, r["county_code"], r["township_code"], r["household_id"], r["previous_level"],
             r["reason"], r["detail"], export_id] for r in departures])
        insert_rows(con, "INSERT INTO audit.list_exports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            [export_id, as_of, issued_on, f["county_code"], f["township_code"], f["xlsx"], f["csv"], f["sha256"],
             f["households"], f["candidates"], f["departures"], actor, now, townships is not None] for f in files])
        con.execute("COMMIT")
    except BaseException:
        rollback(con)  # a failed COMMIT has ended the transaction: keep its error, not ROLLBACK's
        raise

