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

from charset_normalizer import from_bytes
from django.utils.translation import gettext as _

from clientwise.core.errors import DomainError
from clientwise.dataio.errors import DataioErrorCode

SAMPLE_BYTES = 256 * 1024
PARSE_ERROR = "__parse_error__"  # key of the dict a reader yields for a line it could not read (JSONL)
EXTRA_PREFIX = "__extra_"  # cells beyond the header row


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
    raise file_error(DataioErrorCode.UNSUPPORTED_FORMAT,
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
        raise file_error(DataioErrorCode.EMPTY_FILE, _("The file is empty."))
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _decodes(sample, "utf-8"):
        return "utf-8"

    best = from_bytes(sample, cp_isolation=["gb18030", "gbk", "gb2312", "big5", "utf_16"]).best()
    if best is None:
        raise file_error(DataioErrorCode.UNDECODABLE, _(
            "The file's text encoding could not be recognised: save it as UTF-8 or GB18030 and upload it again."))
    encoding = best.encoding.lower().replace("-", "_")
    if encoding in ("gb2312", "gbk", "cp936", "gb18030"):
        encoding = "gb18030"
    if not _decodes(sample, encoding):
        raise file_error(DataioErrorCode.UNDECODABLE, _(
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


def _open_csv(path: Path, encoding: str):
    """(open file, csv.reader after the header row, headers); errors in the header row raise here."""
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
        raise file_error(DataioErrorCode.BAD_FILE, str(exc)) from None
    if first is None:
        fh.close()
        raise file_error(DataioErrorCode.EMPTY_FILE, _("The file is empty."))
    return fh, reader, _headers(first)


def read_csv(path: Path, encoding: str, *, cells: bool = False) -> tuple[list[str], Iterator[tuple[int, Any]]]:
    fh, reader, headers = _open_csv(path, encoding)
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
                    raise file_error(DataioErrorCode.BAD_FILE, _("Row %(row)s: %(error)s") % {
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
    return file_error(DataioErrorCode.UNDECODABLE, _(
        "Row %(row)s has bytes that are not valid %(encoding)s text: the file mixes encodings or is damaged. "
        "Save it as UTF-8 and upload it again.") % {"row": row, "encoding": encoding.upper()})


def read_xlsx(path: Path) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    # openpyxl (heavy) loads only when an .xlsx file is read.
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or non-XLSX file
        raise file_error(DataioErrorCode.BAD_FILE, _("This is not a readable XLSX file (%(error)s).") % {
            "error": type(exc).__name__}) from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    first = next(it, None)
    if first is None or not any(c not in (None, "") for c in first):
        wb.close()
        raise file_error(DataioErrorCode.EMPTY_FILE, _("The file is empty."))
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
        raise file_error(DataioErrorCode.EMPTY_FILE, _("The file has no JSON objects."))

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
        # openpyxl (heavy) loads only when an .xlsx file is read.
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


# --- CSV as columns (the orders import) -----------------------------------------------------------------------

# What str.strip() strips: every character for which str.isspace() is true (tests/test_readers.py checks it).
PY_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                 "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
ARROW_ENCODINGS = {"utf-8": "utf8", "utf-8-sig": "utf8", "gb18030": "gb18030"}
ARROW_BLOCK = 4 << 20  # bytes per block the Arrow reader parses at a time
CHUNK_ROWS = 20_000  # rows per chunk from the Python reader (the fallback)


class CellChunk:
    """Consecutive rows of a CSV file as columns: `numbers[i]` is row i's row number, `values[header][i]` its
    stripped text in that column (only the columns asked for), `cells(i)` the row's cells as read (at least as
    many as headers, unstripped: `row_dict(headers, cells(i))` is the dict read_csv yields for it)."""

    __slots__ = ("numbers", "values", "_cells")

    def __init__(self, numbers: list[int], values: dict[str, list[str]], cells):
        self.numbers, self.values, self._cells = numbers, values, cells

    def __len__(self) -> int:
        return len(self.numbers)

    def cells(self, i: int) -> list[str]:
        return self._cells(i)


class _ArrowGaveUp(Exception):
    """The Arrow reader met something it cannot read exactly as csv.reader does; the Python reader takes over."""


def read_csv_columns(path: Path, encoding: str, wanted: list[str]) -> tuple[list[str], Iterator[CellChunk], dict]:
    """read_csv_cells as columns: (headers, chunks of rows, info). The same rows (blank ones skipped), the same
    row numbers, cells and errors as read_csv_cells.

    The file is parsed in C by Arrow's streaming CSV reader (pyarrow.csv.open_csv, every column as text, Arrow
    decoding GB18030 itself) when it can give exactly what csv.reader gives: no quote character, no NUL byte, no
    carriage return except in CRLF line ends, no byte-order mark but at the start — then every physical line is
    one row, and Arrow's line N is row N. Otherwise (and for UTF-16) the file goes through the Python reader.
    When Arrow fails part way (a line with more or fewer cells than the header, bytes that are not valid text, a
    field longer than csv's field_size_limit), the Python reader continues after the last row Arrow handed out,
    so a bad row still fails or pads exactly as it would have. `info["reader"]` says which reader was used
    ("arrow", "python", or "arrow+python" with `info["python_from"]`, the first row read by Python)."""
    fh, _reader, headers = _open_csv(path, encoding)  # the header row and its errors, as ever
    fh.close()
    delimiter = _csv_dialect(path, encoding)
    index = {h: i for i, h in enumerate(headers)}
    wanted = [h for h in wanted if h in index]
    info: dict[str, Any] = {"reader": "python"}
    if not _arrow_can_read(path, encoding, delimiter):
        return headers, _python_chunks(read_csv(path, encoding, cells=True)[1], headers, wanted, index, 1), info

    def chunks():
        last = 1
        try:
            for chunk in _arrow_chunks(path, encoding, delimiter, headers, wanted):
                last = chunk.numbers[-1] if chunk.numbers else last
                yield chunk
            info["reader"] = "arrow"
            return
        except _ArrowGaveUp:
            pass
        info["reader"], info["python_from"] = "arrow+python", last + 1
        _headers, rows = read_csv(path, encoding, cells=True)
        yield from _python_chunks(rows, headers, wanted, index, last)

    return headers, chunks(), info


def _python_chunks(rows, headers, wanted, index, after: int) -> Iterator[CellChunk]:
    """Chunks of read_csv_cells' rows numbered after `after`. The rows read before an error are handed out
    before the error is raised, as read_csv_cells hands them out one by one."""
    batch: list[tuple[int, list[str]]] = []
    try:
        for item in rows:
            if item[0] <= after:
                continue
            batch.append(item)
            if len(batch) >= CHUNK_ROWS:
                yield _chunk_of(batch, wanted, index)
                batch = []
    except Exception:
        if batch:
            yield _chunk_of(batch, wanted, index)
        raise
    finally:
        rows.close()
    if batch:
        yield _chunk_of(batch, wanted, index)


def _chunk_of(batch: list[tuple[int, list[str]]], wanted, index) -> CellChunk:
    cells = [c for _n, c in batch]
    return CellChunk([n for n, _c in batch], {h: [c[index[h]].strip() for c in cells] for h in wanted},
                     cells.__getitem__)


def _arrow_can_read(path: Path, encoding: str, delimiter: str) -> bool:
    """Whether every physical line of the file is one csv.reader row with the cells Arrow splits it into (a scan
    of the bytes, in C). In GB18030 none of the bytes looked for can be part of a multi-byte character."""
    if encoding not in ARROW_ENCODINGS or delimiter == '"':
        return False
    try:
        # pyarrow (with numpy, heavy) stays off the start-up path: it loads when a CSV file is read.
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    boms = cr = crlf = 0
    tail = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            if b'"' in chunk or b"\x00" in chunk:
                return False
            both = tail + chunk
            cr += chunk.count(b"\r")
            crlf += both.count(b"\r\n") - tail.count(b"\r\n")
            boms += both.count(codecs.BOM_UTF8) - tail.count(codecs.BOM_UTF8)
            tail = both[-2:]
    if cr != crlf:
        return False
    if encoding != "utf-8-sig":  # a BOM is a character like any other in UTF-8 (and bytes of text in GB18030)
        return True
    # Python's utf-8-sig decoder drops a BOM at the start of each line it decodes; Arrow only at the file's start.
    with open(path, "rb") as fh:
        starts_with_bom = fh.read(3) == codecs.BOM_UTF8
    return boms == (1 if starts_with_bom else 0)


def _arrow_chunks(path: Path, encoding: str, delimiter: str, headers: list[str], wanted: list[str]):
    # pyarrow (with numpy, heavy) stays off the start-up path: it loads when a CSV file is read.
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    names = [f"c{i}" for i in range(len(headers))]
    where = {h: names[i] for i, h in enumerate(headers)}
    limit = csv.field_size_limit()
    try:
        reader = pcsv.open_csv(
            path, read_options=pcsv.ReadOptions(use_threads=False, block_size=ARROW_BLOCK, skip_rows=1,
                                                column_names=names, encoding=ARROW_ENCODINGS[encoding]),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, quote_char=False, escape_char=False,
                                            double_quote=False, newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                strings_can_be_null=False, check_utf8=True))
    except (pa.ArrowException, UnicodeError, LookupError):
        raise _ArrowGaveUp from None
    number = 1  # the header line
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowException, UnicodeError):
            raise _ArrowGaveUp from None
        n = batch.num_rows
        if not n:
            continue
        stripped = {}
        for name in names:
            column = batch.column(name)
            if pc.max(pc.utf8_length(column)).as_py() > limit:
                raise _ArrowGaveUp  # csv.reader refuses the field (BAD_FILE); the Python reader says where
            stripped[name] = pc.utf8_trim(column, characters=PY_WHITESPACE)
        # A row is blank when all its cells strip to nothing. (Arrays only: a Python scalar argument would make
        # pyarrow import pandas.)
        length = None
        for name in names:
            cell = pc.utf8_length(stripped[name])
            length = cell if length is None else pc.add(length, cell)
        numbers = list(range(number + 1, number + 1 + n))
        number += n
        keep = None
        if not pc.all(pc.cast(length, pa.bool_())).as_py():
            keep = pc.cast(length, pa.bool_())
            numbers = [x for x, k in zip(numbers, keep.to_pylist(), strict=True) if k]
            if not numbers:
                continue
            batch = batch.filter(keep)
        values = {h: (stripped[where[h]] if keep is None else stripped[where[h]].filter(keep)).to_pylist()
                  for h in wanted}
        yield CellChunk(numbers, values, _ArrowCells(batch, names))


class _ArrowCells:
    """cells(i) of an Arrow chunk: read from the batch only for the rows asked for (quarantined ones)."""

    __slots__ = ("batch", "names")

    def __init__(self, batch, names):
        self.batch, self.names = batch, names

    def __call__(self, i: int) -> list[str]:
        row = self.batch.slice(i, 1)
        return [row.column(name)[0].as_py() for name in self.names]
