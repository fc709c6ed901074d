"""Readers: encodings detected, undecodable bytes refused clearly, XLSX and JSONL streamed row by row."""

from __future__ import annotations

import json

import pytest

from clientwise.core.errors import DomainError
from clientwise.dataio import readers

HEADER = "姓名,手机\n"
ROWS = "张伟,13812345678\n李娜,13900001111\n"


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"),
                                               ("gb18030", "gb18030")])
def test_csv_encodings_are_detected_and_read(tmp_path, encoding, expected):
    path = tmp_path / "c.csv"
    path.write_bytes((HEADER + ROWS * 20).encode(encoding))
    assert readers.detect_encoding(path) == expected
    headers, rows = readers.open_rows(path, "csv")
    assert headers == ["姓名", "手机"]
    first = next(rows)
    assert first == (2, {"姓名": "张伟", "手机": "13812345678"})
    assert sum(1 for _ in rows) == 40 - 1


def test_gb18030_only_characters(tmp_path):
    # 𠀀 exists in GB18030 but not in GBK: the widened encoding reads it.
    path = tmp_path / "c.csv"
    path.write_bytes(("姓名\n张𠀀伟\n" + "王芳\n" * 30).encode("gb18030"))
    headers, rows = readers.open_rows(path, "csv")
    assert next(rows) == (2, {"姓名": "张𠀀伟"})


def test_undecodable_bytes_give_a_clear_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"name,mobile\n" + bytes(range(128, 256)) * 50)
    with pytest.raises(DomainError) as exc:
        headers, rows = readers.open_rows(path, "csv")
        list(rows)
    assert exc.value.code == "undecodable"
    assert "UTF-8" in exc.value.message


def test_mixed_encoding_fails_at_the_row(tmp_path):
    # A UTF-8 file whose later rows were pasted in GBK: the row number is named.
    head = ("name\n" + "张伟\n" * 60000).encode("utf-8")  # longer than the detection sample
    path = tmp_path / "mixed.csv"
    path.write_bytes(head + "李娜\n".encode("gbk"))
    headers, rows = readers.open_rows(path, "csv")
    with pytest.raises(DomainError) as exc:
        list(rows)
    assert exc.value.code == "undecodable"
    assert "60002" in exc.value.message


def test_empty_file_and_unknown_format(tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(b"")
    with pytest.raises(DomainError) as exc:
        readers.detect_encoding(path)
    assert exc.value.code == "empty_file"
    with pytest.raises(DomainError) as exc:
        readers.detect_format("data.pdf")
    assert exc.value.code == "unsupported_format"


def test_extra_cells_blank_rows_and_semicolons(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("a;b\n1;2;3\n\n;\n4\n", encoding="utf-8")
    headers, rows = readers.open_rows(path, "csv")
    assert headers == ["a", "b"]
    assert list(rows) == [(2, {"a": "1", "b": "2", "__extra_3": "3"}), (5, {"a": "4", "b": ""})]


def test_xlsx_streams_values_as_text(tmp_path):
    import datetime as dt

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "手机", "生日", "金额"])
    ws.append(["张伟", 13812345678, dt.datetime(1990, 1, 2), 12.5])
    ws.append([None, None, None, None])
    ws.append(["李娜", "13900001111", dt.date(1991, 3, 4), 3])
    path = tmp_path / "c.xlsx"
    wb.save(path)
    headers, rows = readers.open_rows(path, "xlsx")
    assert headers == ["姓名", "手机", "生日", "金额"]
    assert list(rows) == [
        (2, {"姓名": "张伟", "手机": "13812345678", "生日": "1990-01-02", "金额": "12.5"}),
        (4, {"姓名": "李娜", "手机": "13900001111", "生日": "1991-03-04", "金额": "3"}),
    ]
    assert readers.count_rows(path, "xlsx") == 3


def test_jsonl_bad_line_is_a_row_with_an_error(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"name": "张伟", "mobile": 13812345678}, ensure_ascii=False) + "\n{oops\n\n[1]\n",
                    encoding="utf-8")
    headers, rows = readers.open_rows(path, "jsonl")
    assert headers == ["name", "mobile"]
    out = list(rows)
    assert out[0] == (1, {"name": "张伟", "mobile": "13812345678"})
    assert out[1][0] == 2 and readers.PARSE_ERROR in out[1][1]
    assert out[2][0] == 4 and readers.PARSE_ERROR in out[2][1]
    assert readers.count_rows(path, "jsonl") == 4


def test_suggested_mapping_from_chinese_and_english_headers():
    from clientwise.dataio.mapping import suggest_mapping

    assert suggest_mapping("customers", ["姓名", "手机号", "电子邮箱", "会员卡号", "出生日期", "性别", "省份", "城市",
                                         "备注(内部)"]) == {
        "name": "姓名", "mobile": "手机号", "email": "电子邮箱", "member_number": "会员卡号", "gender": "性别",
        "birth_date": "出生日期", "province": "省份", "city": "城市", "notes": "备注(内部)"}
    assert suggest_mapping("customers", ["Name", "Mobile Phone", "E-mail", "Phone"]) == {
        "name": "Name", "mobile": "Mobile Phone", "email": "E-mail"}
    assert suggest_mapping("orders", ["订单号", "会员号", "门店编码", "下单时间", "商品编码", "数量", "单价", "金额"]) == {
        "number": "订单号", "customer_member_number": "会员号", "store": "门店编码", "ordered_at": "下单时间",
        "sku": "商品编码", "quantity": "数量", "unit_price": "单价", "amount": "金额"}


def test_csv_cells_are_the_rows_read_csv_gives(tmp_path):
    """The column-wise import path reads CSV rows as lists of cells; turned into dicts they are read_csv's rows,
    with the same numbers (blank and whitespace-only rows skipped, quoted line breaks, short and long rows)."""
    path = tmp_path / "c.csv"
    path.write_text('a;b;c\n1; x ;3\n\n  ; ;\n"multi\nline";2\n4;5;6;7;\n;;9\n', encoding="utf-8")
    headers, rows = readers.open_rows(path, "csv", "utf-8")
    cell_headers, cells = readers.read_csv_cells(path, "utf-8")
    expected = list(rows)
    got = [(n, readers.row_dict(cell_headers, c)) for n, c in cells]
    assert cell_headers == headers and got == expected
    assert [n for n, _r in expected] == [2, 5, 6, 7]  # a record with a quoted line break is one row
    assert expected[2] == (6, {"a": "4", "b": "5", "c": "6", "__extra_4": "7"})


def test_csv_cells_fail_like_read_csv(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes("姓名,手机\n".encode() + "张伟,1\n".encode() * 3 + "王芳,2\n".encode("gbk"))
    _headers, cells = readers.read_csv_cells(path, "utf-8")
    with pytest.raises(DomainError) as exc:
        list(cells)
    _headers, rows = readers.open_rows(path, "csv", "utf-8")
    with pytest.raises(DomainError) as again:
        list(rows)
    assert exc.value.message == again.value.message and "Row 5" in exc.value.message
