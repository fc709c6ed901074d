"""Import files and tables are redacted in place: the person's rows blank, every other row and every row number
read back by dataio exactly as before, in each format and encoding dataio reads."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clientwise.dataio import readers
from clientwise.privacy import files
from clientwise.privacy.subject import Subject


@pytest.fixture
def matcher(settings):
    subject = Subject(customer_id=7, customer_ids=(7,), phones={"+8613812345678"}, emails={"a@example.com"},
                      member_numbers={"M77"}, external_ids={("pos", "C-1")})
    return subject.matcher


def rows(path, fmt, encoding=""):
    _h, it = readers.open_rows(path, fmt, encoding)
    return list(it)


def test_csv_gb18030_semicolons_blank_lines_and_multiline_cells(tmp_path, matcher):
    path = tmp_path / "c.csv"
    text = ("姓名;手机;备注\r\n张三;138 1234 5678;\"两行\n备注\"\r\n\r\n李四;13900001111;x\r\n"
            "王五;13700002222;a@example.com 的朋友\r\n赵六;+86 138-1234-5678;\r\n")
    path.write_bytes(text.encode("gb18030"))
    before = rows(path, "csv", "gb18030")
    assert files.redact_table(path, "csv", "gb18030", lambda r: matcher.row(r.values())) == 2
    after = rows(path, "csv", "gb18030")
    assert after == [r for r in before if r[1]["姓名"] not in ("张三", "赵六")]
    assert [n for n, _r in after] == [4, 5]
    raw = path.read_bytes().decode("gb18030")
    assert "1234" not in raw and "张三" not in raw and "王五" in raw


def test_jsonl_lines_keep_their_numbers(tmp_path, matcher):
    path = tmp_path / "g.jsonl"
    lines = [{"name": "甲", "mobile": "13812345678"}, {}, {"name": "乙", "mobile": "139"}, {"name": "丙", "email": "A@Example.com"}]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    assert files.redact_table(path, "jsonl", "utf-8", lambda r: matcher.row(r.values())) == 2
    assert rows(path, "jsonl", "utf-8") == [(3, {"name": "乙", "mobile": "139"})]


def test_xlsx_rows_keep_their_numbers(tmp_path, matcher):
    from openpyxl import Workbook

    path = tmp_path / "x.xlsx"
    wb = Workbook()
    ws = wb.active
    for row in (["会员号", "姓名", "手机"], ["M77", "张三", 13800000000], [None, None, None], ["M78", "李四", 13812345678],
                ["M79", "王五", 13900001111]):
        ws.append(row)
    wb.save(path)

    def match(row):
        return matcher.row(row.values()) or matcher.member(row.get("会员号"))

    assert files.redact_table(path, "xlsx", "", match) == 2
    assert rows(path, "xlsx") == [(5, {"会员号": "M79", "姓名": "王五", "手机": "13900001111"})]


def test_short_member_numbers_and_external_ids_only_count_in_their_columns(matcher):
    row = {"数量": "M77", "客户编号": "C-1", "会员号": ""}
    assert not matcher.mapped_row(row)  # short values anywhere: not the person
    assert matcher.mapped_row(row, member_cols=["数量"])
    assert matcher.mapped_row(row, external_cols=["客户编号"], source="pos")
    assert not matcher.mapped_row(row, external_cols=["客户编号"], source="other")


def test_parquet_rows_are_removed(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"id": [1, 7, 9, 7], "v": ["a", "b", "c", "d"]}), path)
    assert files.redact_parquet(path, lambda r: r["id"] == 7) == 2
    assert pq.read_table(path).to_pydict() == {"id": [1, 9], "v": ["a", "c"]}
    assert files.redact_parquet(path, lambda r: r["id"] == 7) == 0


@pytest.mark.django_db
def test_an_unreadable_file_that_mentions_the_person_is_deleted(tmp_path, settings, matcher):
    settings.VAR_DIR = tmp_path
    (tmp_path / "imports").mkdir()
    junk = tmp_path / "imports" / "broken.csv"
    junk.write_bytes(b"\x81\x00bad\xff\xc0 header\x00\n13812345678,x\x00\xfe\n" * 50)
    other = tmp_path / "imports" / "notes.bin"
    other.write_bytes(b"\x00\x01 nothing here")
    report = files.run({"matcher": matcher.as_json(), "delete": ["../outside.txt"]})
    assert not junk.exists() and other.exists(), report
    assert report["files_deleted_unreadable"] == ["imports/broken.csv"]
    assert report["errors"] == ["../outside.txt: ValueError: outside VAR_DIR"]


def test_the_work_list_holds_no_clear_values(matcher):
    text = json.dumps(matcher.as_json())
    for value in ("13812345678", "a@example.com", "M77", "C-1"):
        assert value not in text
