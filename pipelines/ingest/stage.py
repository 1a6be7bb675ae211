"""Ingest: read each file of a delivery, repair what has one correct reading,
set aside what has none, and stage the result as Parquet beside the warehouse.

Staging to files (write-audit-publish) keeps the expensive reading and checking
out of the warehouse's single-writer lock: only `load` opens it for writing, and
a delivery that fails the gate has touched nothing.

A staged delivery is a folder `<work>/<load_id>/` with `manifest.json` and, per
data file, `<stem>.raw.parquet` (cells as delivered, with the lineage columns of
`raw.<file>`: load keeps this file as the raw layer, pipelines/load/raw_archive.py),
`<stem>.clean.parquet` (typed rows that load), `<stem>.repairs.parquet` and
`<stem>.quarantine.parquet`.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.sources.contract import FileSpec, files_of
from pipelines.sources.landing import READY, Delivery, data_files, read_ready_counts, sha256_file, shown_name
from pipelines.runtime.progress import report
from pipelines.runtime.timing import timed

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SCRATCH_COMPRESSION = "lz4"


@dataclass
class StagedFile:
    file_name: str
    stem: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_repaired: int = 0
    encoding: str | None = None
    sha256: str | None = None
    extra_columns: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)
    error: str | None = None  # file-level: unreadable, mandatory column missing, ...


@dataclass
class Staged:
    load_id: str
    delivery: Delivery
    folder: str
    files: list[StagedFile] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # delivery-level, from reading: reject at the gate
    validation_errors: list[str] = field(default_factory=list)  # table-level expectations that failed
    extra_files: list[str] = field(default_factory=list)
    dq: list[dict] = field(default_factory=list)  # Great Expectations results
    warnings: list[str] = field(default_factory=list)
    # The folder changed after discovery (still being written): nothing loads, nothing is
    # recorded, the next run takes it as it then is.
    changed: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return Path(self.folder)

    def quality(self) -> str:
        """One line for the task log: each file's rows, what was repaired and set aside, and
        what would stop the delivery at the gate (the run report holds the detail)."""
        parts = []
        for f in self.files:
            if f.error:
                parts.append(f"{f.file_name}: {f.error}")
            else:
                parts.append(f"{f.file_name}: {f.rows_read} rows read, {f.rows_loaded} clean"
                             f" ({f.rows_repaired} repaired), {f.rows_quarantined} set aside")
        failed = sorted({d["expectation"] for d in self.dq if not d.get("success", True)})
        if self.dq:
            parts.append(f"{len(self.dq) - len(failed)} of {len(self.dq)} checks passed"
                         + (f" (failed: {', '.join(failed)})" if failed else ""))
        if problems := self.errors + self.validation_errors:
            parts.append(f"{len(problems)} problem(s) for the gate: {problems[0]}")
        return f"{self.delivery.rel}: " + "; ".join(parts or ["no data file"])

    def part(self, stem: str, kind: str) -> Path:
        return self.path / f"{stem}.{kind}.parquet"

    def save(self) -> None:
        doc = {
            "load_id": self.load_id,
            "delivery": self.delivery.to_dict(),
            "folder": self.folder,
            "files": [vars(f) for f in self.files],
            "errors": self.errors,
            "validation_errors": self.validation_errors,
            "extra_files": self.extra_files,
            "dq": self.dq,
            "warnings": self.warnings,
            "changed": self.changed,
        }
        tmp = self.path / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(self.path / MANIFEST)

    @classmethod
    def open(cls, folder: str | Path) -> "Staged":
        doc = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
        return cls(
            load_id=doc["load_id"],
            delivery=Delivery.from_dict(doc["delivery"]),
            folder=doc["folder"],
            files=[StagedFile(**f) for f in doc["files"]],
            errors=doc["errors"],
            validation_errors=doc.get("validation_errors", []),
            extra_files=doc["extra_files"],
            dq=doc["dq"],
            warnings=doc.get("warnings", []),
            changed=doc.get("changed", []),
        )


def load_id_for(delivery: Delivery, attempt: int) -> str:
    return f"{delivery.source}-{delivery.extract_date:%Y%m%d}-{delivery.content_sha256[:10]}-{attempt}"


def stage(delivery: Delivery, work: Path, load_id: str) -> Staged:
    """Read and repair every file of one delivery into `<work>/<load_id>/`."""
    from pipelines.ingest.file_table import duplicate_contract_headers
    from pipelines.ingest.readers import UnreadableFile, read_file  # heavy-ish: keep DAG parsing light
    from pipelines.ingest.repair import MissingColumns, match_headers, repair_frame
    from pipelines.ingest.row_defects import split_row_defects

    folder = Path(work) / load_id
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    staged = Staged(load_id=load_id, delivery=delivery, folder=str(folder))
    specs = {s.name: s for s in files_of(delivery.source)}
    changed = _changed_since_discovery(delivery)
    if changed:
        return _defer(staged, changed)

    try:
        counts = read_ready_counts(delivery.path)
    except FileNotFoundError:
        return _defer(staged, f"{READY} was removed after discovery")
    except ValueError as exc:
        staged.errors.append(str(exc))
        counts = None

    todo = _files_to_read(staged, specs)
    for i, (spec, name) in enumerate(todo):
        report(f"stage {delivery.rel}", i, len(todo))
        sf = StagedFile(file_name=name, stem=spec.name, sha256=delivery.files[name])
        staged.files.append(sf)
        try:
            with timed("read", file=name) as rec:
                result = read_file(delivery.path / name)
                rec["rows"] = result.rows_read
        except UnreadableFile as exc:
            if not (delivery.path / name).exists():
                return _defer(staged, f"{name} was removed after discovery")
            sf.error = f"{name}: {exc}"
            staged.errors.append(sf.error)
            continue
        if result.sha256 is not None and result.sha256 != delivery.files[name]:
            # Rewritten (or being rewritten) since discovery hashed it: what was read may be
            # half a file, and loading it under the discovered hash would mark it done.
            return _defer(staged, f"{name} changed after discovery")
        sf.rows_read, sf.encoding = result.rows_read, result.encoding
        if twice := duplicate_contract_headers(result, spec.headers):
            sf.error = f"{name}: {twice}"
            staged.errors.append(sf.error)
            continue
        extra, missing = match_headers(result.headers, spec)
        sf.extra_columns = [_shown_name(e) for e in extra]  # a 10 MB header is no name to keep
        sf.missing_optional = [h for h in missing if spec.column(h).optional]
        rows, row_defects, bounded = split_row_defects(result.frame, set(spec.headers))
        try:
            with timed("repair", file=name, rows=sf.rows_read):
                repaired = repair_frame(rows, spec)
        except MissingColumns as exc:
            sf.error = f"{name}: {exc}"
            staged.errors.append(sf.error)
            continue
        if row_defects.height:
            repaired.quarantine = pl.concat([repaired.quarantine, row_defects]).sort("_line", maintain_order=True)
        with timed("stage_write", file=name, rows=sf.rows_read):
            _write_parts(staged, spec, name, bounded, repaired)
        sf.rows_loaded = repaired.clean.height
        sf.rows_quarantined = repaired.quarantine["_line"].n_unique() if repaired.quarantine.height else 0
        sf.rows_repaired = repaired.repairs["_line"].n_unique() if repaired.repairs.height else 0
        if counts is not None:
            _check_ready_count(staged, counts, sf)
    if counts is not None:
        delivered = {n.lower() for n in delivery.files}
        for name in sorted(n for n in counts if n not in delivery.files and n.lower() not in delivered):
            staged.errors.append(f"_READY lists {name}, which is not in the delivery")
    report(f"stage {delivery.rel}", len(todo), len(todo))
    staged.save()
    return staged


def _shown_name(name: str) -> str:
    from pipelines.ingest.row_defects import KEEP_CHARS

    return name if len(name) <= KEEP_CHARS else f"{name[:KEEP_CHARS]}…[truncated: {len(name)} characters]"


def _files_to_read(staged: Staged, specs: dict[str, FileSpec]) -> list[tuple[FileSpec, str]]:
    """(spec, file name) of each contract file delivered once; files the contract
    does not know, files delivered twice and files missing are noted on `staged`."""
    by_stem: dict[str, list[str]] = {}
    for name in sorted(staged.delivery.files):
        stem = Path(name).stem.lower()  # `Households.CSV`, as a Windows export names it, is households
        if stem in specs:
            by_stem.setdefault(stem, []).append(name)
        else:
            staged.extra_files.append(name)
    for stem, names in by_stem.items():
        if len(names) > 1:
            staged.errors.append(f"{stem} delivered twice ({', '.join(names)}): which one is meant is unknown")
    for stem in specs:
        if stem not in by_stem:
            staged.errors.append(f"file {stem} missing from the delivery")
    return [(specs[stem], names[0]) for stem, names in by_stem.items()]


def _check_ready_count(staged: Staged, counts: dict[str, int], sf: StagedFile) -> None:
    """The rows read against the count `_READY` gives for the file."""
    name = sf.file_name
    expected = counts.get(name, {n.lower(): c for n, c in counts.items()}.get(name.lower()))
    if expected is None:
        staged.errors.append(f"_READY gives no count for {name}")
    elif expected != sf.rows_read:
        staged.errors.append(f"{name}: {sf.rows_read} data rows but _READY says {expected} (truncated or padded)")


def _changed_since_discovery(delivery: Delivery) -> str | None:
    """Why the folder is not the one discovery described (its `_READY` gone or rewritten,
    data files added or removed), or None. File contents are checked as they are read."""
    try:
        ready = sha256_file(delivery.path / READY)
        names = {shown_name(p.name) for p in data_files(delivery.path)}
    except FileNotFoundError:
        return f"{READY} or the folder was removed after discovery"
    if ready != delivery.ready_sha256:
        return f"{READY} was rewritten after discovery"
    if names != set(delivery.files):
        return f"files added or removed after discovery ({', '.join(sorted(names ^ set(delivery.files)))})"
    return None


def _defer(staged: Staged, reason: str) -> Staged:
    """The folder is still being written: stage nothing of it; load records nothing."""
    log.warning("delivery %s: %s; left for the next run", staged.delivery.rel, reason)
    staged.changed.append(reason)
    staged.files, staged.errors, staged.extra_files = [], [], []
    staged.save()
    return staged


def _write_parts(staged: Staged, spec: FileSpec, file_name: str, frame: pl.DataFrame, repaired) -> None:
    """Persist the four parts of one file; raw keeps the contract's columns as text.

    The raw part has the columns of `raw.<file>` in its order, lineage included, so
    that load keeps it as it is (the raw layer's only copy) instead of rewriting it."""
    raw = frame.select(
        pl.lit(staged.load_id, pl.String).alias("load_id"),
        pl.lit(staged.delivery.extract_date, pl.Date).alias("extract_date"),
        pl.lit(file_name, pl.String).alias("file_name"),
        pl.col("_line").cast(pl.Int64).alias("line_number"),
        *[
            (pl.col(c.header) if c.header in frame.columns else pl.lit(None, pl.String)).alias(c.field)
            for c in spec.columns
        ],
    )
    # Written once, read by load (and raw kept as it is): lz4 writes about twice as fast
    # as the default zstd, for files about 1.5 times as large.
    raw.write_parquet(staged.part(spec.name, "raw"), compression=SCRATCH_COMPRESSION)
    repaired.clean.write_parquet(staged.part(spec.name, "clean"), compression=SCRATCH_COMPRESSION)
    repaired.repairs.write_parquet(staged.part(spec.name, "repairs"), compression=SCRATCH_COMPRESSION)
    repaired.quarantine.write_parquet(staged.part(spec.name, "quarantine"), compression=SCRATCH_COMPRESSION)


def discard(staged: Staged) -> None:
    shutil.rmtree(staged.path, ignore_errors=True)
