"""The migration runner applies every layer once, in order, and records it."""

from pipelines.contract import FILES
from pipelines.warehouse import migrate, migrations, warehouse


def test_migrations_apply_once_and_are_recorded(tmp_path):
    path = tmp_path / "w.duckdb"
    with warehouse(path) as con:
        names = [n for (n,) in con.execute("SELECT name FROM audit.schema_migrations ORDER BY name").fetchall()]
        assert names == sorted(m.name for m in migrations())
        assert migrate(con) == []


def test_layers_are_applied_in_folder_order():
    layers = [m.name.split("/")[0] for m in migrations()]
    assert layers == sorted(layers)
    assert layers[0].endswith("schemas")


def test_staging_tables_follow_the_contract(tmp_path):
    with warehouse(tmp_path / "w.duckdb") as con:
        for f in FILES:
            cols = [r[0] for r in con.execute(f"DESCRIBE staging.{f.key}").fetchall()]
            assert cols == ["load_id", "extract_date", "file_name", "line_number", *f.fields]
            raw = [r[0] for r in con.execute(f"DESCRIBE raw.{f.key}").fetchall()]
            assert raw == cols


def test_changed_migration_is_reapplied(tmp_path):
    root = tmp_path / "sql"
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
