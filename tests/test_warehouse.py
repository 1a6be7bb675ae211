"""The migration runner applies the migrations of warehouse/lifecycle.toml once, in
order, and records them (under their new names when a file was renamed); the model
runner rebuilds a model layer in one transaction."""

import pytest

from pipelines.config import WAREHOUSE_SQL
from pipelines.sources.contract import FILES
from pipelines.warehouse import (WarehouseError, build_models, lifecycle, macro_reads, migrate, migrations, model_files,
                                 models, warehouse)


def test_migrations_apply_once_and_are_recorded(tmp_path):
    path = tmp_path / "w.duckdb"
    with warehouse(path) as con:
        names = [n for (n,) in con.execute("SELECT name FROM audit.schema_migrations ORDER BY name").fetchall()]
        assert names == sorted(m.name for m in migrations())
        assert migrate(con) == []


def test_schemas_come_first_and_every_file_has_one_lifecycle():
    names = [m.name for m in migrations()]
    assert names[:2] == ["schemas/macros.sql", "schemas/schemas.sql"]
    layers = {layer: [f.relative_to(WAREHOUSE_SQL).as_posix() for f in model_files(layer)]
              for layer in lifecycle()["models"]}
    assert list(layers) == ["core", "mart"]
    placed = names + [f for files in layers.values() for f in files]
    files = sorted(f.relative_to(WAREHOUSE_SQL).as_posix() for f in WAREHOUSE_SQL.glob("*/*.sql")
                   if f.parent.name != "queries")
    assert sorted(placed) == files  # each file exactly once: a migration or a model of one layer
    for name in placed:  # each file in the folder of the schema its objects live in
        folder, file = name.split("/")
        prefixes = (f"{folder}_", "stg_") if folder == "staging" else (f"{folder}_",)
        assert folder == "schemas" or file.startswith(prefixes) or file.endswith("_macros.sql"), name


def _root(tmp_path, migrations_=("00_x/*.sql",), renamed=None):
    root = tmp_path / "sql"
    root.mkdir(parents=True, exist_ok=True)
    text = "migrations = [" + ", ".join(f'"{p}"' for p in migrations_) + "]\n[renamed]\n"
    text += "".join(f'"{old}" = "{new}"\n' for old, new in (renamed or {}).items())
    (root / "lifecycle.toml").write_text(text)
    return root


def test_staging_tables_follow_the_contract(tmp_path):
    with warehouse(tmp_path / "w.duckdb") as con:
        for f in FILES:
            cols = [r[0] for r in con.execute(f"DESCRIBE staging.{f.key}").fetchall()]
            assert cols == ["load_id", "extract_date", "file_name", "line_number", *f.fields]
            raw = [r[0] for r in con.execute(f"DESCRIBE raw.{f.key}").fetchall()]
            assert raw == cols


def test_changed_migration_is_reapplied(tmp_path):
    root = _root(tmp_path)
    (root / "00_x").mkdir(parents=True)
    f = root / "00_x" / "v.sql"
    f.write_text("CREATE OR REPLACE VIEW v AS SELECT 1 AS a;")
    with warehouse(tmp_path / "w.duckdb") as con:
        assert migrate(con, root) == ["00_x/v.sql"]
        assert migrate(con, root) == []
        f.write_text("CREATE OR REPLACE VIEW v AS SELECT 2 AS a;")
        assert migrate(con, root) == ["00_x/v.sql"]
        assert con.execute("SELECT a FROM v").fetchall() == [(2,)]


def test_mask_id_macro(tmp_path):
    with warehouse(tmp_path / "w.duckdb") as con:
        assert con.execute("SELECT mask_id('37150219900101123X')").fetchall() == [("371502********123X",)]


def test_model_layers_are_not_migrations(tmp_path):
    models_ = {f.relative_to(WAREHOUSE_SQL).as_posix() for layer in ("core", "mart") for f in model_files(layer)}
    assert models_ and not models_ & {m.name for m in migrations()}
    with warehouse(tmp_path / "w.duckdb") as con:
        applied = {n for (n,) in con.execute("SELECT name FROM audit.schema_migrations").fetchall()}
        assert applied and not applied & models_


def _layer(root, files):
    layer = root / "core"
    layer.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (layer / name).write_text(sql)
    return layer


def test_models_build_after_what_they_read_then_in_name_order(tmp_path):
    layer = _layer(tmp_path, {
        "core_a.sql": "CREATE OR REPLACE TABLE core.a AS SELECT 1 AS x;",
        "core_b_asof.sql": "CREATE OR REPLACE MACRO core.b_asof(d) AS TABLE SELECT * FROM core.c WHERE x <= d;",
        "core_c.sql": "-- reads core.a\nCREATE OR REPLACE TABLE core.c AS SELECT x FROM core.a UNION ALL SELECT 2;",
        "core_d.sql": "CREATE OR REPLACE VIEW core.d AS SELECT * FROM core.b_asof(1);",
    })
    assert [m.name for m in models(layer)] == ["core.a", "core.c", "core.b_asof", "core.d"]
    with warehouse(tmp_path / "w.duckdb") as con:
        runs = build_models(con, layer)
        assert [(r["name"], r["kind"], r["rows"]) for r in runs] == [
            ("core.a", "table", 1), ("core.c", "table", 2), ("core.b_asof", "macro", None), ("core.d", "view", None)]
        recorded = con.execute("SELECT name, rows, status FROM audit.model_runs ORDER BY built_at, name").fetchall()
        assert sorted(recorded) == sorted((r["name"], r["rows"], "built") for r in runs)


def test_a_failing_model_rolls_the_layer_back(tmp_path):
    layer = _layer(tmp_path, {"core_a.sql": "CREATE OR REPLACE TABLE core.a AS SELECT 1 AS x;"})
    with warehouse(tmp_path / "w.duckdb") as con:
        build_models(con, layer)
        (layer / "core_a.sql").write_text("CREATE OR REPLACE TABLE core.a AS SELECT 2 AS x;")
        (layer / "core_b.sql").write_text("CREATE OR REPLACE TABLE core.b AS SELECT * FROM core.missing;")
        with pytest.raises(WarehouseError, match="core.b failed"):
            build_models(con, layer)
        assert con.execute("SELECT x FROM core.a").fetchall() == [(1,)]  # yesterday's build stays
        assert con.execute("SELECT name FROM audit.model_runs WHERE status = 'failed'").fetchall() == [("core.b",)]


def test_a_file_must_create_the_object_it_is_named_after(tmp_path):
    layer = _layer(tmp_path, {"core_a.sql": "CREATE OR REPLACE TABLE core.other AS SELECT 1 AS x;"})
    with warehouse(tmp_path / "w.duckdb") as con, pytest.raises(WarehouseError, match="did not create core.a"):
        build_models(con, layer)


class _Counting:
    """A connection whose statements are counted by what they list (the rest passed through)."""

    def __init__(self, con):
        self.con, self.listings = con, 0

    def execute(self, sql, *args):
        self.listings += "duckdb_functions()" in sql
        return self.con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.con, name)


def test_a_build_lists_the_macros_once_not_once_per_model(tmp_path):
    """The catalog lists duckdb_functions() (every built-in: ~13 ms) once per build whose
    macros already exist, and again only for a macro the last listing lacked."""
    layer = _layer(tmp_path, {f"core_m{i}.sql": f"CREATE OR REPLACE MACRO core.m{i}(x) AS x + {i};"
                              for i in range(4)} | {"core_t.sql": "CREATE OR REPLACE TABLE core.t AS SELECT 1 AS x;"})
    with warehouse(tmp_path / "w.duckdb") as con:
        first = _Counting(con)
        build_models(first, layer)  # a new warehouse: each new macro is looked for again
        again = _Counting(con)
        runs = build_models(again, layer)
        assert [r["kind"] for r in runs] == ["macro"] * 4 + ["table"]
        assert (first.listings, again.listings) == (4, 1)
        (layer / "core_m9.sql").write_text("CREATE OR REPLACE MACRO core.other(x) AS x;")
        with pytest.raises(WarehouseError, match="did not create core.m9"):
            build_models(con, layer)


def test_models_that_read_each_other_are_refused(tmp_path):
    layer = _layer(tmp_path, {
        "core_a.sql": "CREATE OR REPLACE VIEW core.a AS SELECT * FROM core.b;",
        "core_b.sql": "CREATE OR REPLACE VIEW core.b AS SELECT * FROM core.a;",
    })
    with pytest.raises(WarehouseError, match="cycle"):
        models(layer)


def test_duckdb_memory_limit_comes_from_the_environment(tmp_path, monkeypatch):
    from pipelines.config import DUCKDB_MEMORY_LIMIT_DEFAULT
    from pipelines.warehouse import WarehouseError, open_warehouse

    def limit() -> str:
        con = open_warehouse(tmp_path / "w.duckdb")
        try:
            return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        finally:
            con.close()

    monkeypatch.delenv("DIBAO_DUCKDB_MEMORY_LIMIT", raising=False)
    default = limit()
    assert DUCKDB_MEMORY_LIMIT_DEFAULT == "4GB" and default.startswith("3.7") and "GiB" in default  # 4e9 bytes
    monkeypatch.setenv("DIBAO_DUCKDB_MEMORY_LIMIT", "512MiB")
    assert limit() == "512.0 MiB"
    monkeypatch.setenv("DIBAO_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(WarehouseError, match="DIBAO_DUCKDB_MEMORY_LIMIT must be an amount like 4GB"):
        limit()


def test_a_warehouse_of_the_numbered_layout_keeps_its_migration_records(tmp_path):
    renamed = lifecycle()["renamed"]
    added_since = {"core/history_macros.sql", "staging/staging_feedback_candidates.sql",  # after the numbered layout
                   "audit/audit_published_files.sql", "audit/audit_raw_files.sql", "audit/audit_layer_builds.sql",
                   "audit/audit_score_runs.sql", "audit/audit_list_checks.sql"}
    assert set(renamed.values()) == {m.name for m in migrations()} - added_since
    with warehouse(tmp_path / "w.duckdb") as con:
        before = con.execute("SELECT name, checksum, applied_at FROM audit.schema_migrations ORDER BY name").fetchall()
        for old, new in renamed.items():  # the records as the numbered layout made them
            con.execute("UPDATE audit.schema_migrations SET name = ? WHERE name = ?", [old, new])
        old_names = {n for (n,) in con.execute("SELECT name FROM audit.schema_migrations").fetchall()}
        assert "37_outputs/audit_list_exports.sql" in old_names
        assert migrate(con) == []  # nothing re-applied
        after = con.execute("SELECT name, checksum, applied_at FROM audit.schema_migrations ORDER BY name").fetchall()
        assert after == before


def test_a_record_under_both_names_keeps_the_new_one(tmp_path):
    root = _root(tmp_path, renamed={"00_x/v.sql": "x/v.sql"}, migrations_=("x/*.sql",))
    (root / "x").mkdir()
    (root / "x" / "v.sql").write_text("CREATE OR REPLACE VIEW v AS SELECT 1 AS a;")
    with warehouse(tmp_path / "w.duckdb") as con:
        assert migrate(con, root) == ["x/v.sql"]
        con.execute("INSERT INTO audit.schema_migrations VALUES ('00_x/v.sql', 'old', current_timestamp)")
        assert migrate(con, root) == []
        assert con.execute("SELECT name FROM audit.schema_migrations WHERE name LIKE '%v.sql'").fetchall() == [
            ("x/v.sql",)]


def test_a_model_calling_a_macro_is_built_after_what_the_macro_reads():
    reads = macro_reads()
    assert {"core.snapshots", "restricted.person_identity"} <= reads["core.history_intervals"]
    order = [m.name for m in models("core")]
    for caller in ("core.household_history", "core.member_history", "core.certificate_history"):
        assert order.index(caller) > max(order.index("core.snapshots"), order.index("restricted.person_identity"))
    for spells in ("core.employment_spells", "core.unemployment_spells"):
        assert order.index(spells) > order.index("core.registrations")


def test_the_reason_code_table_of_an_older_warehouse_takes_notes_and_keeps_its_rows(tmp_path):
    """The table was made with CHECK (kind IN ('rule', 'model')) before the note kind
    existed; the changed migration rebuilds it with its rows."""
    import duckdb

    with warehouse(tmp_path / "w.duckdb") as con:
        con.execute("DROP TABLE mart.reason_codes")
        con.execute("CREATE TABLE mart.reason_codes (code VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL"
                    " CHECK (kind IN ('rule', 'model')), text_zh VARCHAR NOT NULL, text_en VARCHAR NOT NULL,"
                    " features VARCHAR[] NOT NULL, condition VARCHAR)")
        con.execute("INSERT INTO mart.reason_codes VALUES ('M_WAGES', 'model', '工资', 'wages', ['w'], NULL)")
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO mart.reason_codes VALUES ('N_X', 'note', '无', 'none', [], NULL)")
        con.execute("UPDATE audit.schema_migrations SET checksum = 'older' WHERE name = 'mart/mart_reason_codes.sql'")
        assert migrate(con) == ["mart/mart_reason_codes.sql"]
        con.execute("INSERT INTO mart.reason_codes VALUES ('N_X', 'note', '无', 'none', [], NULL)")
        assert con.execute("SELECT code, kind FROM mart.reason_codes ORDER BY 1").fetchall() == [
            ("M_WAGES", "model"), ("N_X", "note")]
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO mart.reason_codes VALUES ('Y', 'other', '无', 'none', [], NULL)")
        assert migrate(con) == []


def test_someone_elses_duckdb_file_is_not_made_a_warehouse(tmp_path):
    """Every writer opens the warehouse here (the DAG's tasks too, not only the CLI)."""
    import duckdb

    path = tmp_path / "other.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS a")
    with pytest.raises(WarehouseError, match="not a dibao warehouse"):
        warehouse(path).__enter__()
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall() == [("main", "t")]
    with warehouse(tmp_path / "new.duckdb") as con:  # a new file, or one made by the runner, opens
        assert migrate(con) == []
    with warehouse(tmp_path / "new.duckdb") as con:
        assert migrate(con) == []
