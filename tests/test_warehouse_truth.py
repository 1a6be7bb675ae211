"""The warehouse against the generator's ground truth and the delivered files.

As-of answers for sample dates, the statistics mart against counts computed
directly from the delivered files, and the 单人保 candidates against the planted
ones (recall and precision printed with -s).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.generate import generate
from tests.pipeline_run import run_all

MONTHS = 4


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("truth")
    generate(root / "landing", root / "truth", scale="town", months=MONTHS, seed=5)
    wh = root / "w.duckdb"
    run_all(root / "landing", wh)
    con = duckdb.connect(str(wh), read_only=True)
    yield {"root": root, "con": con, "truth": root / "truth", "landing": root / "landing"}
    con.close()


def sql(con, query: str, params=None) -> pl.DataFrame:
    return pl.from_arrow(con.sql(query, params=params).to_arrow_table())


def read_delivered(path: Path) -> pl.DataFrame:
    """An independent reading of one delivered file: text cells plus the line number."""
    if path.suffix == ".xlsx":
        frame = pl.read_excel(path, infer_schema_length=0)
        lines = pl.int_range(2, frame.height + 2)  # the generator writes no empty sheet rows
    else:
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("gb18030")
        body = text.rstrip("\r\n")
        frame = pl.read_csv(body.encode(), infer_schema=False)
        lines = pl.int_range(2, frame.height + 2)
    return frame.with_columns(lines.alias("line")).with_columns(pl.all().exclude("line").str.strip_chars())


def clean_lines(con, source: str, extract_date: date, file_name: str) -> pl.DataFrame:
    return sql(con, "SELECT DISTINCT line_number AS line FROM audit.quarantine WHERE source = $s "
               "AND extract_date = $d AND file_name = $f", {"s": source, "d": extract_date, "f": file_name})


def delivered_snapshot(world, source: str, stem: str, d: date) -> pl.DataFrame:
    folder = world["landing"] / source / d.isoformat()
    path = next(p for p in folder.iterdir() if p.stem == stem)
    frame = read_delivered(path)
    bad = clean_lines(world["con"], source, d, path.name)
    return frame.join(bad, on="line", how="anti")


def loaded_mz_dates(con) -> list[date]:
    return [r[0] for r in con.execute("SELECT DISTINCT extract_date FROM audit.deliveries "
                                      "WHERE source = 'mz' AND status = 'loaded' ORDER BY 1").fetchall()]


def test_as_of_answers_match_the_truth(world):
    con, truth = world["con"], pl.read_parquet(world["truth"] / "household_months.parquet")
    dates = loaded_mz_dates(con)
    assert len(dates) >= 3
    for snapshot in dates[:3]:
        for asked in (snapshot, date(snapshot.year, snapshot.month, 15) if snapshot.day > 15 else snapshot):
            # mid-month asks the state of the previous snapshot; at the snapshot, that snapshot's
            expected_at = max(d for d in dates if d <= asked) if any(d <= asked for d in dates) else None
            # a household whose row that snapshot could not be read (quarantined, or missing
            # while its members were delivered) carries its last known state, flagged unknown
            got = sql(con, "SELECT household_id, category, status FROM core.households_asof($d)"
                           " WHERE NOT list_contains(unknown_on, $s)", {"d": asked, "s": expected_at})
            if expected_at is None:
                assert got.height == 0
                continue
            want = truth.filter((pl.col("extract_date") == expected_at) & pl.col("in_snapshot")).select(
                "household_id", "category", "status")
            both = got.join(want, on="household_id", suffix="_truth")
            assert both.height >= 0.98 * want.height, (asked, both.height, want.height)
            assert both.height == got.height, "the warehouse knows no household the truth does not"
            wrong = both.filter((pl.col("category") != pl.col("category_truth"))
                                | (pl.col("status") != pl.col("status_truth")))
            assert wrong.height == 0, (asked, wrong)


def test_county_month_counts_match_the_delivered_files(world):
    con = world["con"]
    for d in loaded_mz_dates(con):
        households = delivered_snapshot(world, "mz", "households", d).unique(
            subset=[c for c in ["家庭编号", "户主身份证号", "保障类别", "保障状态", "行政区划代码"]], keep="first")
        members = delivered_snapshot(world, "mz", "members", d).unique(
            subset=["家庭编号", "身份证号"], keep="first")
        # rows that snapshot could not read count with their last known state (unknown_on)
        carried = sql(con, "SELECT household_id AS 家庭编号, category AS 保障类别, status AS 保障状态,"
                           " division_code AS 行政区划代码 FROM core.household_history"
                           " WHERE list_contains(unknown_on, $d::DATE)", {"d": d})
        households = pl.concat([households.select(carried.columns), carried], how="vertical_relaxed")
        carried_members = sql(con, "SELECT household_id AS 家庭编号, person_key AS 身份证号 FROM core.member_history"
                                   " WHERE list_contains(unknown_on, $d::DATE)", {"d": d})
        members = pl.concat([members.select(carried_members.columns), carried_members], how="vertical_relaxed")
        active = households.filter(pl.col("保障状态") == "在册").with_columns(
            pl.col("行政区划代码").str.slice(0, 6).alias("county_code"))
        size = members.group_by("家庭编号").len("members")
        want = (active.join(size, on="家庭编号", how="left").with_columns(pl.col("members").fill_null(0))
                .group_by("county_code").agg(
                    (pl.col("保障类别") == "低保").sum().alias("dibao_households"),
                    pl.col("members").filter(pl.col("保障类别") == "低保").sum().alias("dibao_persons"),
                    (pl.col("保障类别") == "特困").sum().alias("tekun_households"),
                    pl.len().alias("households")))
        got = sql(con, "SELECT county_code, households, dibao_households, dibao_persons, tekun_households "
                       "FROM mart.county_month WHERE month = date_trunc('month', $d::DATE)", {"d": d})
        joined = want.join(got, on="county_code", how="full", suffix="_mart")
        for col in ("households", "dibao_households", "dibao_persons", "tekun_households"):
            diff = joined.filter(pl.col(col).fill_null(0).cast(pl.Int64) != pl.col(f"{col}_mart").fill_null(0).cast(pl.Int64))
            assert diff.height == 0, (d, col, diff)


def test_single_person_dibao_candidates_match_the_planted_ones(world):
    con = world["con"]
    as_of = sql(con, "SELECT max(as_of_date) AS d FROM mart.discovery_candidates")["d"][0]
    truth = pl.read_parquet(world["truth"] / "dbrb_candidates.parquet").filter(
        (pl.col("as_of") == as_of) & pl.col("holds"))
    identity = sql(con, "SELECT person_key, id_number FROM restricted.person_identity")
    got = sql(con, "SELECT person_key FROM mart.discovery_candidates WHERE rule = '单人保'").join(
        identity, on="person_key").rename({"id_number": "person_id"})
    hits = got.join(truth, on="person_id", how="semi").height
    precision, recall = hits / max(got.height, 1), hits / max(truth.height, 1)
    print(f"\n单人保 on {as_of}: {got.height} found, {truth.height} in truth, "
          f"precision {precision:.3f}, recall {recall:.3f}")
    planted = pl.read_parquet(world["truth"] / "dbrb_candidates.parquet").filter(
        (pl.col("as_of") == as_of) & pl.col("planted"))
    near_misses = planted.filter(~pl.col("holds")).join(got, on="person_id", how="semi")
    assert near_misses.height == 0, near_misses
    assert precision >= 0.99 and recall >= 0.99


def test_readme_queries_run_as_written(world):
    """The README promises officials five queries that run as written."""
    import re

    from pipelines.config import PROJECT_ROOT
    from pipelines.publish.query import run_query
    from pipelines.warehouse import publish_query_copy

    publish_query_copy(world["root"] / "w.duckdb")  # as the nightly run's last task does
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Questions officials ask.*?```sql\n(.*?)```", readme, re.S).group(1)
    statements = [s.strip() for s in block.split(";") if s.strip()]
    assert len(statements) >= 5
    for statement in statements:
        columns, rows = run_query(world["root"] / "w.duckdb", statement)
        assert columns and rows, statement
