"""`dibao query`, `whatif`, `feedback`, `lists` and `report`: reading the warehouse
and writing what officials and caseworkers get."""

from __future__ import annotations

import sys

from pipelines.cli.common import CliError, console_on


def cmd_query(args) -> int:
    from pipelines.publish.query import QueryError, run_query

    try:
        columns, rows = run_query(args.warehouse, args.sql, role=args.role, township=args.township)
    except QueryError as exc:
        raise CliError(f"dibao query: {exc}") from None
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
        print(json.dumps([dict(zip(columns, r)) for r in rows], ensure_ascii=False, default=str, indent=1))
    else:
        from rich.table import Table

        table = Table(*columns)
        for r in rows:
            table.add_row(*("" if v is None else str(v) for v in r))
        console_on(sys.stdout).print(table)


def cmd_whatif(args) -> int:
    from pipelines.warehouse import WarehouseError
    from pipelines.publish.whatif import StandardsError, format_whatif, parse_standards, read_standards, whatif

    if not args.standard and not args.params:
        raise CliError("dibao whatif: give --standard 城市=960 --standard 农村=780 or --params FILE")
    try:
        standards = {**(read_standards(args.params) if args.params else {}),
                     **(parse_standards(args.standard) if args.standard else {})}
        frame = whatif(args.warehouse, standards, args.as_of)
    except (StandardsError, WarehouseError) as exc:
        raise CliError(f"dibao whatif: {exc}") from None
    if args.format == "csv":
        sys.stdout.write(frame.write_csv())
    elif args.format == "json":
        sys.stdout.write(frame.write_json() + "\n")
    else:
        print(format_whatif(frame))
    return 0


def cmd_feedback(args) -> int:
    from pipelines.ingest.feedback import FeedbackError, load_feedback
    from pipelines.warehouse import WarehouseError

    try:
        summary = load_feedback(args.warehouse, args.file)
    except (FeedbackError, WarehouseError) as exc:
        raise CliError(f"dibao feedback: {exc}") from None
    print(f"{args.file}: {summary.get('status')}, {summary.get('rows_loaded', 0)} rows loaded, "
          f"{summary.get('rows_quarantined', 0)} quarantined")
    return 0


def cmd_lists(args) -> int:
    from pipelines.publish.lists import ListError, write_lists
    from pipelines.warehouse import WarehouseError

    try:
        summary = write_lists(args.warehouse, args.out, args.date)
    except (ListError, WarehouseError) as exc:
        raise CliError(f"dibao lists: {exc}") from None
    print(f"lists {summary.get('status')} for {summary.get('as_of_date')}: {summary.get('files', 0)} files under {args.out}")
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
