"""One run per warehouse: a second `dibao run` / `dibao rebuild` fails at once instead of
clearing the first's staged deliveries (pipelines/runtime/run_lock.py)."""

import subprocess
import sys
import time

import pytest

from pipelines.cli import main
from pipelines.runtime.run_lock import RunLocked, exclusive_run, lock_path
from pipelines.warehouse import warehouse

HOLD = """
import sys, time
from pathlib import Path
from pipelines.runtime.run_lock import exclusive_run
with exclusive_run(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture()
def held(tmp_path):
    wh = tmp_path / "w.duckdb"
    with warehouse(wh):
        pass
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(wh)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield wh, holder
    finally:
        holder.kill()
        holder.wait()


def test_a_second_run_on_the_same_warehouse_is_refused_in_one_line_naming_the_first(held, capsys):
    wh, holder = held
    with pytest.raises(RunLocked, match=f"another run is working on .*pid {holder.pid}"):
        with exclusive_run(wh):
            pass
    assert main(["rebuild", "--warehouse", str(wh)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("dibao rebuild: another run is working on")


def test_the_lock_goes_with_the_process_that_held_it(held):
    wh, holder = held
    holder.kill()
    holder.wait()
    deadline = time.monotonic() + 30
    while True:  # the kernel releases it as the process ends
        try:
            with exclusive_run(wh):
                break
        except RunLocked:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert lock_path(wh).is_file()


def test_a_reader_holding_the_live_file_is_named_with_a_writers_advice(tmp_path):
    """DuckDB's message advises opening the file read-only: right for a reader, wrong for a night."""
    import duckdb

    from pipelines.cli.nightly import _cause

    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    reader = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1],"
                               " read_only=True); print('open', flush=True); time.sleep(120)", str(path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "open"
        with pytest.raises(duckdb.IOException) as err:
            duckdb.connect(str(path))
    finally:
        reader.kill()
        reader.wait()
    said = _cause(err.value)
    assert said.startswith(f"{path} is held open by ") and f"(PID {reader.pid})" in said
    assert "read-only" not in said and "dibao query" in said


SLOW_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
os.ftruncate(fd, 0)
print("locked", flush=True)  # the instant a run started beside it looks: no line yet
time.sleep(0.3)
os.pwrite(fd, b"dibao run, pid 4242, since 2026-12-08 00:49:57", 0)
time.sleep(120)
"""


def test_a_run_started_in_the_same_instant_still_names_the_holder(tmp_path):
    """Two runs started in the same second: the refused one said "another process", since it
    read the lock file between the holder's lock and its line (the fifth audit)."""
    wh = tmp_path / "w.duckdb"
    lock = lock_path(wh)
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", SLOW_HOLDER, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLocked, match="pid 4242, since 2026-12-08 00:49:57"):
            with exclusive_run(wh):
                pass
    finally:
        holder.kill()
        holder.wait()
