"""`dibao query`: read-only, one statement, one-line errors."""

import json

import pytest

from pipelines.cli import main
from pipelines.publish.query import QueryError, run_query
from pipelines.warehouse import publish_query_copy, warehouse


@pytest.fixture
def wh(tmp_path):
    path = tmp_path / "w.duckdb"
    with warehouse(path) as con:
        con.execute("CREATE TABLE mart.t AS SELECT * FROM (VALUES (1, '东昌府区'), (2, '临清市')) v(n, county)")
    publish_query_copy(path)  # readers only ever read the published copy
    return path


def test_select_returns_rows(wh):
    cols, rows = run_query(wh, "SELECT n, county FROM mart.t ORDER BY n")
    assert cols == ["n", "county"]
    assert rows == [(1, "东昌府区"), (2, "临清市")]


@pytest.mark.parametrize("sql", [
    "DELETE FROM mart.t",
    "INSERT INTO mart.t VALUES (3, 'x')",
    "DROP TABLE mart.t",
    "CREATE TABLE mart.u (a INT)",
    "ATTACH 'other.duckdb' AS o",
    "COPY mart.t TO 'x.csv'",
    "SELECT 1; DELETE FROM mart.t",
])
def test_writes_are_refused(wh, sql):
    with pytest.raises(QueryError):
        run_query(wh, sql)
    assert run_query(wh, "SELECT count(*) FROM mart.t")[1] == [(2,)]


def test_files_outside_the_warehouse_cannot_be_read(wh, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(QueryError):
        run_query(wh, f"SELECT * FROM read_csv('{secret}')")


def test_cli_formats_and_errors(wh, capsys):
    assert main(["query", "--warehouse", str(wh), "--format", "json", "SELECT n FROM mart.t ORDER BY n"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 1}, {"n": 2}]
    assert main(["query", "--warehouse", str(wh), "--format", "csv", "SELECT county FROM mart.t ORDER BY n"]) == 0
    assert capsys.readouterr().out.splitlines() == ["county", "东昌府区", "临清市"]
    assert main(["query", "--warehouse", str(wh), "SELEC nonsense"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "malformed SQL" in err
    assert main(["query", "--warehouse", str(wh / "missing"), "SELECT 1"]) == 2
    capsys.readouterr()
    # typed without quotes, the words are one statement, options after it included
    assert main(["query", "--warehouse", str(wh), "SELECT", "count(*)", "AS", "n", "FROM", "mart.t", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "2"]


def test_queries_read_the_published_copy_while_a_writer_holds_the_file(wh):
    """A writer (the nightly run) holds the live file; officials' queries still answer."""
    import duckdb

    writer = duckdb.connect(str(wh))
    try:
        writer.execute("INSERT INTO mart.t VALUES (3, '莘县')")
        cols, rows = run_query(wh, "SELECT count(*) AS n FROM mart.t")
        assert rows == [(2,)]  # the last published state, not the half-written one
    finally:
        writer.close()
    publish_query_copy(wh)
    assert run_query(wh, "SELECT count(*) AS n FROM mart.t")[1] == [(3,)]


def test_a_warehouse_never_published_is_not_read(tmp_path, capsys):
    """Before the first publish the live file is half-built or locked: one line, exit 2."""
    path = tmp_path / "w.duckdb"
    with warehouse(path) as con:
        con.execute("CREATE TABLE mart.t AS SELECT 1 AS n")
    for role in ("admin", "analyst"):
        with pytest.raises(QueryError, match="no warehouse published yet"):
            run_query(path, "SELECT count(*) FROM mart.t", role=role)
    assert main(["query", "--warehouse", str(path), "SELECT count(*) FROM mart.t"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no warehouse published yet" in err


def test_a_literal_id_in_a_query_is_masked_in_the_access_log(wh):
    """outputs.md: at most first 6 + last 4 of a 身份证号 outside the restricted schemas."""
    import hashlib

    from pipelines.publish.access_log import log_path, read_entries

    raw = "37150219900101123X"
    sql = f"SELECT n FROM mart.t WHERE county <> '{raw}' OR county = '{raw.lower()}'"
    assert run_query(wh, sql)[1] == [(1,), (2,)]  # the query itself runs as typed
    with pytest.raises(QueryError):
        run_query(wh, f"SELECT '{raw}'::INTEGER FROM mart.t")  # DuckDB's message echoes the value
    entries, _ = read_entries(log_path(wh))
    text = log_path(wh).read_text(encoding="utf-8")
    assert raw not in text and raw.lower() not in text and raw[:17] not in text
    masked = "371502********123X"
    assert entries[-2]["sql_text"] == f"SELECT n FROM mart.t WHERE county <> '{masked}' OR county = '{masked[:-1]}x'"
    assert entries[-2]["sql_sha256"] == hashlib.sha256(entries[-2]["sql_text"].encode()).hexdigest()
    # 64-hex keys (person_key) and longer digit runs are not identities
    key = "1" * 18 + "ab" * 23
    run_query(wh, f"SELECT '{key}' AS k, 1234567890123456789012 AS big")
    assert read_entries(log_path(wh))[0][-1]["sql_text"] == f"SELECT '{key}' AS k, 1234567890123456789012 AS big"


def test_a_certificate_number_an_old_id_or_an_id_touching_letters_is_masked_in_the_access_log(wh):
    """A 残疾人证号 is a 身份证号 and two digits; a letter next to an ID does not hide it."""
    from pipelines.publish.access_log import log_path

    cert, old, glued = "37150219820707309X41", "371502820707309", "371502197001011016"
    with pytest.raises(QueryError):  # DuckDB's message echoes the value too
        run_query(wh, f"SELECT '{cert}'::INTEGER, '{old}', 'z{glued}z' FROM mart.t")
    text = log_path(wh).read_text(encoding="utf-8")
    assert "371502********309X41" in text and "371502*****7309" in text and "z371502********1016z" in text
    for value in (cert, old, glued, cert[:18], glued[:17]):
        assert value not in text


def test_an_id_typed_in_full_width_digits_is_masked_in_the_access_log(wh):
    """sources.md repairs full-width digits into a 身份证号: typed so in a query it is one too."""
    from pipelines.publish.access_log import log_path

    full = "３７１５０２１９７００１０１１０１６"
    run_query(wh, f"SELECT '{full}' AS id")
    text = log_path(wh).read_text(encoding="utf-8")
    assert "371502********1016" in text and full not in text and "371502197001011016" not in text


def test_json_output_is_json_whatever_the_numbers(wh, capsys):
    """NaN and ±Infinity have no JSON spelling: null, nested values too."""
    sql = "SELECT 1/0 AS inf, 'nan'::DOUBLE AS nan, [1.5, '-inf'::DOUBLE] AS list, 2.5::DOUBLE AS x"
    assert main(["query", "--warehouse", str(wh), "--format", "json", sql]) == 0
    out = capsys.readouterr().out
    assert json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} is not JSON")) == [
        {"inf": None, "nan": None, "list": [1.5, None], "x": 2.5}]


def test_a_path_that_is_no_warehouse_says_so(tmp_path, capsys):
    """A text file, a folder, or someone else's DuckDB database: one line naming it, and a
    foreign database is left as it was (no tables added). A query never opens the live
    file (a night may be writing it), so of a foreign database it says only that nothing
    is published there."""
    import duckdb

    text, folder, foreign = tmp_path / "notes.txt", tmp_path / "folder", tmp_path / "other.duckdb"
    text.write_text("hello\n")
    folder.mkdir()
    with duckdb.connect(str(foreign)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS a")
    for path, said, query_said in ((text, "is not a DuckDB database file", "is not a DuckDB database file"),
                                   (folder, "is a folder", "is a folder"),
                                   (foreign, "not a dibao warehouse", "no warehouse published yet")):
        assert main(["query", "--warehouse", str(path), "SELECT 1"]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and query_said in err, err
        assert main(["run", "--landing", str(tmp_path), "--warehouse", str(path), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and said in err, err
    with duckdb.connect(str(foreign), read_only=True) as con:
        assert con.execute("SELECT table_name FROM duckdb_tables()").fetchall() == [("t",)]
    assert main(["run", "--landing", str(tmp_path), "--warehouse", str(tmp_path / "w.duckdb"), "--out", str(text)]) == 2
    assert "is a file, expected a folder" in capsys.readouterr().err


def test_a_reader_that_stops_early_ends_the_query_quietly(wh):
    """`dibao query ... | head -1`: the shell's exit status for SIGPIPE, no error line, no error file."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    sql = "SELECT range AS n FROM range(200000)"  # more than a pipe holds: the writer meets the closed end
    done = subprocess.run(f'"{sys.executable}" -m pipelines.cli query --warehouse "{wh}" --format csv "{sql}" | head -1;'
                          ' echo "rc=${PIPESTATUS[0]}" >&2', shell=True, executable="/bin/bash", env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.stdout == "n\n"
    assert done.stderr.strip() == "rc=141", done.stderr


def test_an_unexpected_error_leaves_its_details_to_the_owner_only(tmp_path, monkeypatch, capsys):
    import stat

    from pipelines import cli, config

    monkeypatch.setattr(config, "VAR", tmp_path / "var")
    monkeypatch.setattr(cli, "build_parser", lambda: _Failing())
    assert main(["query", "SELECT 1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dibao: RuntimeError: 371502199001011234 broke") and "details in" in err
    (path,) = (tmp_path / "var" / "logs").glob("error-*.txt")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


class _Failing:
    def parse_args(self, argv):
        raise RuntimeError("371502199001011234 broke")
