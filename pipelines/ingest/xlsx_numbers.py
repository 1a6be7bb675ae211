"""The text an XLSX file stores for its number cells, read from the sheet's XML.

A spreadsheet reader hands number cells over as 64-bit floats, which hold 15-17
significant digits: an 18-digit 身份证号 or a 17-digit 家庭编号 written by a program
(`<v>371502197205080224</v>`, `<v>3.71502197205080224E+17</v>`) keeps all its digits
in the file, yet comes out of the float with the last ones invented. sources.md
counts such a number "with all 18 digits kept" as repairable, so the reader takes
the stored text instead (pipelines.ingest.xlsx_reader). Only the rows asked for are
kept; the sheet is streamed, not loaded.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from xml.etree.ElementTree import iterparse

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REF_ROW = re.compile(r"[A-Z]+([0-9]+)$")


def stored_number_texts(data: bytes, sheet: int | str, rows: set[int]) -> dict[tuple[int, float], str | None]:
    """(sheet row, the float it reads as) → the number cell's stored text, for `rows`.

    None where one row holds two different texts that read as the same float: which
    is which cannot be told, so neither is taken. An unreadable package gives {}.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            path = _sheet_path(book, sheet)
            if path is None:
                return {}
            try:
                with book.open(path) as xml:
                    return _scan_numbers(xml, rows)
            except _Unusual:
                with book.open(path) as xml:
                    return _numbers(xml, rows)
    except (zipfile.BadZipFile, KeyError, OSError, SyntaxError, ValueError):
        return {}  # the float notation stays: the digits are then judged lost


def _sheet_path(book: zipfile.ZipFile, sheet: int | str) -> str | None:
    sheets = [(s.get("name"), s.get(f"{_REL}id"))
              for _, s in iterparse(book.open("xl/workbook.xml")) if s.tag == f"{_MAIN}sheet"]
    targets = {r.get("Id"): r.get("Target") for _, r in iterparse(book.open("xl/_rels/workbook.xml.rels"))
               if r.tag == f"{_PKG_REL}Relationship"}
    found = sheets[sheet] if isinstance(sheet, int) and sheet < len(sheets) else next(
        (s for s in sheets if s[0] == sheet), None)
    target = targets.get(found[1]) if found else None
    if not target:
        return None
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


class _Unusual(Exception):
    """XML the byte scan does not read (a prefix it cannot place, CDATA, comments, entities,
    cells without references, value tags of another shape): the XML parser reads it instead."""


_ROOT = re.compile(rb'<(?:([A-Za-z_][\w.-]*):)?worksheet\b([^>]*)>')
_CHUNK = 1 << 22


def _scan_numbers(xml, rows: set[int]) -> dict[tuple[int, float], str | None]:
    """`_numbers` by a byte scan of the sheet, about ten times faster: the markup of a cell's
    `<c …>`, `<f>` and `<v>` cannot occur in text, where `<` is always escaped."""
    head = xml.read(_CHUNK)
    root = _ROOT.search(head)
    if root is None:
        raise _Unusual
    prefix = root[1] + b":" if root[1] else b""
    if b'xmlns%s="%s"' % (b":" + root[1] if root[1] else b"", _MAIN[1:-1].encode()) not in root[2]:
        raise _Unusual
    p = re.escape(prefix)
    # number cells only: a `t` other than "n" fails the look-ahead before any Python runs
    cell = re.compile(rb"<%sc\b(?![^>]*\st\s*=\s*[\"'](?!n[\"']))([^>]*?)(?<!/)>\s*(?:<%sf\b[^>]*?(?:/>|>[^<]*</%sf>)\s*)?<%sv>([^<]*)</%sv>"
                      % (p, p, p, p, p))
    end = b"</%sc>" % prefix
    odd = _odd_markup(p)
    found: dict[tuple[int, float], str | None] = {}
    buf = head[root.end():]
    while True:
        chunk = xml.read(_CHUNK)
        buf += chunk
        if b"<!" in buf or b"<?" in buf or any(pattern.search(buf) for pattern in odd):
            raise _Unusual
        last = buf.rfind(end)
        cut = len(buf) if not chunk else 0 if last < 0 else last + len(end)
        for m in cell.finditer(buf, 0, cut):
            _take(found, m[1], m[2], rows)
        buf = buf[cut:]
        if not chunk:
            return found


def _odd_markup(p: bytes) -> list[re.Pattern[bytes]]:
    """Markup (besides comments, CDATA and processing instructions) whose cells the cell pattern
    would pass over unseen: a `<v>` with attributes or spaces, a cell or value tag of another
    prefix (one namespace bound to two), an inline string followed by a value. Unprefixed sheets
    (nearly all) take patterns that start with a rare character; a colon in text only costs the
    parser's slower read."""
    if not p:  # one search each: an alternation of them is five times slower than the three
        return [re.compile(rb"<v[\s/]"), re.compile(rb":[vc][\s/>]"), re.compile(rb"</is>\s*<v>")]
    return [re.compile(rb"<(?!%sv>)(?:[\w.-]+:)?v[\s/>]|<(?!%sc[\s>])(?:[\w.-]+:)?c[\s/>]|</%sis>\s*<%sv>"
                       % (p, p, p, p))]


_ATTR_R = re.compile(rb'\sr\s*=\s*["\'][A-Z]+([0-9]+)["\']')
_ATTR_T = re.compile(rb'\st\s*=\s*["\']([a-zA-Z]*)["\']')


def _take(found: dict, attrs: bytes, value: bytes, rows: set[int]) -> None:
    ref = _ATTR_R.search(attrs)
    if ref is None or b"&" in attrs or b"&" in value:
        raise _Unusual
    at = int(ref[1])
    kind = _ATTR_T.search(attrs)
    text = value.decode("ascii", "replace").strip()
    if at in rows and (kind is None or kind[1] == b"n") and text:
        key = (at, float(text))
        found[key] = text if found.get(key, text) == text else None


def _numbers(xml, rows: set[int]) -> dict[tuple[int, float], str | None]:
    found: dict[tuple[int, float], str | None] = {}
    row = 0
    for event, elem in iterparse(xml, events=("start", "end")):
        if event == "start":
            if elem.tag == f"{_MAIN}row":
                row = int(elem.get("r") or row + 1)
            continue
        if elem.tag == f"{_MAIN}c":
            ref = _REF_ROW.search(elem.get("r") or "")
            at = int(ref[1]) if ref else row
            value = elem.find(f"{_MAIN}v")
            if at in rows and elem.get("t", "n") == "n" and value is not None and value.text:
                text = value.text.strip()
                key = (at, float(text))
                found[key] = text if found.get(key, text) == text else None
        elif elem.tag == f"{_MAIN}row":
            elem.clear()  # a sheet of a million rows is streamed, not kept
    return found
