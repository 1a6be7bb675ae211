"""Risk lists written by several worker processes (pipelines/publish/list_workers.py):
the same bytes as one process, progress to the last file, one line when a worker fails."""

import zipfile
from datetime import date

import pytest

from pipelines.publish.list_workers import PARALLEL_FROM, ListFilesError, list_workers, write_all
from pipelines.publish.sheets import DATE, MONEY, Column, Sheet
from pipelines.runtime.progress import set_reporter

COLUMNS = (Column("家庭编号"), Column("户主姓名"), Column("月人均收入（元）", MONEY), Column("核对日期", DATE),
           Column("风险原因", wrap=True))


def _jobs(folder, n=PARALLEL_FROM + 2):
    jobs = []
    for i in range(n):
        rows = [(f"37150200{i:02d}{r:04d}", "张三" if r % 2 else "=HYPERLINK(\"x\")", 500.5 + r,
                 date(2024, 5, 1 + r % 28), "经营收入下降；家庭成员失业" * (1 + r % 3)) for r in range(30 + i)]
        county = f"3715{i % 3:02d}"
        jobs.append((folder / county / f"{county}{i:03d}.xlsx", folder / county / f"{county}{i:03d}.csv",
                     [Sheet("风险名单", COLUMNS, rows, freeze_cols=2), Sheet("说明", COLUMNS[:1], [])]))
    return jobs


def _members(path):
    with zipfile.ZipFile(path) as z:  # docProps/core.xml holds the time of writing
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def test_workers_write_the_same_files_as_one_process(tmp_path):
    one, many = _jobs(tmp_path / "one" / "2024-05-31"), _jobs(tmp_path / "many" / "2024-05-31")
    seen = []
    set_reporter(lambda step, done, total: seen.append((done, total)))
    try:
        write_all(one, workers=1)
        write_all(many, workers=2)
    finally:
        set_reporter(None)
    for (xa, ca, _), (xb, cb, _) in zip(one, many):
        assert _members(xa) == _members(xb), xa.name
        assert ca.read_bytes() == cb.read_bytes(), ca.name
    assert seen[-1] == (len(many), len(many)) and len(seen) == 2 * (len(many) + 1)
    assert not list((tmp_path / "many" / "2024-05-31").glob(".list-jobs-*"))  # the jobs (names) are gone


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_list_says_why_in_one_line(tmp_path, workers):
    folder = tmp_path / "2024-05-31"
    jobs = _jobs(folder)
    folder.mkdir(parents=True)
    (folder / jobs[1][0].parent.name).write_text("a file where a county's folder should be")
    with pytest.raises(ListFilesError) as raised:
        write_all(jobs, workers=workers)
    message = str(raised.value)
    assert "\n" not in message and message.startswith("risk lists not all written:")
    assert jobs[1][0].parent.name in message  # the path that could not be made
    assert not list(folder.glob(".list-jobs-*"))


def test_the_number_of_workers_is_a_setting(monkeypatch):
    monkeypatch.setenv("DIBAO_LIST_WORKERS", "3")
    assert list_workers() == 3
    monkeypatch.setenv("DIBAO_LIST_WORKERS", "two")
    with pytest.raises(ListFilesError, match="DIBAO_LIST_WORKERS must be a whole number"):
        list_workers()
    monkeypatch.delenv("DIBAO_LIST_WORKERS")
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert list_workers() == 4  # the cores, at most 4
    monkeypatch.setattr("os.cpu_count", lambda: None)
    assert list_workers() == 1


def test_a_worker_whose_run_has_ended_writes_nothing(tmp_path):
    """A killed run's worker must not replace a list the next run wrote."""
    import os
    import pickle

    from pipelines.publish.list_workers import main

    jobs = _jobs(tmp_path / "2024-05-31", n=2)
    jobs_file = tmp_path / "jobs.pickle"
    jobs_file.write_bytes(pickle.dumps(jobs))
    assert main([str(jobs_file), str(os.getppid() + 1)]) == 1  # not this process's parent
    assert not any(x.exists() or c.exists() for x, c, _ in jobs)
    assert main([str(jobs_file), str(os.getppid())]) == 0
    assert all(x.exists() and c.exists() for x, c, _ in jobs)
