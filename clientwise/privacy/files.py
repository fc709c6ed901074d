"""After an erasure commits: the copies of the person's data outside the database tables.

- Files the sections listed for deletion (ticket attachments).
- Import files under VAR_DIR/imports (and label tables under VAR_DIR/labels/uploads): every row that mentions the
  person is blanked in place, so row numbers (and a failed import's resume point) stay what they were. A file is
  rewritten into a temporary file beside it, read back and compared row by row with the original, and only then
  moved over it; a file that cannot be read is searched for the identifiers' bytes and deleted if they occur.
  Files of an import that is queued or running are left for a retry.
- Analytics snapshots (settings.ANALYTICS_DIR): the person's rows are removed from each snapshot's customers and
  churn-feature tables (archived customers are no longer extracted, so later snapshots never have them), and from
  the out-of-fold scores kept beside own-label models.
- Stored API responses (Idempotency-Key replays) that contain the person's data are replaced by a marker.

`run(work)` takes what `plan(erasure)` prepared (keyed hashes and relative paths, no clear values) and returns a
report of what it did; nothing here raises for one bad file: the file is named in the report's errors and the
request's file status becomes failed, so the clean-up can be run again.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.apps import apps
from django.conf import settings
from openpyxl import Workbook, load_workbook

from clientwise.accounts.models import IdempotencyKey
from clientwise.analytics.churn import EXPLAINER_FEATURES
from clientwise.analytics.extract import analytics_dir
from clientwise.analytics.models import LabelModel
from clientwise.dataio import readers
from clientwise.dataio.models import ImportJob
from clientwise.privacy.subject import Matcher, key_columns

ERASED_BODY = b'{"code": "erased", "message": "This stored response held personal data that was erased."}'
TABLE_SUFFIXES = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".jsonl": "jsonl",
                  ".ndjson": "jsonl", ".parquet": "parquet"}


def plan(erasure) -> dict:
    """What the after-commit clean-up needs, JSON-ready: the matcher's keyed hashes, the customer ids and the
    files to delete (paths relative to VAR_DIR)."""
    return {"matcher": erasure.subject.matcher.as_json(), "delete": sorted(set(erasure.delete_files))}


def _var() -> Path:
    return Path(settings.VAR_DIR).resolve()


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


# ----- reading rows as dataio reads them ----------------------------------------------------------------------------


def _rows(path: Path, fmt: str, encoding: str) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    if fmt == "csv":
        encoding = encoding or readers.detect_encoding(path)
        headers, cells = readers.read_csv_cells(path, encoding)
        return headers, ((n, readers.row_dict(headers, c)) for n, c in cells)
    return readers.open_rows(path, fmt, encoding)


def _matching_rows(path: Path, fmt: str, encoding: str, match: Callable[[dict], bool]) -> set[int]:
    _headers, rows = _rows(path, fmt, encoding)
    try:
        return {n for n, row in rows if match(row)}
    finally:
        rows.close()


def _rows_except(path: Path, fmt: str, encoding: str, skip: set[int]) -> Iterator[tuple[int, dict]]:
    _headers, rows = _rows(path, fmt, encoding)
    try:
        for n, row in rows:
            if n not in skip:
                yield n, row
    finally:
        rows.close()


# ----- writing a file back without some rows ----------------------------------------------------------------------


def _write_csv(src: Path, dst: Path, encoding: str, skip: set[int]) -> None:
    encoding = encoding or readers.detect_encoding(src)
    delimiter = readers._csv_dialect(src, encoding)  # the delimiter dataio will detect again in the copy
    headers, cells = readers.read_csv_cells(src, encoding)
    try:
        with open(dst, "w", encoding=encoding, newline="") as out:
            writer = csv.writer(out, delimiter=delimiter)
            writer.writerow(headers)
            last = 1
            for number, row in cells:
                for _ in range(last + 1, number):
                    writer.writerow([])  # a blank record keeps the next rows' numbers
                writer.writerow([""] * len(row) if number in skip else row)
                last = number
    finally:
        cells.close()


def _write_jsonl(src: Path, dst: Path, encoding: str, skip: set[int]) -> None:
    encoding = encoding or readers.detect_encoding(src)
    with open(src, encoding=encoding, newline="") as fh, open(dst, "w", encoding=encoding, newline="") as out:
        for number, line in enumerate(fh, start=1):
            if number in skip:
                out.write("{}" + ("\n" if line.endswith(("\n", "\r")) else ""))
            else:
                out.write(line)


def _write_xlsx(src: Path, dst: Path, skip: set[int]) -> None:
    wb = load_workbook(src, read_only=True, data_only=True)
    try:
        out = Workbook(write_only=True)
        ws = out.create_sheet(wb.worksheets[0].title)
        for number, values in enumerate(wb.worksheets[0].iter_rows(values_only=True), start=1):
            ws.append([] if number in skip else list(values))
        out.save(dst)
    finally:
        wb.close()


def _replace(path: Path, write: Callable[[Path], None], verify: Callable[[Path], bool]) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=".privacy-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        if not verify(tmp):
            raise ValueError("the rewritten file does not read back as the original without the erased rows")
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def rows_to_blank(path: Path, fmt: str, encoding: str, match: Callable[[dict], bool]) -> set[int]:
    """The numbers of the rows of a CSV/XLSX/JSONL file for which `match(row)` holds (rows as dataio reads them)."""
    return _matching_rows(path, fmt, encoding, match)


def blank_rows(path: Path, fmt: str, encoding: str, skip: set[int]) -> None:
    """Rewrite the file with the rows numbered in `skip` blank. Row numbers and every other row read back exactly as
    before (checked before the copy replaces the file); ValueError when they would not."""

    def write(tmp: Path) -> None:
        if fmt == "csv":
            _write_csv(path, tmp, encoding, skip)
        elif fmt == "jsonl":
            _write_jsonl(path, tmp, encoding, skip)
        else:
            _write_xlsx(path, tmp, skip)

    def verify(tmp: Path) -> bool:
        expected = _rows_except(path, fmt, encoding, skip)
        got = _rows_except(tmp, fmt, encoding, set())
        sentinel = object()
        for a, b in zip(expected, got, strict=False):
            if a != b:
                return False
        return next(expected, sentinel) is sentinel and next(got, sentinel) is sentinel

    _replace(path, write, verify)


def redact_table(path: Path, fmt: str, encoding: str, match: Callable[[dict], bool]) -> int:
    """Blank the rows of a CSV/XLSX/JSONL file for which `match(row)` holds; returns how many."""
    skip = rows_to_blank(path, fmt, encoding, match)
    if skip:
        blank_rows(path, fmt, encoding, skip)
    return len(skip)


def redact_parquet(path: Path, drop: Callable[[dict], bool]) -> int:
    """Remove the rows of a Parquet file for which `drop(row)` holds; returns how many."""
    source = pq.ParquetFile(path)
    removed = 0
    batches = []
    for batch in source.iter_batches(batch_size=50_000):
        rows = batch.to_pylist()
        keep = [not drop(r) for r in rows]
        if all(keep):
            batches.append(batch)
            continue
        removed += keep.count(False)
        batches.append(batch.filter(pa.array(keep)))
    if not removed:
        return 0
    schema = source.schema_arrow

    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for b in batches:
                if b.num_rows:
                    writer.write_batch(b)

    _replace(path, write, lambda tmp: pq.ParquetFile(tmp).metadata.num_rows == source.metadata.num_rows - removed)
    return removed


def _bytes_mention(path: Path, matcher: Matcher) -> bool:
    """For a file no reader understands: whether any whitespace/punctuation-separated token of it is one of the
    person's strong identifiers."""
    token = re.compile(rb"[^\s,;|\t\"'<>()\[\]{}]+")
    with open(path, "rb") as fh:
        for line in fh:
            for t in token.findall(line):
                try:
                    text = t.decode("utf-8")
                except UnicodeDecodeError:
                    try:
                        text = t.decode("gb18030")
                    except UnicodeDecodeError:
                        continue
                if matcher.cell(text):
                    return True
    return False


# ----- the clean-up ---------------------------------------------------------------------------------------------------


class Report(dict):
    def add(self, key: str, n: int = 1) -> None:
        if n:
            self[key] = self.get(key, 0) + n

    def error(self, where: str, exc: BaseException) -> None:
        self.setdefault("errors", []).append(f"{where}: {type(exc).__name__}: {exc}"[:500])


MAX_LISTED = 100


def _note(report: Report, key: str, value: Any) -> None:
    listed = report.setdefault(key, [])
    if len(listed) < MAX_LISTED:
        listed.append(value)


def _table_file(path: Path, fmt: str, encoding: str, match, matcher: Matcher, report: Report, var: Path) -> None:
    """Blank the rows of one stored table that `match`. A file no reader understands is deleted when its bytes hold
    one of the person's identifiers (and otherwise left, noted); a file that mentions the person but cannot be
    written back faithfully is deleted rather than kept with the person's data."""
    rel = str(path.relative_to(var)) if _inside(path, var) else path.name
    if fmt == "parquet":
        try:
            n = redact_parquet(path, match)
        except Exception as exc:
            report.error(rel, exc)
            return
        report.add("rows_blanked_in_files", n)
        if n:
            _note(report, "files_redacted", rel)
        return
    try:
        skip = rows_to_blank(path, fmt, encoding, match)
    except Exception:  # unreadable: damaged, wrong encoding, not what its name says
        try:
            if _bytes_mention(path, matcher):
                path.unlink(missing_ok=True)
                _note(report, "files_deleted_unreadable", rel)
            else:
                _note(report, "files_unreadable", rel)
        except OSError as exc:
            report.error(rel, exc)
        return
    if not skip:
        return
    try:
        blank_rows(path, fmt, encoding, skip)
    except Exception:
        try:
            path.unlink(missing_ok=True)
            _note(report, "files_deleted_unrewritable", rel)
        except OSError as exc:
            report.error(rel, exc)
        return
    report.add("rows_blanked_in_files", len(skip))
    _note(report, "files_redacted", rel)


def _import_files(matcher: Matcher, report: Report, var: Path) -> None:
    root = var / "imports"
    if not root.exists():
        return
    jobs = {}
    for job in ImportJob.objects.exclude(file="").only("pk", "file", "format", "encoding", "kind", "mapping",
                                                       "source", "status"):
        jobs[str(Path(job.file).resolve())] = job
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".privacy-")):
        job = jobs.get(str(path.resolve()))
        report.add("import_files_scanned")
        if job is not None and job.is_active:
            _note(report, "import_files_busy", job.pk)
            continue
        if job is not None:
            fmt = "jsonl" if job.format in ("jsonl", "grid") else job.format
            member, external = key_columns(job.kind, job.mapping)

            def match(row, member=member, external=external, source=job.source):
                return matcher.mapped_row(row, member_cols=member, external_cols=external, source=source)

            _table_file(path, fmt, job.encoding, match, matcher, report, var)
        else:
            fmt = TABLE_SUFFIXES.get(path.suffix.lower())
            if fmt:
                _table_file(path, fmt, "", lambda row: matcher.row(row.values()), matcher, report, var)
            elif _bytes_mention(path, matcher):
                path.unlink(missing_ok=True)
                _note(report, "files_deleted_unreadable", str(path.relative_to(var)))


def _label_files(matcher: Matcher, report: Report, var: Path) -> None:
    uploads = var / "labels" / "uploads"
    if uploads.exists():
        for path in sorted(p for p in uploads.iterdir() if p.is_file() and not p.name.startswith(".privacy-")):
            fmt = TABLE_SUFFIXES.get(path.suffix.lower())
            report.add("label_files_scanned")
            if fmt:
                _table_file(path, fmt, "", lambda row: matcher.row(row.values()), matcher, report, var)
    if not apps.is_installed("clientwise.analytics"):
        return

    ids = {str(i) for i in matcher.ids}
    for model in LabelModel.objects.only("pk", "model_file", "id_kind"):
        oof = Path(model.model_file).with_suffix(".oof.parquet")
        if not oof.exists() or not _inside(oof, var):
            continue
        kind = model.id_kind

        def drop(row, kind=kind):
            value = row.get("id")
            if kind == "customer_id":
                return str(value) in ids
            if kind == "member_number":
                return matcher.member(value) or matcher.cell(value)
            return any(matcher.external_id(src, value) for src in matcher.external) or matcher.cell(value)

        try:
            report.add("label_scores_removed_from_files", redact_parquet(oof, drop))
        except Exception as exc:
            report.error(str(oof.relative_to(var)), exc)


def _snapshots(matcher: Matcher, report: Report) -> None:
    if not apps.is_installed("clientwise.analytics") or not matcher.ids:
        return

    root = analytics_dir()
    if not root.exists():
        return
    ids = matcher.ids
    for snap in sorted(p for p in root.iterdir() if p.is_dir()):
        report.add("snapshots_scanned")
        for name, column in (("customers.parquet", "id"), (EXPLAINER_FEATURES, "customer_id")):
            path = snap / name
            if not path.exists():
                continue
            try:
                report.add("snapshot_rows_removed", redact_parquet(path, lambda r, c=column: r.get(c) in ids))
            except Exception as exc:
                report.error(f"{snap.name}/{name}", exc)


def _mentions(value: Any, matcher: Matcher) -> bool:
    if isinstance(value, dict):
        if value.get("customer_id") in matcher.ids or ("name" in value and value.get("id") in matcher.ids):
            return True
        return any(_mentions(v, matcher) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, matcher) for v in value)
    return isinstance(value, str) and matcher.cell(value)


def _stored_responses(matcher: Matcher, report: Report) -> None:
    hits = []
    for pk, body in IdempotencyKey.objects.exclude(response_body=None).values_list("pk", "response_body").iterator(
            chunk_size=2000):
        try:
            data = json.loads(bytes(body or b"") or b"null")
        except ValueError:
            continue
        if _mentions(data, matcher):
            hits.append(pk)
    IdempotencyKey.objects.filter(pk__in=hits).update(response_body=ERASED_BODY, content_type="application/json")
    report.add("stored_responses_erased", len(hits))


def run(work: dict) -> Report:
    """Carry out an erasure's after-commit clean-up (see the module docstring)."""
    matcher = Matcher.from_json(work.get("matcher") or {})
    report = Report()
    var = _var()
    for rel in work.get("delete", []):
        path = var / rel
        if not _inside(path, var):
            report.error(rel, ValueError("outside VAR_DIR"))
            continue
        try:
            if path.exists():
                path.unlink()
                report.add("files_deleted")
        except OSError as exc:
            report.error(rel, exc)
    if matcher.empty:
        return report
    for step in (_import_files, _label_files):
        try:
            step(matcher, report, var)
        except Exception as exc:
            report.error(step.__name__.strip("_"), exc)
    for step2 in (_snapshots, _stored_responses):
        try:
            step2(matcher, report)
        except Exception as exc:
            report.error(step2.__name__.strip("_"), exc)
    return report
