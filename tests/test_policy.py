"""Policy parameters: the files, and every value on both sides of its change date.

The warehouse here has no deliveries at all: building it also shows that core
and marts build, empty, before the first delivery.
"""

from datetime import date
from decimal import Decimal

import pytest

from pipelines.core.build import build_core
from pipelines.core.marts import build_marts
from pipelines.core.parameters import PARAMETERS, ParameterError, read_parameter, read_parameters, standard_on
from pipelines.warehouse import warehouse

BEFORE, ON = date(2023, 12, 31), date(2024, 1, 1)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    with warehouse(tmp_path_factory.mktemp("policy") / "w.duckdb") as con:
        build_core(con)  # loads the parameters and creates the rule macros
        build_marts(con)
        yield con


def test_an_empty_warehouse_builds_empty_tables(con):
    assert con.execute("SELECT count(*) FROM mart.discovery_candidates").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM mart.household_month").fetchall() == [(0,)]
    assert con.execute("SELECT core.scoring_date()").fetchall() == [(None,)]


def test_every_file_names_its_unit_and_sources():
    values = read_parameters()
    assert {v.parameter for v in values} == {p.stem for p in PARAMETERS.glob("*.yaml")}
    assert all(v.unit and v.source and v.region_code == "371500" for v in values)


@pytest.mark.parametrize("urban_rural, before, on", [("城市", 890, 931), ("农村", 720, 753)])
def test_dibao_standard_changes_on_2024_01_01(con, urban_rural, before, on):
    assert standard_on(con, "dibao_standard", urban_rural, BEFORE) == before
    assert standard_on(con, "dibao_standard", urban_rural, ON) == on
    assert standard_on(con, "dibao_standard", urban_rural, date(2022, 12, 31)) is None


@pytest.mark.parametrize("parameter, urban_rural, grade, value", [
    ("tekun_basic_living", "城市", None, 1242),
    ("tekun_basic_living", "农村", None, 979),
    ("orphan_institutional_living", None, None, 2328),
    ("orphan_dispersed_living", None, None, 1862),
    ("disability_living_subsidy", None, "一级", 187),
    ("disability_living_subsidy", None, "二级", 187),
    ("disability_living_subsidy", None, "三级", 140),
    ("disability_living_subsidy", None, "四级", 140),
    ("disability_nursing_subsidy", None, "一级", 168),
    ("disability_nursing_subsidy", None, "二级", 140),
])
def test_2024_standards_start_on_2024_01_01(con, parameter, urban_rural, grade, value):
    assert standard_on(con, parameter, urban_rural, ON, grade) == value
    assert standard_on(con, parameter, urban_rural, BEFORE, grade) is None


def test_grades_without_a_nursing_subsidy(con):
    assert standard_on(con, "disability_nursing_subsidy", None, ON, "三级") is None


def test_an_unknown_parameter_is_an_error_not_a_missing_value(con):
    with pytest.raises(ParameterError, match="unknown parameter 'dibao_standrad'"):
        standard_on(con, "dibao_standrad", "城市", ON)


def test_sql_reads_the_same_values_as_of_a_day(con):
    got = con.execute(
        "SELECT core.dibao_standard_on('城市', DATE '2023-12-31'), core.dibao_standard_on('城市', DATE '2024-01-01'),"
        " core.dibao_edge_line_on('城市', DATE '2023-12-31'), core.dibao_edge_line_on('城市', DATE '2024-01-01'),"
        " core.parameter_on('disability_living_subsidy', NULL, '三级', DATE '2024-01-01')"
    ).fetchall()
    assert got == [(890, 931, Decimal("1335"), Decimal("1396.5"), 140)]


@pytest.mark.parametrize("income, day, band", [
    (900, BEFORE, "dibao_edge"),   # 890 <= 900 < 1335
    (900, ON, "below_dibao"),      # 900 < 931
    (1335, BEFORE, "above_edge"),
    (1335, ON, "dibao_edge"),      # < 1396.5
    (None, ON, None),
])
def test_income_band_on_both_sides_of_the_change(con, income, day, band):
    assert con.execute(
        "SELECT core.income_band($income::DECIMAL(12,2), core.dibao_standard_on('城市', $day),"
        " core.dibao_edge_line_on('城市', $day))", {"income": income, "day": day}).fetchall() == [(band,)]


def test_employment_income_disregard(con):
    assert con.execute(
        "SELECT core.counted_employment_income(1000, DATE '2024-01-01'),"
        " core.counted_employment_income(200, DATE '2024-01-01')"
    ).fetchall() == [(700, 0)]


def test_dibao_lines_change_on_2024_01_01(con):
    assert con.execute(
        "SELECT urban_rural, valid_from, valid_to, dibao_standard, dibao_edge_line FROM core.dibao_lines"
        " ORDER BY urban_rural DESC, valid_from").fetchall() == [
        ("城市", date(2023, 1, 1), ON, 890, 1335), ("城市", ON, None, 931, Decimal("1396.50")),
        ("农村", date(2023, 1, 1), ON, 720, 1080), ("农村", ON, None, 753, Decimal("1129.50")),
    ]


def test_policy_table_rows_close_at_the_next_value(con):
    assert con.execute(
        "SELECT valid_from, valid_to, amount FROM core.policy_parameters"
        " WHERE parameter = 'dibao_standard' AND urban_rural = '城市' ORDER BY valid_from"
    ).fetchall() == [(date(2023, 1, 1), ON, 890), (ON, None, 931)]


@pytest.mark.parametrize("text, error", [
    ("unit: x\nreference: [r]\nbreakdown: none\nvalues: {2024-01-01: {value: 1, source: s}}\n", "missing description"),
    ("description: d\nunit: x\nreference: [r]\nbreakdown: county\nvalues: {2024-01-01: {value: 1, source: s}}\n",
     "breakdown must be"),
    ("description: d\nunit: x\nreference: [r]\nbreakdown: urban_rural\n"
     "values: {城镇: {2024-01-01: {value: 1, source: s}}}\n", "unknown urban_rural"),
    ("description: d\nunit: x\nreference: [r]\nbreakdown: none\nvalues: {2024-01-01: {value: 1}}\n", "source"),
    ("description: d\nunit: x\nreference: [r]\nbreakdown: none\nvalues: {2024-13-01: {value: 1, source: s}}\n",
     "not valid YAML"),
    ("description: d\nunit: x\nreference: [r]\nbreakdown: none\nvalues: {'2024/01/01': {value: 1, source: s}}\n",
     "not a YYYY-MM-DD"),
    ("description: d\nunit: x\nreference: [r]\nbreakdown: none\nvalues: {2024-01-01: {value: -1, source: s}}\n",
     "negative"),
    ("description: d\nunit: x\nreference: [r]\nbreakdown: urban_rural\nvalues:\n  城市: {2024-01-01: {value: 931, source: s}}\n"
     "  城市: {2024-01-01: {value: 753, source: s}}\n", "城市 given twice"),
    ("description: d\nunit: x\nreference: [r]\nbreakdown: none\nvalues:\n  2024-01-01: {value: 1, source: s}\n"
     "  2024-01-01: {value: 2, source: s}\n", "2024-01-01 given twice"),
    ("description: d\nunit: x\nreference: [r]\nbreakdown: urban_rural\n"
     "values: {城市: {2024-01-01: {value: 931, source: s}}}\n", "no values for 农村"),
    ("description: d\nunit: x\nreference: [r]\nregion_code: '371502'\nbreakdown: none\n"
     "values: {2024-01-01: {value: 1, source: s}}\n", "only city-wide values"),
    ("description: d\nunit: x\nreference: [r]\nbreakdown: none\nvalues: {2024-01-01: {value: .nan, source: s}}\n",
     "is not a number"),
    ("description: d\nunit: x\nreference: [r]\nbreakdown: none\nvalues: {2024-01-01: {value: true, source: s}}\n",
     "is not a number"),
    ("description: d\nunit: x\nreference: [r]\nbreakdown: none\n"
     "values: {2024-01-01 08:00:00: {value: 1, source: s}}\n", "has a time of day"),
    ("description: d\nunit: x\nrange: [200, 3000]\nreference: [r]\nbreakdown: none\n"
     "values: {2024-01-01: {value: 93100, source: s}}\n", "outside this parameter's range 200..3000"),
    ("description: d\nunit: x\nrange: [200, 3000]\nreference: [r]\nbreakdown: none\n"
     "values: {2024-01-01: {value: 0, source: s}}\n", "outside this parameter's range"),
    ("description: d\nunit: x\nrange: [3000]\nreference: [r]\nbreakdown: none\n"
     "values: {2024-01-01: {value: 1, source: s}}\n", "range must be"),
])
def test_malformed_files_are_refused(tmp_path, text, error):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParameterError, match=error):
        read_parameter(path)


def test_a_parameter_file_the_pipeline_reads_cannot_go_missing(tmp_path):
    import shutil

    for f in PARAMETERS.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "dibao_edge_factor.yaml").unlink()
    with pytest.raises(ParameterError, match="missing dibao_edge_factor.yaml, which the pipeline reads"):
        read_parameters(tmp_path)


def test_the_standards_must_be_in_force_from_the_first_delivery(tmp_path):
    """A 低保 line missing for the first months would leave them without a line: refused in one line."""
    from pipelines.core.parameters import load_parameters

    folder = tmp_path / "parameters"
    folder.mkdir()
    for f in PARAMETERS.glob("*.yaml"):
        text = f.read_text(encoding="utf-8")
        if f.stem == "dibao_standard":  # 2023's values dropped: the standard starts 2024-01-01
            text = text.replace("2023-01-01:", "2024-06-01:")
        (folder / f.name).write_text(text, encoding="utf-8")
    with warehouse(tmp_path / "w.duckdb") as con:
        load_parameters(con, folder)  # nothing delivered yet: nothing to cover
        con.execute("INSERT INTO audit.deliveries VALUES ('L1', 'mz', DATE '2023-03-31', 'mz/2023-03-31', 'c', 'r',"
                    " 'loaded', NULL, NULL, now())")
        with pytest.raises(ParameterError, match=r"first delivery \(2023-03-31\): dibao_standard.yaml 农村 starts"):
            load_parameters(con, folder)


def test_the_params_command_checks_the_files_and_shows_the_values_in_force(tmp_path, capsys):
    import shutil

    from pipelines.cli import main

    assert main(["params", "--date", "2023-06-30"]) == 0
    out = capsys.readouterr().out
    assert "all readable" in out and "890" in out and "from 2024-01-01: 931" in out
    for f in PARAMETERS.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    standard = tmp_path / "dibao_standard.yaml"
    standard.write_text(standard.read_text(encoding="utf-8").replace("农村:", "城市:"), encoding="utf-8")
    assert main(["params", "--folder", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dibao params: dibao_standard.yaml: 城市 given twice (line") and "\n" not in err
