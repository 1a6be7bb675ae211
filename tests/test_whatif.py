"""What-if standards: the numbers equal an independent computation.

The check below reads the delivered snapshot rows (staging) and the 2024
standards written out here, not the core tables whatif uses; for the builder's
warehouse the latest snapshot is 2024-06-30 and the standards in force are the
seed's 931 (城市) / 753 (农村).
"""

import math
from datetime import date

import duckdb
import polars as pl
import pytest

from pipelines.publish.whatif import StandardsError, format_whatif, parse_standards, read_standards, whatif
from pipelines.warehouse import warehouse
from tests.outputs_builder import build_warehouse
from tests.worlds import copy_file

TODAY = {"城市": 931, "农村": 753}

# Counted: 在册, not 特困, with an assessed income; persons = member rows of the snapshot.
INDEPENDENT = """
WITH latest AS (SELECT max(extract_date) AS d FROM staging.mz_households),
households AS (
    SELECT h.* FROM staging.mz_households h, latest WHERE h.extract_date = latest.d
),
persons AS (
    SELECT household_id, count(*) AS n FROM staging.mz_members m, latest WHERE m.extract_date = latest.d
    GROUP BY household_id
),
lines AS (
    SELECT substr(h.division_code, 1, 6) AS county, h.income_per_capita::DOUBLE AS income,
           coalesce(p.n, h.household_size) AS n,
           CASE h.urban_rural WHEN '城市' THEN $today_city ELSE $today_rural END::DOUBLE AS old_line,
           CASE h.urban_rural WHEN '城市' THEN $new_city ELSE $new_rural END::DOUBLE AS new_line
    FROM households h LEFT JOIN persons p ON p.household_id = h.household_id
    WHERE h.status = '在册' AND h.category <> '特困' AND h.income_per_capita IS NOT NULL
)
SELECT county,
       sum(CASE WHEN income < new_line AND NOT income < old_line THEN 1 ELSE 0 END),
       sum(CASE WHEN income < new_line AND NOT income < old_line THEN n ELSE 0 END),
       sum(CASE WHEN income < old_line THEN (old_line - income) * n ELSE 0 END),
       sum(CASE WHEN income < new_line THEN (new_line - income) * n ELSE 0 END)
FROM lines GROUP BY county ORDER BY county
"""


@pytest.fixture(scope="module")
def wh(outputs_warehouse, tmp_path_factory):
    return copy_file(outputs_warehouse, tmp_path_factory.mktemp("whatif"))  # the shared outputs world, copied


def independent(wh, city, rural):
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute(INDEPENDENT, {"today_city": TODAY["城市"], "today_rural": TODAY["农村"],
                                         "new_city": city, "new_rural": rural}).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("standards", [
    {"城市": 960, "农村": 780},
    {"城市": 1000},                 # 农村 stays at today's
    {"城市": 900, "农村": 700},      # a cut: nobody newly under, the cost falls
    {"城市": 950.5, "农村": 753},
])
def test_numbers_equal_a_direct_computation(wh, standards):
    result = whatif(wh, standards)
    city, rural = standards.get("城市", TODAY["城市"]), standards.get("农村", TODAY["农村"])
    expected = independent(wh, city, rural)
    counties = result.filter(result["county_code"].is_not_null())
    assert counties["county_code"].to_list() == [e[0] for e in expected]
    for row, (_, households, persons, cost_today, cost_new) in zip(counties.to_dicts(), expected):
        assert (row["households_newly_below"], row["persons_newly_below"]) == (households, persons)
        assert math.isclose(row["monthly_cost_today"], cost_today, abs_tol=0.01)
        assert math.isclose(row["monthly_cost_proposed"], cost_new, abs_tol=0.01)
        assert math.isclose(row["monthly_cost_change"], cost_new - cost_today, abs_tol=0.01)
    total = result.filter(result["county_name"] == "合计").to_dicts()[0]
    assert total["households_newly_below"] == sum(e[1] for e in expected)
    assert math.isclose(total["monthly_cost_change"], sum(e[4] - e[3] for e in expected), abs_tol=0.01)


def test_the_builders_households_by_hand(wh):
    rows = {r["county_name"]: r for r in whatif(wh, {"城市": 960, "农村": 780}).to_dicts()}
    east = rows["东昌府区"]
    # H1 (城市 950, 3 persons) and H2 (农村 760, 2 persons) fall under; H11 and H5 (低保) were under already
    assert (east["households_newly_below"], east["persons_newly_below"]) == (2, 5)
    assert (east["households_below_today"], east["households_below_proposed"]) == (2, 4)
    # 低保 H11 (500, 2) and H5 (800, 1): (931-500)*2 + (931-800) today; + H1 (960-950)*3 + H2 (780-760)*2
    assert east["monthly_cost_today"] == 862 + 131
    assert east["monthly_cost_proposed"] == 920 + 160 + 30 + 40
    # H14 never assessed; H13 退出 not counted at all; H12 特困 (阳谷县) not counted
    assert (east["households_assessed"], east["households_unassessed"]) == (6, 1)
    assert rows["阳谷县"]["households_assessed"] == 4
    assert rows["合计"]["monthly_cost_change"] == 157 + (160 - 106)


def test_parse_standards():
    assert parse_standards(["城市=960", "农村=780"]) == {"城市": 960.0, "农村": 780.0}
    assert parse_standards([" 城镇 = 960元 "]) == {"城市": 960.0}
    for bad, message in [(["城市"], "expected 城市=AMOUNT"), (["乡村=700"], "expected 城市=AMOUNT"),
                         (["城市=九百"], "not an amount"), (["城市=-1"], "positive"), (["城市=nan"], "positive"),
                         (["城市=900", "城市=2"], "given twice"), ([], "at least one"),
                         # the parameter file's range: 96000 for 960 cost 2.46 billion 元 a year, unrefused
                         (["城市=96000"], r"outside the range .*\(200\.\.3000"), (["农村=93.1"], "a typo")]:
        with pytest.raises(StandardsError, match=message) as err:
            parse_standards(bad)
        assert "\n" not in str(err.value)


def test_read_standards_from_a_plain_file_or_a_parameter_file(tmp_path):
    plain = tmp_path / "proposed.yaml"
    plain.write_text("城市: 960\n农村: 780\n", encoding="utf-8")
    assert read_standards(plain) == {"城市": 960.0, "农村": 780.0}
    dated = tmp_path / "dibao_standard.yaml"
    dated.write_text(
        "description: proposed\nunit: 元/人·月\nreference: [budget draft]\nbreakdown: urban_rural\n"
        "values:\n  城市:\n    2024-01-01: {value: 931, source: seed}\n    2025-01-01: {value: 965, source: draft}\n"
        "  农村:\n    2024-01-01: {value: 753, source: seed}\n    2025-01-01: {value: 785, source: draft}\n",
        encoding="utf-8")
    assert read_standards(dated) == {"城市": 965.0, "农村": 785.0}
    broken = tmp_path / "broken.yaml"
    broken.write_text("城市: [960\n", encoding="utf-8")
    with pytest.raises(StandardsError, match="cannot read standards file"):
        read_standards(broken)


def test_bad_inputs_fail_with_one_line(wh, tmp_path):
    with pytest.raises(StandardsError, match="unknown 城乡属性"):
        whatif(wh, {"郊区": 900})
    with pytest.raises(StandardsError, match="no mz snapshot on or before 2020-01-01"):
        whatif(wh, {"城市": 960}, as_of=date(2020, 1, 1))
    with warehouse(tmp_path / "empty.duckdb"):
        pass
    with pytest.raises(StandardsError, match="no mz snapshot loaded yet"):
        whatif(tmp_path / "empty.duckdb", {"城市": 960})


def test_format_whatif_has_chinese_headers_and_a_total(wh):
    text = format_whatif(whatif(wh, {"城市": 960}))
    assert "新增低于标准户数" in text and "合计" in text and "月补差增加（元）" in text


SPLIT = """
WITH latest AS (SELECT max(extract_date) AS d FROM staging.mz_households),
households AS (SELECT h.* FROM staging.mz_households h, latest WHERE h.extract_date = latest.d),
persons AS (
    SELECT household_id, count(*) AS n FROM staging.mz_members m, latest WHERE m.extract_date = latest.d
    GROUP BY household_id
),
lines AS (
    SELECT h.category = '低保' AS on_dibao, h.income_per_capita::DOUBLE AS income, coalesce(p.n, h.household_size) AS n,
           CASE h.urban_rural WHEN '城市' THEN $today_city ELSE $today_rural END::DOUBLE AS old_line,
           CASE h.urban_rural WHEN '城市' THEN $new_city ELSE $new_rural END::DOUBLE AS new_line
    FROM households h LEFT JOIN persons p ON p.household_id = h.household_id
    WHERE h.status = '在册' AND h.category <> '特困' AND h.income_per_capita IS NOT NULL
)
SELECT
    count(*) FILTER (WHERE on_dibao AND income < new_line AND new_line > old_line),
    sum(CASE WHEN on_dibao THEN (greatest(new_line - income, 0) - greatest(old_line - income, 0)) * n ELSE 0 END),
    count(*) FILTER (WHERE NOT on_dibao AND income < new_line AND income >= old_line),
    sum(CASE WHEN NOT on_dibao AND income < new_line AND income >= old_line THEN (new_line - income) * n ELSE 0 END)
FROM lines
"""


def test_benefit_rises_and_newly_eligible_are_split_with_annual_costs(wh, capsys):
    from pipelines.cli import main

    result = whatif(wh, {"城市": 1000, "农村": 800})
    con = duckdb.connect(str(wh), read_only=True)
    try:
        rises, rise_cost, newly, newly_cost = con.execute(SPLIT, {
            "today_city": TODAY["城市"], "today_rural": TODAY["农村"], "new_city": 1000, "new_rural": 800}).fetchall()[0]
    finally:
        con.close()
    total = result.filter(result["county_name"] == "合计").to_dicts()[0]
    assert rises > 0 and newly > 0  # the builder's town has both
    assert total["dibao_households_benefit_rises"] == rises
    assert total["households_newly_eligible"] == newly
    assert math.isclose(total["monthly_cost_benefit_rises"], rise_cost, abs_tol=0.01)
    assert math.isclose(total["monthly_cost_newly_eligible"], newly_cost, abs_tol=0.01)
    for what in ("change", "benefit_rises", "newly_eligible"):
        assert math.isclose(total[f"annual_cost_{what}"], 12 * total[f"monthly_cost_{what}"], abs_tol=0.05)
    assert total["monthly_cost_benefit_rises"] + total["monthly_cost_newly_eligible"] \
        <= total["monthly_cost_change"] + 0.01
    assert main(["whatif", "--warehouse", str(wh), "--standard", "城市=1000", "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split(",")
    assert {"annual_cost_change", "monthly_cost_benefit_rises", "households_newly_eligible"} <= set(header)


def test_the_command_says_which_snapshot_the_incomes_come_from(wh, capsys):
    """A date between snapshots (or one whose delivery was rejected) reads the latest before it: said so."""
    import duckdb

    from pipelines.cli import main

    con = duckdb.connect(str(wh), read_only=True)
    snapshots = [d for (d,) in con.execute("SELECT extract_date FROM core.snapshots WHERE source = 'mz'"
                                           " ORDER BY 1").fetchall()]
    con.close()
    first, last = snapshots[0], snapshots[-1]
    assert main(["whatif", "--warehouse", str(wh), "--standard", "城市=1000", "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("county_code,") and f"incomes of the mz snapshot of {last}" in err
    between = first + (last - first) / 2 if last > first else first
    assert main(["whatif", "--warehouse", str(wh), "--standard", "城市=1000", "--as-of", str(between)]) == 0
    shown = capsys.readouterr().out.splitlines()[-1]
    snapshot = max(d for d in snapshots if d <= between)
    assert shown.startswith(f"收入取自民政 {snapshot} 快照")
    assert "城市 931 → 1,000" not in shown and "城市 931 → 1000，农村 753 → 753（不变）" in shown


def test_todays_line_is_the_one_in_force_on_the_snapshot_date_not_on_a_later_as_of(wh, tmp_path):
    """A raise dated after the last snapshot (here 城市 2,000 the day after it) is not today's
    line for that snapshot's incomes, whatever --as-of asks for."""
    from datetime import timedelta

    from pipelines.publish.whatif import whatif_on

    raised = copy_file(wh, tmp_path)
    with warehouse(raised) as con:
        (last,) = con.execute("SELECT max(extract_date) FROM core.snapshots WHERE source = 'mz'").fetchone()
        day = last + timedelta(days=1)
        con.execute("UPDATE core.dibao_lines SET valid_to = ? WHERE urban_rural = '城市' AND valid_to IS NULL", [day])
        con.execute("INSERT INTO core.dibao_lines VALUES ('城市', ?, NULL, 2000, 1.5, 3000)", [day])
    before, snapshot, today = whatif_on(raised, {"城市": 1000})
    after, snapshot_later, today_later = whatif_on(raised, {"城市": 1000}, as_of=day + timedelta(days=5))
    assert snapshot == snapshot_later == last and today == today_later == {"城市": 931.0, "农村": 753.0}
    assert after.equals(before) and after.equals(whatif(wh, {"城市": 1000}))


def test_a_lower_standard_raises_nobodys_benefit_and_the_total_says_what_it_saves(wh):
    total = whatif(wh, {"城市": 900, "农村": 700}).filter(pl.col("county_name") == "合计").to_dicts()[0]
    assert total["dibao_households_benefit_rises"] == 0 and total["monthly_cost_benefit_rises"] == 0
    assert total["monthly_cost_change"] < 0 and total["households_below_proposed"] <= total["households_below_today"]
