"""The command-line tail of the two model diagnostics (models/diagnostics_cli.py), through
each diagnostic's own main(): bad input is one line and the exit code the scripts had."""

from __future__ import annotations

import importlib.util
import json

import pytest

from pipelines.config import MODELS

DIAGNOSTICS = ["bias_checks", "feature_bound"]


def _main(name: str):
    spec = importlib.util.spec_from_file_location(name, MODELS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.mark.parametrize("name", DIAGNOSTICS)
def test_a_truth_folder_without_households_is_exit_2_in_one_line(name, tmp_path, capsys):
    (tmp_path / "truth").mkdir()
    code = _main(name)(["--warehouse", str(tmp_path / "w.duckdb"), "--truth", str(tmp_path / "truth")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: no households.csv in ")


@pytest.mark.parametrize("name", DIAGNOSTICS)
def test_an_unreadable_warehouse_is_exit_1_in_one_line(name, small_world, tmp_path, capsys):
    garbage = tmp_path / "w.duckdb"
    garbage.write_bytes(b"not a warehouse\n" * 64)
    code = _main(name)(["--warehouse", str(garbage), "--truth", str(small_world["truth"])])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err.count("\n") == 1 and "not a valid DuckDB database file" in captured.err
    assert captured.err.startswith("error: ")


def test_the_result_prints_as_json_or_one_line_per_ranking(small_world, tmp_path, capsys):
    from models.diagnostics_cli import ranking_line, run_diagnostic

    def call(warehouse, truth):
        return {"households": 3, "way": {"roc_auc": 0.75, "precision_at_k": 0.5}, "warehouse": str(warehouse)}

    def lines(result):
        return [ranking_line("way", result["way"], 6)]

    argv = ["--warehouse", str(tmp_path / "w.duckdb"), "--truth", str(small_world["truth"])]
    assert run_diagnostic("d", call, lines, argv + ["--json"]) == 0
    assert json.loads(capsys.readouterr().out) == call(tmp_path / "w.duckdb", None)
    assert run_diagnostic("d", call, lines, argv) == 0
    assert capsys.readouterr().out == "way    ROC AUC 0.750  precision@k 0.500\n"
