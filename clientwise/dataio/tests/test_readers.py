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


# --- CSV as columns: Arrow's reader where it reads what csv.reader reads, the Python reader otherwise ----------


def test_py_whitespace_is_what_str_strip_strips():
    assert "".join(c for c in map(chr, range(0x110000)) if c.isspace()) == readers.PY_WHITESPACE


def _columns(path, encoding, wanted):
    """Everything read_csv_columns hands out: [(number, {header: stripped value}, cells)], the info, or the error."""
    headers, chunks, info = readers.read_csv_columns(path, encoding, wanted)
    out = []
    try:
        for chunk in chunks:
            for i, number in enumerate(chunk.numbers):
                out.append((number, {h: chunk.values[h][i] for h in wanted if h in headers},
                            readers.row_dict(headers, chunk.cells(i))))
    except DomainError as exc:
        out.append(("error", exc.code, exc.message))
    return headers, out, info


def _cells(path, encoding, wanted):
    """The same from read_csv_cells (the Python reader), row by row."""
    headers, rows = readers.read_csv_cells(path, encoding)
    out = []
    try:
        for number, cells in rows:
            row = readers.row_dict(headers, cells)
            out.append((number, {h: row[h] for h in wanted}, row))
    except DomainError as exc:
        out.append(("error", exc.code, exc.message))
    return headers, out


BODY = ["B1;C1;  S1 ;2024-01-02 10:00;\u3000BK-1\u3000;1;5.00", "B1;C1;S1;2024-01-02 10:00;BK-2;2;6.00",
        "", ";;;;;;", "  ; ;\t;;;;", "B2;张伟;S2;2024/1/3;BK-3;1;7.00\x1c", "B3;C3;S3;2024-01-04;BK-4;3;8.00"]


@pytest.mark.parametrize("name,encoding,text,reader", [
    ("plain", "utf-8", "订单号;客户;门店;时间;商品;数量;单价\n" + "\n".join(BODY * 40) + "\n", "arrow"),
    ("crlf, no newline at the end", "utf-8", "订单号;客户;门店;时间;商品;数量;单价\r\n" + "\r\n".join(BODY * 40), "arrow"),
    ("bom", "utf-8-sig", "\ufeff订单号;客户;门店;时间;商品;数量;单价\n" + "\n".join(BODY * 40) + "\n", "arrow"),
    ("gb18030", "gb18030", "订单号;客户;门店;时间;商品;数量;单价\n" + "\n".join(BODY * 40) + "\n张𠀀伟;;;;;;\n", "arrow"),
    ("quotes", "utf-8", 'a;b;c;d;e;f;g\n"x;y";2;3;4;5;6;7\n' + "\n".join(BODY * 40) + "\n", "python"),
    ("lone carriage return", "utf-8", "a;b;c;d;e;f;g\n1;2\r3;4;5;6;7\n" + "\n".join(BODY * 40) + "\n", "python"),
    ("bom inside", "utf-8-sig", "\ufeffa;b;c;d;e;f;g\n" + "\n".join(BODY * 40) + "\n\ufeffB9;1;2;3;4;5;6\n", "python"),
    ("short row late", "utf-8", "a;b;c;d;e;f;g\n" + "\n".join(BODY * 400) + "\nB9;1;2\n" + "\n".join(BODY * 40) + "\n",
     "arrow+python"),
    ("long row late", "utf-8", "a;b;c;d;e;f;g\n" + "\n".join(BODY * 400) + "\nB9;1;2;3;4;5;6;7;8\n" + "\n".join(BODY) + "\n",
     "arrow+python"),
    ("blank line as one empty cell", "utf-8", "a;b;c;d;e;f;g\n" + "\n".join(BODY * 300) + "\n\n\n", "arrow"),
], ids=lambda x: x if len(x) < 40 else "")
def test_csv_columns_are_the_rows_read_csv_cells_gives(tmp_path, monkeypatch, name, encoding, text, reader):
    monkeypatch.setattr(readers, "ARROW_BLOCK", 4096)  # many blocks: a fallback part way through the file
    path = tmp_path / "o.csv"
    path.write_bytes(text.encode("utf-8" if encoding == "utf-8-sig" else encoding))
    wanted = ["订单号", "商品", "单价", "a", "e"]
    headers, got, info = _columns(path, encoding, wanted)
    expected_headers, expected = _cells(path, encoding, [h for h in wanted if h in headers])
    assert headers == expected_headers
    assert got == expected
    assert info["reader"] == reader
    if reader == "arrow+python":
        assert 2 < info["python_from"] < 400 * len(BODY)


@pytest.mark.parametrize("bad", [b"\xff", b"\xed\xa0\x80", b"\xe4\xb8"])
def test_csv_columns_fail_at_the_row_read_csv_fails_at(tmp_path, monkeypatch, bad):
    monkeypatch.setattr(readers, "ARROW_BLOCK", 4096)
    path = tmp_path / "o.csv"
    path.write_bytes(("a,b\n" + "1,2\n" * 3000).encode() + b"3," + bad + b"\n" + b"4,5\n" * 10)
    _headers, got, info = _columns(path, "utf-8", ["a", "b"])
    assert got == _cells(path, "utf-8", ["a", "b"])[1]
    assert got[-1][:2] == ("error", "undecodable") and "3002" in got[-1][2]
    assert info["reader"] == "arrow+python"


def test_csv_columns_field_too_long_fails_like_csv(tmp_path):
    import csv

    path = tmp_path / "o.csv"
    path.write_text("a,b\n1,2\n3," + "x" * (csv.field_size_limit() + 1) + "\n")
    _headers, got, _info = _columns(path, "utf-8", ["a"])
    assert got == _cells(path, "utf-8", ["a"])[1]
    assert got[-1][:2] == ("error", "bad_file")


def test_gb18030_read_by_arrow_decodes_like_python(tmp_path):
    path = tmp_path / "o.csv"
    path.write_bytes(("姓名,手机\n" + "张𠀀伟, 13812345678 \n王芳,1\n" * 50).encode("gb18030"))
    _headers, got, info = _columns(path, "gb18030", ["姓名", "手机"])
    assert info["reader"] == "arrow"
    assert got == _cells(path, "gb18030", ["姓名", "手机"])[1]
    assert got[0][1] == {"姓名": "张𠀀伟", "手机": "13812345678"}
