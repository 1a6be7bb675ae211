"""Discovery reads only new or changed landing files (pipelines/sources/digests.py), and
still sees every change: a same-size rewrite with its mtime set back is hashed again."""

from __future__ import annotations

import hashlib
import os

import pytest

from pipelines.sources import landing as landing_module
from pipelines.sources.landing import discover


@pytest.fixture
def world(tmp_path):
    folder = tmp_path / "landing" / "mz" / "2024-01-31"
    folder.mkdir(parents=True)
    (folder / "households.csv").write_text("家庭编号\nA001\n", encoding="utf-8")
    (folder / "members.csv").write_text("身份证号\n110101199001011234\n", encoding="utf-8")
    (folder / "_READY").write_text("")
    return tmp_path / "landing", folder, tmp_path / "work" / "digests.json"


@pytest.fixture
def reads(monkeypatch):
    """How many files sha256_file hashed (one hash object per file read)."""
    made, sha256 = [], hashlib.sha256

    def counting(*args):
        made.append(1)
        return sha256(*args)

    monkeypatch.setattr(landing_module.hashlib, "sha256", counting)
    return made


def _content(landing, digests=None):
    found, _ = discover(landing, digests=digests)
    return found[0].content_sha256


def test_a_second_discovery_reads_only_the_ready_marker(world, reads):
    landing, _, digests = world
    first = _content(landing, digests)
    hashed_first = len(reads)
    again = _content(landing, digests)
    assert again == first
    # the first pass hashed both data files and _READY (plus the content hash over them);
    # the second only _READY and the content hash
    assert len(reads) - hashed_first == hashed_first - 2


def test_a_same_size_rewrite_with_its_mtime_set_back_is_hashed_again(world):
    landing, folder, digests = world
    before = _content(landing, digests)
    members = folder / "members.csv"
    st = members.stat()
    members.write_text("身份证号\n110101199001015678\n", encoding="utf-8")  # same size, other id
    os.utime(members, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert members.stat().st_size == st.st_size and members.stat().st_mtime_ns == st.st_mtime_ns
    after = _content(landing, digests)
    assert after != before
    assert after == _content(landing)  # what a discovery without the cache says


def test_an_unreadable_cache_is_ignored_and_replaced(world, caplog):
    landing, _, digests = world
    truth = _content(landing)
    digests.parent.mkdir(parents=True)
    digests.write_text('{"version": 1, "files": {"x": [1, 2]', encoding="utf-8")  # cut short
    assert _content(landing, digests) == truth
    assert "unreadable" in caplog.text
    assert _content(landing, digests) == truth and '"version": 1' in digests.read_text(encoding="utf-8")


def test_a_removed_folder_drops_out_of_the_cache(world):
    landing, folder, digests = world
    _content(landing, digests)
    assert str(folder / "members.csv") in digests.read_text(encoding="utf-8")
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()
    assert discover(landing, digests=digests)[0] == []
    assert "members.csv" not in digests.read_text(encoding="utf-8")
