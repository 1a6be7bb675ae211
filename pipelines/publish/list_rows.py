"""What each risk list shows: the ranked households with their action, the candidates,
the households that left since the previous list and why (docs/outputs.md)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import duckdb

from pipelines.ingest.feedback import INELIGIBLE, candidate_ref
from pipelines.publish.deadlines import CheckRules
from pipelines.sql import query

LEVEL_RANK = {"低": 0, "中": 1, "高": 2}
NEW, UP, SAME = "新增", "升级", "持续"


def _scored_query(name: str) -> str:
    """A list query over the scored households of `$as_of` (publish/scored_households)."""
    return query(name, scored=query("publish/scored_households"))


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


def household_rows(con: duckdb.DuckDBPyConnection, as_of: date, previous: date | None, rules: CheckRules,
                   issued_on: date) -> tuple[list[dict], dict[str, date]]:
    """The rows of every township's first sheet, ranked; and the households held back."""
    rows = con.sql(_scored_query("publish/list_households"), params={"as_of": as_of}).pl().to_dicts()
    since = date.fromordinal(as_of.toordinal() - rules.recent_days)
    signals = dict(con.sql(_scored_query("publish/list_signals"),
                           params={"as_of": as_of, "since": since}).fetchall())
    before = {h: (t, lvl) for h, t, lvl in con.execute(
        "SELECT household_id, township_code, risk_level FROM mart.listed_households WHERE as_of_date = ?",
        [previous]).fetchall()}
    findings = {r[0]: r for r in con.sql(query("publish/list_ineligible"), params={
        "as_of": as_of, "quiet_days": rules.ineligible_quiet_days, "ineligible": INELIGIBLE}).fetchall()}
    texts = reason_texts(con)

    listed, held_back = [], {}
    for row in rows:
        level = row["risk_level"]
        finding, again = findings.get(row["household_id"]), ""
        if finding:
            _, checked_on, checked_level, changed_since = finding
            rose = checked_level is not None and LEVEL_RANK[level] > LEVEL_RANK[checked_level]
            if not (rose or changed_since):  # found 不符合条件 and nothing new: not listed again yet
                held_back[row["household_id"]] = checked_on
                continue
            # the caseworker who reported it is told why it is back
            again = f"{checked_on} 核查{INELIGIBLE}后{'风险等级升高' if rose else '有新变化'}，再次列入；"
        was = before.get(row["household_id"])
        if was is None or was[0] != row["township_code"]:
            row["marker"] = NEW  # new to this township's caseworkers
        elif LEVEL_RANK[level] > LEVEL_RANK.get(was[1], 0):
            row["marker"] = UP
        else:
            row["marker"] = SAME
        reasons = list(row["reasons"] or [])
        row["step"] = rules.household_step(level, set(signals.get(row["household_id"]) or ()), set(reasons),
                                           issued_on)
        # an action chosen by a recent change says so: "就业帮扶转介" beside "no factor stands out" left the
        # caseworker without the job loss behind it (the fourth audit)
        because = f"近期情况：{row['step'].because}；" if row["step"].because else ""
        row["reason_text"] = again + because + "；".join(texts.get(r, r) for r in reasons)
        listed.append(row)
    rank: dict[str, int] = defaultdict(int)
    for row in listed:  # already ordered by township, then score
        rank[row["township_code"]] += 1
        row["list_rank"] = rank[row["township_code"]]
    return listed, held_back


def candidate_rows(con: duckdb.DuckDBPyConnection, as_of: date, previous: date | None, rules: CheckRules,
                   issued_on: date) -> list[dict]:
    rows = con.execute(query("publish/list_candidates"), [as_of]).fetchall()
    before = set(con.execute("SELECT person_key, rule FROM mart.listed_candidates WHERE as_of_date = ?",
                             [previous]).fetchall())
    keys = ("person_key", "masked_id", "name", "county_code", "township_code", "rule", "evidence", "residence_code")
    found = []
    for values in rows:
        row = dict(zip(keys, values))
        row["marker"] = SAME if (row["person_key"], row["rule"]) in before else NEW
        row["candidate_ref"] = candidate_ref(row["person_key"], row["rule"])
        row["step"] = rules.candidate_step(row["rule"], issued_on)
        found.append(row)
    return found


def departure_rows(con: duckdb.DuckDBPyConnection, as_of: date, previous: date | None,
                   listed: set[tuple[str, str]], held_back: dict[str, date]) -> list[dict]:
    """Entries of the previous list that this list does not show in the same township."""
    if previous is None:
        return []
    rows = [r for r in con.sql(_scored_query("publish/list_departed"),
                               params={"as_of": as_of, "previous": previous}).pl().to_dicts()
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
        return "核查不符合条件", f"{ineligible_on} 核查{INELIGIBLE}，此后无新变化，暂不重复列入"
    if row["recheck_below"] is False:
        return "收入回升", (f"核对日期 {row['recheck_date']} 月人均收入 {row['recheck_income']:.2f} 元，"
                            f"不低于低保标准 {row['recheck_standard']:.2f} 元")
    if row["members_gone"]:
        return "成员变动", f"{row['members_gone']} 名家庭成员去世或离开，风险下降"
    if row["now_level"] is not None:
        return "风险降低", f"风险评分 {row['now_score']:.3f}（{row['now_level']}）"
    return "不在评分范围", f"{as_of} 未评分（保障类别 {row['category']}）"
