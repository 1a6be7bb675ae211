"""The XLSX reader in a process of its own.

The reader (calamine, under fastexcel) can abort the whole process on a hostile workbook:
an allocation it cannot make for cells far from the data, written in ways a cheap scan
does not see (`r='XFD1048576'`, cells without references, rows out of order), and an abort
is no exception Python can catch. Each process that reads deliveries therefore keeps one
worker, `python -m pipelines.ingest.xlsx_worker` (a fresh interpreter: not a fork of a
process holding DuckDB's threads, not multiprocessing, whose children import the parent's
main script first), started with the first workbook. A worker that dies fails that file in
one line; the next file gets a new one. Requests and answers are pickles on its pipes.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
from pathlib import Path

from pipelines.ingest.file_table import ReadResult, UnreadableFile

_HEAD = struct.Struct("<Q")
_lock = threading.Lock()
_worker: subprocess.Popen | None = None


def read_xlsx_apart(path: Path, sheet: int | str = 0, **options) -> ReadResult:
    """`xlsx_reader.read_xlsx` in the worker process: its result, or its exception raised here."""
    global _worker
    with _lock:  # one workbook at a time per worker
        if _worker is None or _worker.poll() is not None:
            _worker = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:  # abspath, not resolve: the reader refuses a symbolic link, it must still see one
            _send(_worker.stdin, (os.path.abspath(path), sheet, options))
            ok, value = _receive(_worker.stdout)
        except (EOFError, OSError, pickle.UnpicklingError):
            code = _worker.wait()
            _worker = None
            raise UnreadableFile(f"the XLSX reader died on this workbook (exit {code}): a damaged or hostile"
                                 " file; nothing of it was read") from None
    if ok:
        return value
    raise value


def _send(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEAD.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream):
    head = stream.read(_HEAD.size)
    if len(head) < _HEAD.size:
        raise EOFError
    (size,) = _HEAD.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


# The worker's heap: a sheet whose cells reach far asks for hundreds of GB, and granted
# lazily by the kernel that ends in the OOM killer choosing among the machine's processes
# after a minute of swapping. Bounded, the allocation fails at once and only the worker dies.
HEAP_LIMIT_ENV = "DIBAO_XLSX_READER_MEMORY_GB"


def _bound_heap() -> None:
    import resource

    gb = float(os.environ.get(HEAP_LIMIT_ENV, "") or 4)
    limit = int(gb * 2**30)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def main() -> None:
    _bound_heap()
    from pipelines.ingest.xlsx_reader import read_xlsx

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            path, sheet, options = _receive(stdin)
        except EOFError:  # the reading process is gone
            return
        try:
            answer = (True, read_xlsx(Path(path), sheet, **options))
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller, as raised
            try:
                pickle.dumps(exc)
                answer = (False, exc)
            except Exception:  # noqa: BLE001
                answer = (False, UnreadableFile(str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
        _send(stdout, answer)


if __name__ == "__main__":
    main()
