"""Streaming readers for import files: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030), XLSX and JSONL.

Every reader yields `(row_number, {header: text})` one row at a time and never holds the file in memory.
Row numbers are what a spreadsheet shows: the header is row 1, the first data row is row 2 (JSONL: line
number, no header line). Completely blank rows are not data and are skipped. Cell values are text: XLSX numbers
that are whole come out without ".0" (phone numbers typed as numbers), dates as ISO text.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from clientwise.core.errors import DomainError

SAMPLE_BYTES = 256 * 1024
PARSE_ERROR = "__parse_error__"  # key of the dict a reader yields for a line it could not read (JSONL)
EXTRA_PREFIX = "__extra_"  # cells beyond the header row


class FileErrorCode:
    UNDECODABLE = "undecodable"
    UNSUPPORTED_FORMAT = "unsupported_format"
    EMPTY_FILE = "empty_file"
    BAD_FILE = "bad_file"


def file_error(code: str, message: str) -> DomainError:
    return DomainError(code, message, "file")


def detect_format(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    raise file_error(FileErrorCode.UNSUPPORTED_FORMAT,
                     _("Unsupported file type “%(suffix)s”: use CSV, XLSX or JSONL.") % {"suffix": suffix or name})


def _decodes(sample: bytes, encoding: str) -> bool:
    """Whether the sample decodes, allowing a multi-byte character cut at the end of the sample."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: str | Path) -> str:
    """UTF-8 (with or without BOM) when the sample is valid UTF-8; otherwise what charset-normalizer finds,
    with any GB2312/GBK answer widened to GB18030 (its superset). Raises `undecodable` otherwise."""
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not sample.strip():
        raise file_error(FileErrorCode.EMPTY_FILE, _("The file is empty."))
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _decodes(sample, "utf-8"):
        return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=["gb18030", "gbk", "gb2312", "big5", "utf_16"]).best()
    if best is None:
        raise file_error(FileErrorCode.UNDECODABLE, _(
            "The file's text encoding could not be recognised: save it as UTF-8 or GB18030 and upload it again."))
    encoding = best.encoding.lower().replace("-", "_")
    if encoding in ("gb2312", "gbk", "cp936", "gb18030"):
        encoding = "gb18030"
    if not _decodes(sample, encoding):
        raise file_error(FileErrorCode.UNDECODABLE, _(
            "The file's text encoding could not be recognised: save it as UTF-8 or GB18030 and upload it again."))
    return encoding


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if (value.hour, value.minute, value.second) != (0, 0, 0) \
            else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _headers(cells) -> list[str]:
    headers = []
    for i, cell in enumerate(cells):
        name = _cell(cell).lstrip("\ufeff").strip() or f"column_{i + 1}"
        while name in headers:
            name += "_"
        headers.append(name)
    return headers


def _as_dict(headers: list[str], cells, *, text: bool = False) -> dict[str, str] | None:
    values = [c.strip() for c in cells] if text else [_cell(c) for c in cells]
    if not any(values):
        return None
    if len(values) == len(headers):
        return dict(zip(headers, values, strict=True))
    row = {h: (values[i] if i < len(values) else "") for i, h in enumerate(headers)}
    for j in range(len(headers), len(values)):
        if values[j]:
            row[f"{EXTRA_PREFIX}{j + 1}"] = values[j]
    return row


def _csv_dialect(path: Path, encoding: str):
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        sample = fh.read(16384)
    first = sample.splitlines()[0] if sample else ""
    delimiter = max(",\t;|", key=first.count) if first else ","
    return delimiter


class _DecodeLines:
    """Decode a binary file line by line, so an undecodable byte is reported with its line number.

    Safe for UTF-8 and GB18030/GBK/Big5, whose multi-byte characters never contain a newline byte; UTF-16
    goes through a text-mode file instead."""

    def __init__(self, fh, encoding: str):
        self.fh, self.encoding, self.line = fh, encoding, 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        raw = self.fh.readline()
        if not raw:
            raise StopIteration
        self.line += 1
        try:
            return raw.decode(self.encoding)
        except UnicodeDecodeError:
            raise _undecodable(self.encoding, self.line) from None


def read_csv(path: Path, encoding: str, *, cells: bool = False) -> tuple[list[str], Iterator[tuple[int, Any]]]:
    delimiter = _csv_dialect(path, encoding)
    if encoding.startswith("utf-16"):
        fh = open(path, encoding=encoding, errors="strict", newline="")  # noqa: SIM115 - closed by rows()
        lines = fh
    else:
        fh = open(path, "rb")  # noqa: SIM115 - closed by rows()
        lines = _DecodeLines(fh, encoding)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        first = next(reader, None)
    except UnicodeDecodeError:
        fh.close()
        raise _undecodable(encoding, 1) from None
    except DomainError:
        fh.close()
        raise
    except csv.Error as exc:
        fh.close()
        raise file_error(FileErrorCode.BAD_FILE, str(exc)) from None
    if first is None:
        fh.close()
        raise file_error(FileErrorCode.EMPTY_FILE, _("The file is empty."))
    headers = _headers(first)
    as_cells, width = cells, len(headers)

    def rows():
        number = 1
        try:
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except UnicodeDecodeError:
                    raise _undecodable(encoding, number + 1) from None
                except csv.Error as exc:
                    raise file_error(FileErrorCode.BAD_FILE, _("Row %(row)s: %(error)s") % {
                        "row": number + 1, "error": exc}) from None
                number += 1
                if as_cells:
                    if any(map(str.strip, row)):
                        if len(row) < width:
                            row += [""] * (width - len(row))
                        yield number, row
                    continue
                row = _as_dict(headers, row, text=True)
                if row is not None:
                    yield number, row
        finally:
            fh.close()

    return headers, rows()


def read_csv_cells(path: Path, encoding: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """read_csv without a dict per row: (row number, cells as read, at least as many as headers). The same rows
    (blank ones skipped), the same numbers and the same errors as read_csv; `row_dict(headers, cells)` is the
    dict read_csv yields for the row."""
    headers, rows = read_csv(path, encoding, cells=True)
    return headers, rows


def row_dict(headers: list[str], cells: list[str]) -> dict[str, str]:
    """The row read_csv yields for these cells (stripped text, extra cells as __extra_N)."""
    return _as_dict(headers, cells, text=True) or dict.fromkeys(headers, "")


def _undecodable(encoding: str, row: int) -> DomainError:
    return file_error(FileErrorCode.UNDECODABLE, _(
        "Row %(row)s has bytes that are not valid %(encoding)s text: the file mixes encodings or is damaged. "
        "Save it as UTF-8 and upload it again.") % {"row": row, "encoding": encoding.upper()})


def read_xlsx(path: Path) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or non-XLSX file
        raise file_error(FileErrorCode.BAD_FILE, _("This is not a readable XLSX file (%(error)s).") % {
            "error": type(exc).__name__}) from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    first = next(it, None)
    if first is None or not any(c not in (None, "") for c in first):
        wb.close()
        raise file_error(FileErrorCode.EMPTY_FILE, _("The file is empty."))
    headers = _headers(first)
    while headers and headers[-1].startswith("column_"):
        headers.pop()  # trailing empty header cells of a styled sheet

    def rows():
        try:
            for number, cells in enumerate(it, start=2):
                row = _as_dict(headers, cells)
                if row is not None:
                    yield number, row
        finally:
            wb.close()

    return headers, rows()


def read_jsonl(path: Path, encoding: str) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    headers: list[str] = []
    with open(path, encoding=encoding, errors="replace") as fh:
        for i, line in enumerate(fh):
            if i >= 200:
                break
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                headers.extend(k for k in obj if k not in headers)
    if not headers:
        raise file_error(FileErrorCode.EMPTY_FILE, _("The file has no JSON objects."))

    def rows():
        with open(path, encoding=encoding, errors="strict") as fh:
            number = 0
            while True:
                try:
                    line = fh.readline()
                except UnicodeDecodeError:
                    raise _undecodable(encoding, number + 1) from None
                if not line:
                    return
                number += 1
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    yield number, {PARSE_ERROR: _("Line %(row)s is not valid JSON.") % {"row": number},
                                   "__line__": line.strip()[:2000]}
                    continue
                if not isinstance(obj, dict):
                    yield number, {PARSE_ERROR: _("Line %(row)s is not a JSON object.") % {"row": number},
                                   "__line__": line.strip()[:2000]}
                    continue
                row = {str(k): (json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else _cell(v))
                       for k, v in obj.items()}
                if any(row.values()):
                    yield number, row

    return headers, rows()


def open_rows(path: str | Path, fmt: str, encoding: str = "") -> tuple[list[str], Iterator[tuple[int, dict]]]:
    """(headers, row iterator) for a stored import file."""
    path = Path(path)
    if fmt == "xlsx":
        return read_xlsx(path)
    encoding = encoding or detect_encoding(path)
    if fmt == "jsonl":
        return read_jsonl(path, encoding)
    return read_csv(path, encoding)


def count_rows(path: str | Path, fmt: str) -> int | None:
    """A quick estimate of data rows for the progress bar (line count minus the header); reads in chunks."""
    path = Path(path)
    if fmt == "xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True)
            rows = wb.worksheets[0].max_row
            wb.close()
        except Exception:
            return None
        return max(0, rows - 1) if rows else None
    lines = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(0, lines - (0 if fmt == "jsonl" else 1))
