"""`dibao query`, `whatif`, `feedback`, `lists` and `report`: reading the warehouse
and writing what officials and caseworkers get."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from pipelines.cli.common import CliError, console_on, json_safe, warehouse_problem


def cmd_query(args) -> int:
    from pipelines.publish.query import QueryError, run_query

    try:
        columns, rows = run_query(args.warehouse, " ".join(args.sql), role=args.role, township=args.township)
    except QueryError as exc:  # a path that is no warehouse at all says so, not "not published yet"
        raise CliError(f"dibao query: {warehouse_problem(Path(args.warehouse), look_inside=False) or exc}") from None
    _print_rows(columns, rows, args.format)
    return 0


def _print_rows(columns: list[str], rows: list[tuple], fmt: str) -> None:
    import csv
    import json

    if fmt == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)
    elif fmt == "json":
        print(json.dumps([{c: json_safe(v) for c, v in zip(columns, r)} for r in rows], ensure_ascii=False,
                         default=str, indent=1, allow_nan=False))
    else:
        from rich.table import Table

        table = Table(*columns)
        for r in rows:
            table.add_row(*("" if v is None else str(v) for v in r))
        console_on(sys.stdout).print(table)


def cmd_whatif(args) -> int:
    from pipelines.warehouse import WarehouseError
    from pipelines.publish.whatif import (StandardsError, assumptions, format_whatif, parse_standards,
                                          read_standards, whatif_on)

    if not args.standard and not args.params:
        raise CliError("dibao whatif: give --standard 城市=960 --standard 农村=780 or --params FILE")
    try:
        standards = {**(read_standards(args.params) if args.params else {}),
                     **(parse_standards(args.standard) if args.standard else {})}
        frame, snapshot, today = whatif_on(args.warehouse, standards, args.as_of)
    except (StandardsError, WarehouseError) as exc:
        raise CliError(f"dibao whatif: {exc}") from None
    source = assumptions(snapshot, today, standards, args.as_of)
    if args.format == "csv":
        sys.stdout.write(frame.write_csv())
    elif args.format == "json":
        sys.stdout.write(frame.write_json() + "\n")
    else:
        print(format_whatif(frame))
    print(source, file=sys.stderr if args.format != "table" else sys.stdout)  # csv and json stay data only
    return 0


def cmd_feedback(args) -> int:
    """Load one returned list, say what became of each row, and republish the query copy."""
    from pipelines.ingest.feedback import LOADED, FeedbackError, load_feedback
    from pipelines.sources.landing import shown_name
    from pipelines.warehouse import WarehouseError, publish_query_copy

    try:
        summary = load_feedback(args.warehouse, args.file)
        if summary.get("status") == LOADED:
            publish_query_copy(args.warehouse)  # `dibao query` sees the rows now, not after the next night
    except FeedbackError as exc:
        # the rejection is recorded (audit.feedback_loads): `dibao query` shows it now too; if the
        # copy cannot be written, the one line stays the rejection's and the next night publishes it
        with contextlib.suppress(WarehouseError, OSError):
            publish_query_copy(args.warehouse)
        raise CliError(f"dibao feedback: {exc}") from None
    except WarehouseError as exc:
        raise CliError(f"dibao feedback: {exc}") from None
    except OSError as exc:
        raise CliError(f"dibao feedback: query copy not republished: {exc.strerror or exc}") from None
    _print_outcomes(summary.get("rows", []))
    print(f"{shown_name(str(args.file))}: {summary.get('status')}, {summary.get('rows_read', 0)} rows read: "
          f"{summary.get('rows_loaded', 0)} loaded, {summary.get('rows_quarantined', 0)} quarantined, "
          f"{summary.get('rows_skipped', 0)} skipped (not checked yet)"
          + (f"; {summary['message']}" if summary.get("message") else ""))
    if summary.get("outcome_file"):
        print(f"per-row outcomes: {shown_name(str(summary['outcome_file']))}")
    return 0


def _print_outcomes(rows: list[dict]) -> None:
    """Each loaded, repaired or quarantined row on its own line; the rows not checked yet as line numbers."""
    from pipelines.ingest.feedback_outcomes import SKIPPED

    for row in rows:
        if row["结果"] != SKIPPED:
            print(f"  {row['表']} 第{row['行号']}行 {row['编号'] or '-'}: {row['结果']}"
                  + (f"：{row['说明']}" if row["说明"] else ""))
    for sheet in dict.fromkeys(r["表"] for r in rows):
        lines = [str(r["行号"]) for r in rows if r["表"] == sheet and r["结果"] == SKIPPED]
        if lines:
            print(f"  {sheet} {SKIPPED}（核查结果、核查日期均为空）: 第 {', '.join(lines)} 行")


def cmd_lists(args) -> int:
    from pipelines.publish.lists import ListError, write_lists
    from pipelines.warehouse import WarehouseError

    try:
        summary = write_lists(args.warehouse, args.out, args.date)
    except (ListError, WarehouseError) as exc:
        raise CliError(f"dibao lists: {exc}") from None
    towns, kept = summary.get("files", 0), summary.get("kept", 0)
    # a township's workbook and its CSV twin; one that would read the same is left as it is
    print(f"lists {summary.get('status')} for {summary.get('as_of_date')}: {towns} townships under {args.out}, "
          f"{towns - kept} written, {kept} unchanged")
    return 0


def cmd_report(args) -> int:
    from pipelines.publish.report import write_report
    from pipelines.warehouse import WarehouseError

    try:
        path = write_report(args.warehouse, args.out)
    except WarehouseError as exc:
        raise CliError(f"dibao report: {exc}") from None
    print(path)
    return 0


def cmd_params(args) -> int:
    """Check the policy parameter files as the night reads them; print the values in force on a day."""
    from datetime import date

    from pipelines.core.parameters import ParameterError, read_parameters
    from pipelines.sources.contract import GRADES

    try:
        rows = read_parameters(args.folder)
    except (ParameterError, OSError) as exc:
        raise CliError(f"dibao params: {exc}") from None
    day = args.date or date.today()
    print(f"{args.folder}: {len({r.parameter for r in rows})} parameters, {len(rows)} dated values, all readable;"
          f" in force on {day}:")
    order = {k: i for i, k in enumerate(("城市", "农村", *GRADES))}
    for r in sorted(rows, key=lambda r: (r.parameter, order.get(r.urban_rural or r.grade, -1))):
        if r.valid_from <= day and (r.valid_to is None or day < r.valid_to):
            key = r.urban_rural or r.grade or ""
            later = [n for n in rows if (n.parameter, n.urban_rural, n.grade) == (r.parameter, r.urban_rural, r.grade)
                     and n.valid_from > day]
            nxt = f"; from {later[0].valid_from}: {later[0].amount:f}" if later else ""
            print(f"  {r.parameter:<30} {key:<4} {r.amount:>10f} {r.unit}  (from {r.valid_from}{nxt})")
    return 0
