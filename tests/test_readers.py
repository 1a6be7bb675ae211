"""readers.read_file on real files: encodings, shapes, line numbers, XLSX cells."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.sources.idcard import BadValue, normalize_id
from pipelines.ingest.csv_reader import decode_csv_bytes, parse_csv_fast, parse_csv_slow
from pipelines.ingest.readers import EXTRA, LINE, UnreadableFile, read_file

HEADER = "身份证号,姓名,出生日期"


def write(tmp_path: Path, content: str | bytes, name: str = "members.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


def rows(result) -> list[tuple]:
    return result.frame.rows()


# ------------------------------------------------------------------ encodings


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030")],
)
def test_encoding_is_detected_and_values_survive(tmp_path, encoding, expected):
    text = f"{HEADER}\n371502199001011234,张三丰,1990-01-01\n371502199001011234,欧阳娜娜,1990/1/1\n"
    result = read_file(write(tmp_path, text, encoding=encoding))
    assert result.encoding == expected
    assert result.headers == ["身份证号", "姓名", "出生日期"]  # no BOM left on the first header
    assert rows(result) == [
        ("371502199001011234", "张三丰", "1990-01-01", 2),
        ("371502199001011234", "欧阳娜娜", "1990/1/1", 3),
    ]
    assert result.rows_read == 2


def test_gb18030_only_characters_are_read(tmp_path):
    # 𠀀 (U+20000) and 䶮 exist in GB18030 but not in GBK.
    result = read_file(write(tmp_path, f"{HEADER}\n1,𠀀䶮,2024-01-01\n", encoding="gb18030"))
    assert result.encoding == "gb18030"
    assert rows(result) == [("1", "𠀀䶮", "2024-01-01", 2)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no header"),
        (b"\n\n  \n", "no header"),
        (b"\x00\x01\x02binary", "binary content"),
        ("身份证号,姓名\n".encode("utf-16"), "UTF-16"),
        (b"\xef\xbb\xbf\xe8\xba\xab\xff\n", "BOM"),
        (b"a,b\n\x80\x80\x80\xff\n", "not UTF-8 or GB18030"),
    ],
)
def test_unreadable_content(tmp_path, content, message):
    with pytest.raises(UnreadableFile, match=message):
        read_file(write(tmp_path, content))


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_nul_or_an_invalid_byte_in_one_line_loses_that_line_not_the_file(tmp_path, encoding):
    """One bad byte in a cell used to reject the whole file (and its delivery): the line is now a
    malformed row, its bytes shown as escapes for the reviewer, and the others read as usual."""
    good = [f"{HEADER}\n", "1,张三,2024-01-01\n", "2,王五,2024-01-02\n", "3,赵六,2024-01-03\n"]
    data = b"".join(line.encode(encoding) for line in good[:2]) + "4,李".encode(encoding) + b"\x00\x81\n" \
        + b"".join(line.encode(encoding) for line in good[2:])
    result = read_file(write(tmp_path, data))
    assert result.encoding == encoding and result.rows_read == 4
    assert [(r[-2], r[-1]) for r in rows(result)] == [(2, None), (3, "4,李\\x00\\x81"), (4, None), (5, None)]
    assert rows(result)[2][:3] == ("2", "王五", "2024-01-02")


def test_decode_gives_utf8_bytes_without_bom():
    assert decode_csv_bytes("\ufeffa,b\n".encode("utf-8")) == ("utf-8-sig", b"a,b\n")
    assert decode_csv_bytes("甲,乙\n".encode("gb18030")) == ("gb18030", "甲,乙\n".encode())


# ----------------------------------------------------------------- file shape


def test_header_only_file_has_zero_rows_and_the_header_columns(tmp_path):
    result = read_file(write(tmp_path, f"{HEADER}\n"))
    assert result.rows_read == 0
    assert result.frame.schema == pl.Schema(
        {"身份证号": pl.String, "姓名": pl.String, "出生日期": pl.String, LINE: pl.Int64}
    )


def test_header_without_newline(tmp_path):
    assert read_file(write(tmp_path, HEADER)).rows_read == 0


def test_trailing_blank_lines_are_not_rows(tmp_path):
    result = read_file(write(tmp_path, f"{HEADER}\n1,甲,x\n2,乙,y\n\n   \n\r\n"))
    assert result.rows_read == 2
    assert result.frame[LINE].to_list() == [2, 3]


def test_blank_lines_in_the_middle_count_in_line_numbers(tmp_path):
    result = read_file(write(tmp_path, f"{HEADER}\n1,甲,x\n\n2,乙,y\n \t \n3,丙,z\n"))
    assert result.rows_read == 3
    assert [(r[0], r[3]) for r in rows(result)] == [("1", 2), ("2", 4), ("3", 6)]


def test_quoted_fields_commas_escapes_and_newlines(tmp_path):
    content = f'{HEADER}\n1,"张,三","a ""q"" b"\n2,"多\n行",y\n3,丙,z\n'
    result = read_file(write(tmp_path, content))
    assert rows(result) == [("1", "张,三", 'a "q" b', 2), ("2", "多\n行", "y", 3), ("3", "丙", "z", 5)]


def test_crlf_line_ends(tmp_path):
    result = read_file(write(tmp_path, f"{HEADER}\r\n1,甲,x\r\n\r\n2,乙,y\r\n"))
    assert rows(result) == [("1", "甲", "x", 2), ("2", "乙", "y", 4)]
    result = read_file(write(tmp_path, f'{HEADER}\r\n1,"多\r\n行",x\r\n2,乙,y\r\n'))
    assert rows(result) == [("1", "多\r\n行", "x", 2), ("2", "乙", "y", 4)]


def test_quoted_file_with_blank_lines_and_a_short_row(tmp_path):
    # Quotes and irregular records together: the csv module's way.
    result = read_file(write(tmp_path, f'{HEADER}\n"1","甲,乙","x"\n\n"2"\n"3",丙,"多\n行"\n'))
    assert rows(result) == [("1", "甲,乙", "x", 2), ("2", None, None, 4), ("3", "丙", "多\n行", 5)]


def test_lone_cr_line_ends(tmp_path):
    result = read_file(write(tmp_path, f"{HEADER}\r1,甲,x\r2,乙,y\r"))
    assert rows(result) == [("1", "甲", "x", 2), ("2", "乙", "y", 3)]


def test_empty_and_whitespace_cells_stay_as_delivered(tmp_path):
    result = read_file(write(tmp_path, f'{HEADER}\n,  ,""\n 1 ,\u3000,\n'))
    assert rows(result) == [("", "  ", "", 2), (" 1 ", "\u3000", "", 3)]


def test_short_row_keeps_missing_cells_null(tmp_path):
    result = read_file(write(tmp_path, f"{HEADER}\n1,甲\n2\n3,丙,z\n"))
    assert rows(result) == [("1", "甲", None, 2), ("2", None, None, 3), ("3", "丙", "z", 4)]
    assert EXTRA not in result.frame.columns


def test_long_row_keeps_its_surplus_in_extra(tmp_path):
    result = read_file(write(tmp_path, f"{HEADER}\n1,甲,x,多余,更多\n2,乙,y\n3,丙,z,\n"))
    assert rows(result) == [("1", "甲", "x", 2, "多余,更多"), ("2", "乙", "y", 3, None), ("3", "丙", "z", 4, None)]
    assert result.headers == ["身份证号", "姓名", "出生日期"]


def test_trailing_comma_on_every_line_adds_no_column(tmp_path):
    result = read_file(write(tmp_path, f"{HEADER},\n1,甲,x,\n2,乙,y,\n"))
    assert result.headers == ["身份证号", "姓名", "出生日期"]
    assert rows(result) == [("1", "甲", "x", 2), ("2", "乙", "y", 3)]


def test_headers_are_stripped_and_kept_in_delivered_order(tmp_path):
    result = read_file(write(tmp_path, " 姓名 ,未知列,\t身份证号\n甲,?,1\n", encoding="utf-8-sig"))
    assert result.headers == ["姓名", "未知列", "身份证号"]
    assert result.frame.columns == ["姓名", "未知列", "身份证号", LINE]


def test_leading_blank_lines_number_from_the_header(tmp_path):
    result = read_file(write(tmp_path, f"\n\n{HEADER}\n1,甲,x\n"))
    assert rows(result) == [("1", "甲", "x", 2)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,_line\n1,2\n", "reserved"),
        (",,\n,,\n", "no column names"),
        ('a,"b\n1,2\n', "malformed CSV header at line 1"),
    ],
)
def test_unreadable_shapes(tmp_path, content, message):
    with pytest.raises(UnreadableFile, match=message):
        read_file(write(tmp_path, content))


def test_a_repeated_header_reads_and_only_a_contract_column_repeated_is_refused(tmp_path):
    """Two unknown 备注 columns are as unknown as one; two 家庭编号 leave which is meant unknown."""
    from pipelines.ingest.file_table import duplicate_contract_headers

    result = read_file(write(tmp_path, "家庭编号,备注, 备注 ,,\nH1,x,y,z,w\n"))
    assert result.headers == ["家庭编号", "备注", "备注（重复列2）", "", "（重复列2）"]
    assert result.duplicated == ["", "备注"] and rows(result) == [("H1", "x", "y", "z", "w", 2)]
    assert duplicate_contract_headers(result, ["家庭编号", "姓名"]) is None
    twice = read_file(write(tmp_path, "家庭编号,家庭编号\nH1,H2\n"))
    assert duplicate_contract_headers(twice, ["家庭编号"]) == (
        "duplicate header '家庭编号': which column is meant is unknown")


@pytest.mark.parametrize(
    ("content", "malformed", "good"),
    [
        ('a,b\n1,"unterminated\n2,3\n', {2: '1,"unterminated'}, [("2", "3", 3)]),
        ('a,b\n1,"x"y\n4,5\n', {2: '1,"x"y'}, [("4", "5", 3)]),
        ('a,b\n1,2\n"3,4\n5,6\n7,"8\n', {3: '"3,4', 5: '7,"8'}, [("1", "2", 2), ("5", "6", 4)]),
        # a quote opened by mistake and closed lines later: one record of the wrong width, which
        # sources.md counts as lines (so _READY did) and made the delivery "truncated"
        ('a,b\n1,2\n3,"x\n4,5\n6",7\n8,9\n', {3: '3,"x'}, [("1", "2", 2), ("4", "5", 4), ('6"', "7", 5),
                                                         ("8", "9", 6)]),
        # closed in the same column: the width matches, yet the lines between are rows of their own
        ('a,b,c\n1,"x,2\n3,4,5\n6,y",7\n', {2: '1,"x,2'}, [("3", "4", 3), ("6", 'y"', 4)]),
    ],
)
def test_a_malformed_line_is_one_row(tmp_path, content, malformed, good):
    """A line CSV quoting cannot split is one row (text kept in `_malformed`), not a bad file."""
    result = read_file(write(tmp_path, content))
    frame = result.frame
    assert result.rows_read == len(malformed) + len(good)
    bad = frame.filter(pl.col("_malformed").is_not_null())
    assert dict(zip(bad[LINE].to_list(), bad["_malformed"].to_list())) == malformed
    assert frame.filter(pl.col("_malformed").is_null()).select("a", "b", LINE).rows() == good


# ----------------------------------------------------------------- path safety


def test_symlink_is_rejected(tmp_path):
    target = write(tmp_path, f"{HEADER}\n1,甲,x\n", name="real.csv")
    link = tmp_path / "link.csv"
    os.symlink(target, link)
    with pytest.raises(UnreadableFile, match="symbolic link"):
        read_file(link)


def test_directory_missing_file_and_unknown_type_are_rejected(tmp_path):
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(UnreadableFile, match="not a regular file"):
        read_file(tmp_path / "dir.csv")
    with pytest.raises(UnreadableFile, match="cannot access"):
        read_file(tmp_path / "absent.csv")
    with pytest.raises(UnreadableFile, match="unsupported file type"):
        read_file(write(tmp_path, "a,b\n", name="members.txt"))


# --------------------------------------------------------- fast path = slow path

CELL = st.text(alphabet=st.sampled_from(list('ab 中文,"\n\r\t\u3000')), max_size=6)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.lists(st.text(alphabet="xyz甲", min_size=1, max_size=3), min_size=2, max_size=4, unique=True),
    body=st.lists(st.lists(CELL, min_size=0, max_size=5), max_size=8),
    quote_all=st.booleans(),
    line_end=st.sampled_from(["\n", "\r\n"]),
)
def test_fast_path_gives_the_reference_result(header, body, quote_all, line_end):
    """Whenever the polars paths accept a file, they agree with the csv module."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=line_end, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(body)
    data = buffer.getvalue().encode()
    fast = parse_csv_fast(data)
    if fast is None:
        return
    slow = parse_csv_slow(data.decode())
    assert fast.headers == slow.headers
    assert fast.frame.to_dicts() == slow.frame.to_dicts()


@st.composite
def regular_csv(draw) -> bytes:
    """Rows of the header's width, sometimes quoted, sometimes one row off."""
    width = draw(st.integers(2, 5))
    cell = st.text(alphabet=st.sampled_from(list('ab 中文,"\n')), max_size=5)
    body = draw(st.lists(st.lists(cell, min_size=width, max_size=width), min_size=1, max_size=10))
    if draw(st.booleans()) and body:
        body[draw(st.integers(0, len(body) - 1))] = draw(st.lists(cell, max_size=width + 2))
    buffer = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])), quoting=quoting)
    writer.writerow([f"h{i}" for i in range(width)])
    writer.writerows(body)
    return buffer.getvalue().encode()


@settings(max_examples=200, deadline=None)
@given(data=regular_csv())
def test_fast_path_on_regular_files(data):
    fast = parse_csv_fast(data)
    slow = parse_csv_slow(data.decode())
    if fast is not None:
        assert fast.frame.to_dicts() == slow.frame.to_dicts()


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list('ab 中,"\n\r\t')), max_size=60),
)
def test_fast_path_agrees_on_hand_made_text(text):
    data = ("x,y,z\n" + text).encode()
    fast = parse_csv_fast(data)
    if fast is None:
        return
    slow = parse_csv_slow(data.decode())
    assert fast.frame.to_dicts() == slow.frame.to_dicts()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=200))
def test_random_bytes_never_crash_the_reader(tmp_path, content):
    path = write(tmp_path, b"a,b\n" + content, name="random.csv")
    try:
        result = read_file(path)
    except UnreadableFile as err:
        assert "\n" not in str(err)
        return
    assert result.rows_read == result.frame.height
    assert result.frame[LINE].is_sorted() and result.frame[LINE].is_unique().all()


# ----------------------------------------------------------------------- XLSX


def write_xlsx(path: Path, fill) -> Path:
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("数据")
    fill(workbook, sheet)
    workbook.add_worksheet("其他").write(0, 0, "ignored")
    workbook.close()
    return path


def test_xlsx_cells_are_read_as_strings(tmp_path):
    def fill(workbook, sheet):
        date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        sheet.write_row(0, 0, ["身份证号", "月保障金额", "认定日期", "家庭人口数", "行政区划代码", "姓名"])
        sheet.write_row(1, 0, ["371502199001011234", 931, None, 3, "371502001001", "张三"])
        sheet.write_number(2, 1, 1234.5)
        sheet.write_datetime(2, 2, dt.datetime(2024, 6, 19), date)
        sheet.write_number(2, 3, 3.0)
        sheet.write_number(2, 4, 371502001001)
        sheet.write_string(2, 5, "  ")
        sheet.write_number(3, 2, 45462)
        sheet.write_string(3, 0, "x")

    result = read_file(write_xlsx(tmp_path / "households.xlsx", fill))
    assert result.encoding == "xlsx"
    assert result.headers == ["身份证号", "月保障金额", "认定日期", "家庭人口数", "行政区划代码", "姓名"]
    assert rows(result) == [
        ("371502199001011234", "931", "", "3", "371502001001", "张三", 2),
        ("", "1234.5", "2024-06-19 00:00:00", "3", "371502001001", "  ", 3),
        ("x", "", "45462", "", "", "", 4),
    ]


def test_xlsx_empty_rows_are_skipped_and_lines_are_sheet_rows(tmp_path):
    def fill(workbook, sheet):
        sheet.write_row(2, 1, ["身份证号", "姓名"])  # header on sheet row 3, from column B
        sheet.write_row(3, 1, ["1", "甲"])
        sheet.write_blank(5, 1, None, workbook.add_format({"bold": True}))
        sheet.write_string(6, 2, "")
        sheet.write_row(8, 1, ["2", "乙"])

    result = read_file(write_xlsx(tmp_path / "members.xlsx", fill))
    assert rows(result) == [("1", "甲", 4), ("2", "乙", 9)]
    assert result.rows_read == 2


def test_xlsx_number_ids_show_their_lost_digits(tmp_path):
    def fill(workbook, sheet):
        sheet.write_row(0, 0, ["文本", "数字", "混合"])
        for row in range(1, 4):
            sheet.write_string(row, 0, "371502199001011264")  # exactly a float: still text
            sheet.write_number(row, 1, 371502199001011234)
            if row == 2:
                sheet.write_number(row, 2, 371502199001011234)
            else:
                sheet.write_string(row, 2, "371502199001011264")

    result = read_file(write_xlsx(tmp_path / "ids.xlsx", fill))
    # xlsxwriter stores 16 significant digits; fastexcel alone would show them
    # as the 18 digits "371502199001011328", a fake but plausible ID: the
    # file's own text is read instead, and it shows the loss.
    as_stored = f"{371502199001011234:.16G}"
    assert as_stored == "3.715021990010113E+17"
    assert result.frame["文本"].to_list() == ["371502199001011264"] * 3
    assert result.frame["数字"].to_list() == [as_stored] * 3
    assert result.frame["混合"].to_list() == ["371502199001011264", as_stored, "371502199001011264"]
    with pytest.raises(BadValue, match="id_lossy_float"):
        normalize_id(as_stored)


def test_xlsx_number_ids_that_keep_every_digit_in_the_file_are_read_with_them(tmp_path):
    """sources.md: a number "with all 18 digits kept" is repairable. A program can store
    them (`<v>371502197205080224</v>`, `<v>3.71502197205080224E+17</v>`): the file's text
    is read, not the float the reader would make of it; a returned list's reader keeps
    the float (a spreadsheet keeps 15 digits, whatever its file says)."""
    import re
    import zipfile

    stored = ["371502197205080224", "3.71502197205080224E+17", "3.715021972050802E+17"]

    def fill(workbook, sheet):
        sheet.write_row(0, 0, ["身份证号", "家庭编号"])
        for row in range(1, 4):
            sheet.write_number(row, 0, 1000 + row)  # placeholders, rewritten below
            sheet.write_number(row, 1, 2000 + row)

    path = write_xlsx(tmp_path / "exact.xlsx", fill)
    with zipfile.ZipFile(path) as book:
        parts = {n: book.read(n) for n in book.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    for row, text in enumerate(stored, start=1):
        xml = xml.replace(f"<v>{1000 + row}</v>", f"<v>{text}</v>")
        xml = xml.replace(f"<v>{2000 + row}</v>", f"<v>3715020010010000{row}</v>")  # a 17-digit 家庭编号
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)
    frame = read_file(path).frame
    assert frame["身份证号"].to_list() == stored
    assert frame["家庭编号"].to_list() == [f"3715020010010000{row}" for row in range(1, 4)]
    assert normalize_id(stored[0])[0] == normalize_id(stored[1])[0] == "371502197205080224"
    with pytest.raises(BadValue, match="id_lossy_float"):
        normalize_id(stored[2])
    returned = read_file(path, number_limit=10**15 - 1).frame  # as pipelines.ingest.feedback reads
    assert all(re.fullmatch(r"3\.[0-9]+e\+1[67]", v) for v in returned["家庭编号"].to_list())


def test_xlsx_header_only_and_empty_sheet(tmp_path):
    header_only = write_xlsx(tmp_path / "a.xlsx", lambda wb, sh: sh.write_row(0, 0, ["身份证号", "姓名"]))
    assert read_file(header_only).rows_read == 0
    empty = write_xlsx(tmp_path / "b.xlsx", lambda wb, sh: None)
    with pytest.raises(UnreadableFile, match="empty sheet"):
        read_file(empty)


def test_corrupt_xlsx_is_unreadable(tmp_path):
    with pytest.raises(UnreadableFile, match="xlsx"):
        read_file(write(tmp_path, b"PK\x03\x04 not really a zip", name="bad.xlsx"))
    with pytest.raises(UnreadableFile, match="xlsx"):
        read_file(write(tmp_path, "身份证号,姓名\n1,甲\n", name="renamed.xlsx"))


_SHEET = ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
          '<sheetData><row r="2"><c r="A2" t="s"><v>7</v></c><c r="B2"><v>371502197205080224</v></c>'
          '<c r="C2" t="inlineStr"><is><t>&lt;c r="C2"&gt;&lt;v&gt;5&lt;/v&gt;</t></is></c>'
          '<c r="D2" s="1"><f>1+1</f><v> 3.71502197205080224E+17 </v></c><c r="E2"/></row>'
          '<row r="3"><c t="n" r="B3"><v>12</v></c><c r="C3" t="str"><v>99</v></c></row></sheetData></worksheet>')


@pytest.mark.parametrize("xml, unusual", [
    (_SHEET, False),
    (_SHEET.replace("<row", "<x:row").replace("<c ", "<x:c ").replace("</c>", "</x:c>").replace("<v>", "<x:v>")
     .replace("</v>", "</x:v>").replace("<f>", "<x:f>").replace("</f>", "</x:f>").replace("<is>", "<x:is>")
     .replace("</is>", "</x:is>").replace("<t>", "<x:t>").replace("</t>", "</x:t>").replace("</row>", "</x:row>")
     .replace("<sheetData>", "<x:sheetData>").replace("</sheetData>", "</x:sheetData>")
     .replace("<worksheet xmlns=", "<x:worksheet xmlns:x=").replace("</worksheet>", "</x:worksheet>"), False),
    (_SHEET.replace('<c t="n" r="B3">', '<c t="n">'), True),  # a cell without its reference
    (_SHEET.replace("<v>12</v>", "<v><![CDATA[12]]></v>"), True),
    (_SHEET.replace("<row r=\"3\">", "<!-- <c r=\"B3\"><v>1</v></c> --><row r=\"3\">"), True),
    (_SHEET.replace("<v>12</v>", "<v>&#49;2</v>"), True),
    # found by the review: well-formed sheets whose number cells the cell pattern passed over
    (_SHEET.replace("<v>12</v>", '<v xml:space="preserve">12</v>'), True),
    (_SHEET.replace("<v>12</v>", "<v >12</v >"), True),
    (_SHEET.replace('<worksheet xmlns="', '<worksheet xmlns:s="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns="')
     .replace('<c t="n" r="B3"><v>12</v></c>', '<s:c t="n" r="B3"><s:v>12</s:v></s:c>'), True),
    (_SHEET.replace('<worksheet xmlns="', '<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns="')
     .replace("</worksheet>", "</x:worksheet>"), True),
    (_SHEET.replace('<row r="3">', '<?pi <c r="B3"><v>1</v></c> ?><row r="3">'), True),
    (_SHEET.replace('<c r="C3" t="str"><v>99</v></c>', '<c r="C3"><is><t>x</t></is><v>7</v></c>'), True),
])
def test_the_byte_scan_of_stored_numbers_reads_what_the_xml_parser_reads(xml, unusual):
    """The byte scan (`_scan_numbers`) stands in for the XML parser, about nine times slower on a
    city's members sheet; what it cannot read the same way it hands over to the parser."""
    import io

    from pipelines.ingest import xlsx_numbers

    rows = {2, 3}
    parsed = xlsx_numbers._numbers(io.BytesIO(xml.encode()), rows)
    assert parsed[(2, 371502197205080224.0)] is None  # two texts, one float: neither is taken
    assert parsed[(3, 12.0)] == "12"
    if unusual:
        with pytest.raises(xlsx_numbers._Unusual):
            xlsx_numbers._scan_numbers(io.BytesIO(xml.encode()), rows)
    else:
        assert xlsx_numbers._scan_numbers(io.BytesIO(xml.encode()), rows) == parsed


def _with_sheet_xml(path: Path, rows_xml: str) -> Path:
    """The workbook at `path` with its first sheet's data replaced by `rows_xml`."""
    import zipfile

    with zipfile.ZipFile(path) as book:
        parts = {n: book.read(n) for n in book.namelist()}
    parts["xl/worksheets/sheet1.xml"] = (
        '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{rows_xml}</sheetData></worksheet>").encode()
    with zipfile.ZipFile(path, "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return path


def _text(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def test_xlsx_a_formula_without_its_result_or_an_error_is_no_empty_cell(tmp_path):
    """A program that writes formulas without computing them stores no result (`<v/>`): a
    reader sees an empty cell, and an empty 月人均收入 says "never checked". Such cells and
    error values (#DIV/0!) are quarantined with the formula or the error as the raw value;
    a formula whose result is the empty text is that text. The grid starts at column B,
    as the reader's does; a row holding only a formula without its result is a row."""
    from pipelines.ingest.row_defects import split_row_defects

    path = _with_sheet_xml(write_xlsx(tmp_path / "households.xlsx", lambda wb, sh: None), "".join([
        f'<row r="1">{_text("B1", "家庭编号")}{_text("C1", "月人均收入")}{_text("D1", "核对日期")}</row>',
        f'<row r="2">{_text("B2", "h1")}<c r="C2"><f>E2/F2</f><v/></c>{_text("D2", "2024-05-01")}</row>',
        f'<row r="3">{_text("B3", "h2")}<c r="C3" t="e"><f>E3/0</f><v>#DIV/0!</v></c>'
        f'{_text("D3", "2024-05-02")}<c r="G3"><f>1</f></c></row>',
        f'<row r="4">{_text("B4", "h3")}<c r="C4"><f>E4</f><v>800</v></c>'
        f'<c r="D4" t="str"><f>IF(1,"","x")</f><v></v></c></row>',
        '<row r="6"><c r="A6"><f>B6</f></c><c r="D6"><f t="shared" si="0"/></c></row>',
    ]))
    result = read_file(path)
    assert result.headers == ["家庭编号", "月人均收入", "核对日期"]
    assert result.rows_read == 4
    assert result.frame.drop("_no_value").rows() == [
        ("h1", "", "2024-05-01", 2), ("h2", "", "2024-05-02", 3), ("h3", "800", "", 4), ("", "", "", 6)]
    rest, quarantine, raw = split_row_defects(result.frame, {"家庭编号", "月人均收入", "核对日期"})
    assert quarantine.rows() == [
        (2, "月人均收入", "=E2/F2", "formula_no_value"),
        (3, "月人均收入", "#DIV/0!", "cell_error"),
        (6, "核对日期", "=(shared formula 0)", "formula_no_value"),
    ]
    assert rest.rows() == [("h3", "800", "", 4)]  # the empty text of a formula reads as empty
    assert "_no_value" not in raw.columns and raw.height == 4


def test_xlsx_without_formulas_takes_no_second_look(tmp_path, monkeypatch):
    from pipelines.ingest import xlsx_reader

    def fail(*_):
        raise AssertionError("the sheet holds no formula: no second look")

    monkeypatch.setattr(xlsx_reader, "unvalued_cells", fail)
    path = write_xlsx(tmp_path / "plain.xlsx", lambda wb, sh: sh.write_row(0, 0, ["家庭编号", "月人均收入"]))
    assert xlsx_reader.read_xlsx(path).rows_read == 0


def test_xlsx_a_formula_without_its_result_above_the_header_is_no_header(tmp_path):
    path = _with_sheet_xml(write_xlsx(tmp_path / "titled.xlsx", lambda wb, sh: None), "".join([
        '<row r="1"><c r="A1"><f>TEXT(TODAY(),"yyyy")</f></c></row>',
        f'<row r="2">{_text("A2", "家庭编号")}{_text("B2", "月人均收入")}</row>',
        f'<row r="3">{_text("A3", "h1")}<c r="B3"><v>500</v></c></row>',
        '<row r="5"><c r="B5"><f>B3</f><v/></c></row>',
    ]))
    result = read_file(path)
    assert result.headers == ["家庭编号", "月人均收入"]
    assert result.frame.rows() == [("h1", "500", 3, None), ("", "", 5, '[["月人均收入", "=B3", "formula_no_value"]]')]
