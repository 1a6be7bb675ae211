"""The house rules of issue #16, checked on the tree itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "pipelines").rglob("*.py")) + sorted((ROOT / "dags").glob("*.py"))
SQL_START = re.compile(r"^\s*\(?\s*(SELECT|INSERT|CREATE|UPDATE|DELETE|WITH|COPY|ALTER|DROP|MERGE)\b", re.I)
SQL_WORDS = re.compile(r"\b(FROM|INTO|TABLE|VIEW|SET|WHERE|AS)\b", re.I)


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _name(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def _string_text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def long_sql_strings(path: Path, limit: int = 3) -> list[str]:
    """SQL statements written in a Python string over `limit` source lines."""
    found, inner, tree = [], set(), _tree(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            inner.update(id(v) for v in node.values)
    for node in ast.walk(tree):
        if id(node) in inner:
            continue
        text = _string_text(node)
        if text is None or not SQL_START.match(text) or not SQL_WORDS.search(text):
            continue
        lines = node.end_lineno - node.lineno + 1
        if lines > limit:
            found.append(f"{_name(path)}:{node.lineno} ({lines} lines)")
    return found


def test_no_module_over_400_lines():
    over = [f"{_name(p)} ({n})" for p in SOURCES if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400]
    assert not over, f"modules over 400 lines: {over}"


def test_no_function_over_80_lines():
    over = []
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if (n := node.end_lineno - node.lineno + 1) > 80:
                    over.append(f"{_name(path)}:{node.name} ({n})")
    assert not over, f"functions over 80 lines: {over}"


def test_no_sql_statement_over_3_lines_in_python():
    found = [hit for path in SOURCES for hit in long_sql_strings(path)]
    assert not found, f"SQL longer than 3 lines in Python strings (move to warehouse/queries/): {found}"


def test_the_checker_sees_a_long_statement(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('Q = """\nSELECT a\nFROM t\nWHERE b = 1\n"""\nS = "SELECT 1 FROM t"\n')
    assert long_sql_strings(sample) == [f"{sample.as_posix()}:1 (5 lines)"]


@pytest.mark.parametrize("package", ["sources", "ingest", "validate", "load", "core", "score", "publish", "runtime"])
def test_each_stage_is_a_package_with_a_docstring(package):
    init = ROOT / "pipelines" / package / "__init__.py"
    assert init.is_file(), f"pipelines/{package}/ is not a package"
    assert ast.get_docstring(_tree(init)), f"pipelines/{package}/__init__.py says nothing about what it holds"


def _stage_packages() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "pipelines").glob("*/__init__.py"))


def _sql_folders() -> list[str]:
    return sorted(p.name for p in (ROOT / "warehouse").iterdir() if p.is_dir())


def test_the_architecture_page_and_the_readme_name_every_package_and_sql_folder():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for package in _stage_packages():
        assert f"`pipelines/{package}/`" in page or f"`{package}/`" in page, f"docs/architecture.md omits {package}/"
        assert f"`{package}/`" in readme, f"README's folder table omits pipelines/{package}/"
    for folder in _sql_folders():
        assert f"`{folder}/`" in page, f"docs/architecture.md omits warehouse/{folder}/"
        assert f"`{folder}/`" in readme, f"README's folder table omits warehouse/{folder}/"
