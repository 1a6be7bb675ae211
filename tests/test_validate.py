"""The quality gate: the Great Expectations suites, compiled to SQL, on real DuckDB tables, no mocks.

Each table is validated once per module in shared fixtures and the tests read the
outcomes. That the SQL answers as GX itself does: tests/test_validate_sql.py.
"""

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.sources import contract as c
from pipelines.config import EXPECTATIONS
from pipelines.sources.idcard import CHECK_CHARS, check_char

EXTRACT = date(2024, 6, 30)
ROWS = 40
LATER = date(2030, 1, 1)

POLARS_TYPES = {c.INT: pl.Int64, c.AMOUNT: pl.Float64, c.DATE: pl.Date}


def person_id(i: int) -> str:
    first17 = f"37150219800101{i:03d}"
    return first17 + check_char(first17)


def wrong_check(id18: str) -> str:
    right = id18[17]
    return id18[:17] + CHECK_CHARS[(CHECK_CHARS.index(right) + 1) % len(CHECK_CHARS)]


def clean_value(col: c.Column, i: int):
    if col.kind == c.ENUM:
        return col.values[i % len(col.values)]
    if col.kind == c.ID:
        return person_id(i)
    if col.kind == c.CERT:  # digits 19-20 agree with the row's 残疾类别 and 残疾等级
        return person_id(i) + str(i % len(c.DISABILITY_TYPES) + 1) + str(i % len(c.GRADES) + 1)
    return {
        c.TEXT: f"{col.field}-{i}",
        c.KEY: f"{col.field}-{i}",
        c.CODE12: "371502001001",
        c.INT: 1 + i % 5,
        c.AMOUNT: 100.0 + i,
        c.DATE: date(2020, 1, 1),
        c.YYYYMM: "202405",
    }[col.kind]


def clean_frame(spec: c.FileSpec, rows: int = ROWS) -> pl.DataFrame:
    data = {col.field: [clean_value(col, i) for i in range(rows)] for col in spec.columns}
    schema = {col.field: POLARS_TYPES.get(col.kind, pl.Utf8) for col in spec.columns}
    return pl.DataFrame(data, schema=schema).with_columns(pl.int_range(2, rows + 2, dtype=pl.Int64).alias("_line"))


def put(frame: pl.DataFrame, line: int, field: str, value) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col("_line") == line).then(pl.lit(value, dtype=frame.schema[field])).otherwise(pl.col(field)).alias(field)
    )


# One planted defect per line: (field, value, expected reason). Every row-level
# expectation of every suite must appear here (test_every_row_check_is_planted).
DEFECTS = {
    "mz_households": [
        ("household_id", None, "gx:not_null"),
        ("household_id", "  ", "gx:not_blank"),
        ("head_id", None, "gx:not_null"),
        ("head_id", "37150219800101001", "gx:id_format"),
        ("head_id", wrong_check(person_id(5)), "gx:id_check"),
        ("division_code", None, "gx:not_null"),
        ("division_code", "371502001", "gx:code12_format"),
        ("urban_rural", None, "gx:not_null"),
        ("urban_rural", "城镇", "gx:in_set"),
        ("category", None, "gx:not_null"),
        ("category", "五保", "gx:in_set"),
        ("status", None, "gx:not_null"),
        ("status", "暂停", "gx:in_set"),
        ("household_size", None, "gx:not_null"),
        ("income_per_capita", -1.0, "gx:negative_amount"),
        ("benefit_amount", -0.5, "gx:negative_amount"),
        ("granted_date", None, "gx:not_null"),
    ],
    "mz_members": [
        ("household_id", None, "gx:not_null"),
        ("household_id", "", "gx:not_blank"),
        ("person_id", None, "gx:not_null"),
        ("person_id", "3715021980010100X1", "gx:id_format"),
        ("person_id", wrong_check(person_id(4)), "gx:id_check"),
        ("relation", None, "gx:not_null"),
        ("relation", "邻居", "gx:in_set"),
        ("sex", None, "gx:not_null"),
        ("sex", "未知", "gx:in_set"),
        ("birth_date", None, "gx:not_null"),
        ("work_ability", None, "gx:not_null"),
        ("work_ability", "良好", "gx:in_set"),
        ("health", None, "gx:not_null"),
        ("health", "一般", "gx:in_set"),
        ("student", None, "gx:not_null"),
        ("student", "不详", "gx:in_set"),
    ],
    "cl_disability": [
        ("cert_no", None, "gx:not_null"),
        ("cert_no", person_id(1) + "81", "gx:cert_format"),
        ("cert_no", wrong_check(person_id(2)) + "31", "gx:id_check"),
        ("disability_type", None, "gx:not_null"),
        ("disability_type", "内脏", "gx:in_set"),
        ("grade", None, "gx:not_null"),
        ("grade", "五级", "gx:in_set"),
        ("issue_date", None, "gx:not_null"),
        ("cert_status", None, "gx:not_null"),
        ("cert_status", "挂失", "gx:in_set"),
        ("division_code", None, "gx:not_null"),
        ("division_code", "3715020010010", "gx:code12_format"),
        ("living_subsidy", None, "gx:not_null"),
        ("living_subsidy", "Y", "gx:in_set"),
        ("nursing_subsidy", None, "gx:not_null"),
        ("nursing_subsidy", "N", "gx:in_set"),
    ],
    "rs_registrations": [
        ("person_id", None, "gx:not_null"),
        ("person_id", "37150219800101001x", "gx:id_format"),
        ("person_id", wrong_check(person_id(3)), "gx:id_check"),
        ("reg_type", None, "gx:not_null"),
        ("reg_type", "就业", "gx:in_set"),
        ("reg_date", None, "gx:not_null"),
        ("division_code", None, "gx:not_null"),
        ("division_code", "37150200100A", "gx:code12_format"),
    ],
    "rs_contributions": [
        ("person_id", None, "gx:not_null"),
        ("person_id", "371502198001010011234", "gx:id_format"),
        ("person_id", wrong_check(person_id(3)), "gx:id_check"),
        ("contrib_month", None, "gx:not_null"),
        ("contrib_month", "202413", "gx:yyyymm"),
        ("contrib_month", "2024-05", "gx:yyyymm"),
        ("insurance", None, "gx:not_null"),
        ("insurance", "医疗保险", "gx:in_set"),
        ("contrib_base", None, "gx:not_null"),
        ("contrib_base", -100.0, "gx:negative_amount"),
    ],
}

# Implausible but clean values, with the "<check>:<field>" result they fail:
# recorded as warnings, never quarantined.
WARNINGS = {
    "mz_households": [("household_size", 40, "household_size_range:household_size"),
                      ("check_date", LATER, "date_range:check_date"),
                      ("granted_date", LATER, "date_range:granted_date")],
    "mz_members": [("birth_date", LATER, "date_range:birth_date")],
    "cl_disability": [("issue_date", LATER, "date_range:issue_date"),
                      ("disability_type", "精神", "cert_digits_agree:cert_no")],  # digit 19 says otherwise
    "rs_registrations": [("reg_date", LATER, "date_range:reg_date")],
    "rs_contributions": [("contrib_base", 80000.0, "contrib_base_plausible:contrib_base")],
}

# Snapshot keys: two rows that share a key but disagree are both quarantined; a
# later copy identical in every field is quarantined and the first copy loads.
KEYS = {"mz_households": "household_id", "cl_disability": "cert_no"}
SHARED_KEY_LINES = (ROWS - 2, ROWS - 1)
COPY_OF_LINE = ROWS
COPY_LINE = ROWS + 2


def defect_frame(spec: c.FileSpec) -> pl.DataFrame:
    frame = clean_frame(spec)
    planted = DEFECTS[spec.key] + WARNINGS[spec.key]
    assert len(planted) + 2 < SHARED_KEY_LINES[0] - 1, "not enough clean rows to plant into"
    for line, (field, value, _) in enumerate(planted, start=2):
        frame = put(frame, line, field, value)
    if spec.key in KEYS:
        key = KEYS[spec.key]
        shared = frame.filter(pl.col("_line") == SHARED_KEY_LINES[0])[key].item()
        frame = put(frame, SHARED_KEY_LINES[1], key, shared)
        copy = frame.filter(pl.col("_line") == COPY_OF_LINE).with_columns(pl.lit(COPY_LINE, dtype=pl.Int64).alias("_line"))
        frame = pl.concat([frame, copy])
    return frame


def create_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> str:
    con.register("incoming", frame)
    con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM incoming')
    con.unregister("incoming")
    return name


@pytest.fixture(scope="module")
def gate():
    from pipelines.validate.run_sql import validate_table

    return validate_table


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gx-results")


@pytest.fixture(scope="module")
def clean(gate, con):
    return {s.key: gate(con, create_table(con, f"clean_{s.key}", clean_frame(s)), s, EXTRACT) for s in c.FILES}


@pytest.fixture(scope="module")
def defects(gate, con, results_dir):
    return {
        s.key: gate(con, create_table(con, f"bad_{s.key}", defect_frame(s)), s, EXTRACT, results_dir=results_dir)
        for s in c.FILES
    }


# --- the suites mirror the contract (plain JSON, no GX) ----------------------------


def suite_json(key: str) -> dict:
    return json.loads((EXPECTATIONS / f"{key}.json").read_text(encoding="utf-8"))


def checks(key: str, level: str | None = None) -> set[tuple[str, str]]:
    out = set()
    for e in suite_json(key)["expectations"]:
        if level is None or e["meta"]["level"] == level:
            out.add((e["meta"]["check"], e["kwargs"].get("column") or e["meta"]["column"]))
    return out


@pytest.mark.parametrize("spec", c.FILES, ids=lambda s: s.key)
def test_suite_mirrors_the_contract(spec):
    doc = suite_json(spec.key)
    assert doc["name"] == spec.key
    expectations = doc["expectations"]
    assert all(e["meta"]["level"] in ("table", "row", "warn") for e in expectations)
    assert len({e["id"] for e in expectations}) == len(expectations)
    assert {f for check, f in checks(spec.key, "table") if check == "column_exists"} == {*spec.fields, "_line"}
    not_null = {f for check, f in checks(spec.key, "row") if check == "not_null"}
    assert not_null == {col.field for col in spec.columns if not col.optional}, "optional columns may be empty"
    in_set = {e["kwargs"]["column"]: e["kwargs"]["value_set"] for e in expectations if e["meta"]["check"] == "in_set"}
    assert in_set == {col.field: list(col.values) for col in spec.columns if col.kind == c.ENUM}
    for col in spec.columns:
        if col.kind == c.ID:
            assert {("id_format", col.field), ("id_check", col.field)} <= checks(spec.key, "row")
        if col.kind == c.AMOUNT:
            assert ("negative_amount", col.field) in checks(spec.key, "row")


@pytest.mark.parametrize("spec", c.FILES, ids=lambda s: s.key)
def test_suite_loads_as_a_gx_suite(spec):
    from pipelines.validate.suites import load_gx_suite

    assert len(load_gx_suite(spec.key).expectations) == len(suite_json(spec.key)["expectations"])


@pytest.mark.parametrize("key", list(DEFECTS))
def test_every_row_check_is_planted(key):
    planted = {(reason.removeprefix("gx:"), field) for field, _, reason in DEFECTS[key]}
    if key in KEYS:
        planted.add(("duplicate_key", KEYS[key]))
    assert planted == checks(key, "row")
    assert {result for _, _, result in WARNINGS[key]} == {f"{check}:{f}" for check, f in checks(key, "warn")}


# --- clean tables pass --------------------------------------------------------------


@pytest.mark.parametrize("spec", c.FILES, ids=lambda s: s.key)
def test_clean_table_passes(clean, spec):
    v = clean[spec.key]
    assert v.success and v.table_failures == []
    assert v.row_failures.height == 0
    assert v.warnings == []
    assert all(r["success"] for r in v.results.values())
    json.dumps(v.results)  # goes into the data-quality record as is


def test_row_failures_frame_shape(clean):
    assert clean["mz_households"].row_failures.schema == pl.Schema(
        {"_line": pl.Int64, "column_name": pl.Utf8, "raw_value": pl.Utf8, "reason": pl.Utf8}
    )


# --- row-level defects are caught on the right line and column ---------------------


PLANTED = [
    pytest.param(key, line, field, value, reason, id=f"{key}:{line}:{reason}")
    for key, planted in DEFECTS.items()
    for line, (field, value, reason) in enumerate(planted, start=2)
]


@pytest.mark.parametrize("key,line,field,value,reason", PLANTED)
def test_row_defect_is_caught(defects, key, line, field, value, reason):
    spec = c.FILES_BY_KEY[key]
    found = defects[key].row_failures.filter(pl.col("_line") == line)
    expected_value = None if value is None else str(value)
    assert found.rows() == [(line, _header(spec, field), expected_value, reason)]


def _header(spec: c.FileSpec, field: str) -> str:
    return next(col.header for col in spec.columns if col.field == field)


@pytest.mark.parametrize("key", list(DEFECTS))
def test_only_planted_lines_fail(defects, key):
    planted_lines = set(range(2, 2 + len(DEFECTS[key])))
    if key in KEYS:
        planted_lines |= {*SHARED_KEY_LINES, COPY_LINE}
    v = defects[key]
    assert set(v.row_failures["_line"]) == planted_lines
    assert v.success, "row defects quarantine rows, they do not reject the delivery"


@pytest.mark.parametrize("key", list(KEYS))
def test_snapshot_key_conflicts_quarantine_all_copies_but_identical_ones_keep_the_first(defects, key):
    spec = c.FILES_BY_KEY[key]
    dup = defects[key].row_failures.filter(pl.col("reason") == "gx:duplicate_key")
    assert sorted(dup["_line"]) == [*SHARED_KEY_LINES, COPY_LINE]
    assert set(dup["column_name"]) == {_header(spec, KEYS[key])}


# --- warnings never quarantine --------------------------------------------------------


@pytest.mark.parametrize("key", list(WARNINGS))
def test_warnings_are_recorded_not_quarantined(defects, key):
    v = defects[key]
    first = 2 + len(DEFECTS[key])
    warn_lines = set(range(first, first + len(WARNINGS[key])))
    assert not warn_lines & set(v.row_failures["_line"])
    for line, (_, _, key_of_result) in enumerate(WARNINGS[key], start=first):
        result = v.results[key_of_result]
        assert result["level"] == "warn" and not result["success"] and result["unexpected_count"] >= 1
        assert any(f"lines {line}" in w or f" {line}," in w or f" {line})" in w for w in v.warnings), v.warnings


# --- table-level failures reject the delivery --------------------------------------------


def test_missing_mandatory_column_is_a_table_failure(gate, con):
    spec = c.spec("mz", "households")
    table = create_table(con, "no_category", clean_frame(spec).drop("category"))
    v = gate(con, table, spec, EXTRACT)
    assert not v.success
    assert v.table_failures == ["mz/households: column 保障类别 missing"]
    assert v.row_failures.height == 0
    assert v.results["column_exists:category"]["success"] is False


def test_a_check_that_cannot_run_rejects_the_delivery(gate, con):
    """A wrongly typed column makes GX error out: fail closed, never load unchecked rows."""
    spec = c.spec("rs", "contributions")
    frame = clean_frame(spec).with_columns(pl.col("contrib_base").cast(pl.Utf8))
    v = gate(con, create_table(con, "text_amounts", frame), spec, EXTRACT)
    assert not v.success
    assert any("could not check '缴费基数 is not negative'" in m for m in v.table_failures), v.table_failures


def test_schema_qualified_table_in_a_database_file(gate, tmp_path):
    spec = c.spec("cl", "disability")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as file_con:
        file_con.execute("CREATE SCHEMA staging")
        frame = clean_frame(spec)
        file_con.execute("CREATE TABLE staging.cl_disability AS SELECT * FROM frame")
        v = gate(file_con, "staging.cl_disability", spec, EXTRACT)
    assert v.success and v.row_failures.height == 0


def test_a_table_other_connections_cannot_see_is_refused(gate, con):
    con.execute("CREATE TEMP TABLE private_rows AS SELECT 1 AS _line")
    with pytest.raises(ValueError, match="not visible to a second connection"):
        gate(con, "private_rows", c.spec("mz", "members"), EXTRACT)


def test_the_gate_does_not_import_great_expectations(tmp_path):
    """GX's import (~10 s) was the gate's fixed cost: a delivery validates without it."""
    script = (
        "import sys, duckdb\n"
        "from tests.test_validate import clean_frame, create_table, EXTRACT\n"
        "from pipelines.sources import contract as c\n"
        "from pipelines.validate.gate import validate_staged\n"
        "from pipelines.validate.run_sql import validate_table\n"
        "spec = c.spec('mz', 'members')\n"
        "con = duckdb.connect()\n"
        "v = validate_table(con, create_table(con, 't', clean_frame(spec)), spec, EXTRACT)\n"
        "assert v.success and v.results, v\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'great_expectations'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


# --- persisted results and Data Docs -----------------------------------------------------


def test_data_docs_are_built_from_saved_results(defects, results_dir, tmp_path):
    from pipelines.validate.data_docs import build_data_docs

    saved = sorted(p.name for p in results_dir.glob("*.gx.json"))
    assert saved == sorted(f"{key}_{EXTRACT.isoformat()}.gx.json" for key in DEFECTS)
    (results_dir / "not-a-gx-result.json").write_text("{}")  # other files are ignored

    index = build_data_docs(results_dir, tmp_path / "docs")
    assert index == tmp_path / "docs" / "index.html" and index.is_file()
    pages = list((tmp_path / "docs" / "validations").rglob("*.html"))
    assert len(pages) == len(DEFECTS)
    text = index.read_text(encoding="utf-8")
    # Every planted defect is row-level: rows quarantined, no delivery rejected.
    for key in DEFECTS:
        assert re.search(rf'<tr class="validation quarantined">.*?>{key}</a>', text), key
    assert "<script" not in text and "https://" not in text


def test_saved_results_mask_id_numbers(defects, results_dir):
    bad_id = wrong_check(person_id(5))  # planted in mz_households.head_id
    text = (results_dir / f"mz_households_{EXTRACT.isoformat()}.gx.json").read_text(encoding="utf-8")
    assert bad_id not in text
    assert bad_id[:6] + "********" + bad_id[-4:] in text


def test_line_numbers_must_identify_rows(gate, con):
    """Quarantine refers to rows by _line: a repeated or empty _line rejects the delivery."""
    spec = c.spec("mz", "members")
    frame = put(put(clean_frame(spec), 3, "_line", 2), 4, "_line", None)
    v = gate(con, create_table(con, "bad_lines", frame), spec, EXTRACT)
    assert not v.success
    assert v.table_failures == [
        "mz/members: every row has a _line: not true for 1 row",
        "mz/members: _line is unique: not true for 2 rows",
    ]


@pytest.mark.parametrize("spec", c.FILES, ids=lambda s: s.key)
def test_empty_table_passes(gate, con, results_dir, spec):
    """A header-only file stages as an empty table: nothing to quarantine, nothing to reject."""
    v = gate(con, create_table(con, f"empty_{spec.key}", clean_frame(spec, rows=0)), spec, EXTRACT,
             results_dir=results_dir)
    assert v.success, v.table_failures
    assert v.row_failures.height == 0
