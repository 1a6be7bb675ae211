"""The checks a returned row passes besides the sources' cell rules (pipelines.ingest.feedback).

Each returns quarantine rows in the readers' schema (line, column_name,
raw_value, reason), for rows that would otherwise load as some household's
result:

- `lossy_keys`: a 家庭编号 a spreadsheet turned into a number (`3715021010010010.0`,
  `3.71502101001001E+15`): past 15 digits its last digits may be another household's;
- `listing_problems`: the household or person was never listed, the check date is in
  the future, or no list showing it was issued before the check;
- `identity_problems`: the row's 户主身份证号（脱敏）, else its 户主姓名, is not the
  listed household's: its 家庭编号 was changed (a spreadsheet rounds a 16-digit number
  it converted to the 15 digits it keeps, which is another household's number);
- `conflicting_results`: one household or person, one check date, two results in one file;
- `hidden_answers`: a sheet whose answers cannot be read (a key column renamed or deleted, a
  title row above the header) rejects its file: passed over, its answers were lost unseen.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.ingest.readers import LINE
from pipelines.sql import query

HEAD_NAME, HEAD_MASKED_ID = "户主姓名", "户主身份证号（脱敏）"
SHOWN = (HEAD_NAME, HEAD_MASKED_ID)  # read to check the row's household
# a number's notation, as a spreadsheet writes it back: 3715021010010010.0, 3.71502101001001E+15
_NUMBER_NOTATION = r"^\s*[0-9]+(\.[0-9]+)?([eE][+]?[0-9]+|\.0+)\s*$"


def _rows(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.col(LINE), pl.col("column_name").cast(pl.String), pl.col("raw_value").cast(pl.String),
                        pl.col("reason").cast(pl.String))


def lossy_keys(frame: pl.DataFrame, key: str, column: str) -> pl.DataFrame:
    """Rows whose key (`column`, the header as returned) is written as a number."""
    raw = pl.col(column).cast(pl.String)
    return _rows(frame.filter(raw.str.contains(_NUMBER_NOTATION).fill_null(False)).select(
        pl.col(LINE), pl.lit(key).alias("column_name"), raw.alias("raw_value"),
        pl.lit("id_lossy_float").alias("reason")))


def listing_problems(matched: pl.DataFrame, frame: pl.DataFrame, names: dict[str, str], today,
                     key: str, not_listed: str, check_date: str) -> pl.DataFrame:
    """Clean rows that answer no list: never listed, checked in the future, or before any list."""
    raw = frame.select(pl.col(LINE), pl.col(names[key]).alias("_raw_id"),
                       pl.col(names[check_date]).alias("_raw_date"))
    checked = matched.join(raw, on=LINE, how="left").with_columns(
        pl.when(pl.col("first_listed").is_null()).then(pl.lit(not_listed))
        .when(pl.col("check_date") > today).then(pl.lit("check_date_in_future"))
        .when(pl.col("list_as_of_date").is_null()).then(pl.lit("check_before_listing"))
        .alias("reason"))
    return _rows(checked.filter(pl.col("reason").is_not_null()).select(
        pl.col(LINE),
        pl.when(pl.col("reason") == not_listed).then(pl.lit(key)).otherwise(pl.lit(check_date)).alias("column_name"),
        pl.when(pl.col("reason") == not_listed).then(pl.col("_raw_id")).otherwise(pl.col("_raw_date"))
        .alias("raw_value"),
        pl.col("reason"),
    ))


def identity_problems(con: duckdb.DuckDBPyConnection, matched: pl.DataFrame, frame: pl.DataFrame,
                      names: dict[str, str], key: str) -> pl.DataFrame:
    """Rows whose head (masked ID, else name) is not the head the list they answer showed.

    A row without either column, or with both empty, is taken on its 家庭编号 alone.
    """
    shown = [h for h in (HEAD_MASKED_ID, HEAD_NAME) if h in names]
    answered = matched.filter(pl.col("list_as_of_date").is_not_null())
    if not shown or answered.is_empty():
        return _rows(pl.DataFrame(schema={LINE: pl.Int64, "column_name": pl.String, "raw_value": pl.String,
                                          "reason": pl.String}))
    returned = frame.select(pl.col(LINE), pl.col(names[key]).alias("_raw_id"), *(
        # the CSV twin escapes a formula-like name with a leading ' (pipelines.publish.sheets)
        pl.col(names[h]).cast(pl.String).str.strip_chars().str.replace(r"^'([=+\-@])", "$1")
        .replace("", None).alias(h) for h in shown))
    heads = pl.concat([
        con.sql(query("ingest/feedback_heads"), params={"as_of": as_of, "ids": ids}).pl()
        .with_columns(pl.lit(as_of).alias("list_as_of_date"))
        for as_of, ids in answered.group_by("list_as_of_date").agg("household_id").iter_rows()
    ], how="vertical_relaxed")
    rows = (answered.select(LINE, "household_id", "list_as_of_date")
            .join(heads, on=["household_id", "list_as_of_date"], how="left")
            .join(returned, on=LINE, how="left"))
    masked = pl.col(HEAD_MASKED_ID) if HEAD_MASKED_ID in shown else pl.lit(None, pl.String)
    name = pl.col(HEAD_NAME) if HEAD_NAME in shown else pl.lit(None, pl.String)
    wrong = (pl.when(masked.is_not_null()).then(masked != pl.col("head_masked_id").fill_null(""))
             .otherwise(name.is_not_null() & (name != pl.col("head_name").fill_null(""))))
    return _rows(rows.filter(wrong).select(
        pl.col(LINE), pl.lit(key).alias("column_name"), pl.col("_raw_id").alias("raw_value"),
        pl.lit("household_mismatch").alias("reason")))


def conflicting_results(clean: pl.DataFrame, frame: pl.DataFrame, names: dict[str, str], key: str,
                        key_field: str, result: str) -> pl.DataFrame:
    """Every row of a household (person) given two results for one check date: none is guessed."""
    clash = clean.filter(pl.col("result").n_unique().over(key_field, "check_date") > 1)
    raw = frame.select(pl.col(LINE), pl.col(names[result]).alias("_raw"))
    return _rows(clash.join(raw, on=LINE, how="left").select(
        pl.col(LINE), pl.lit(result).alias("column_name"), pl.col("_raw").alias("raw_value"),
        pl.lit("conflicting_results").alias("reason")))


def hidden_answers(sheet: str, names: set[str], frame: pl.DataFrame, keys: tuple[str, str],
                   answers: tuple[str, str]) -> str | None:
    """Why a sheet that may hold answers cannot be read as one, or None. Passed over, a list
    whose 家庭编号 column was renamed or deleted, or whose header a typed title row pushed
    down, lost every answer on it without a word (the third hostile audit)."""
    if names & set(answers) and not names & set(keys):
        shown = answers[0] if answers[0] in names else answers[1]
        return f"sheet {sheet!r} has {shown} but no column {keys[0]} or {keys[1]}: put the column back under its name"
    if names & set(keys):
        return None
    for line, *cells in frame.head(10).select(LINE, pl.all().exclude(LINE).cast(pl.String)).iter_rows():
        seen = {(c or "").strip() for c in cells}
        if seen & set(keys) and seen & set(answers):
            return (f"sheet {sheet!r} has its header on row {line}, under a title row: delete the rows above"
                    f" the header and return it again")
    return None
