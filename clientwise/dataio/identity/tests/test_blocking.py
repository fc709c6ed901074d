"""Blocking rules hold when optional fields are blank: a company's file may have no gender, email, ID number or
mobile at all (the FEBRL benchmarks have none of the four but the ID number).

For every rule and every optional field: two records of one person that agree only on what the rule needs,
with the optional field blank on both, still make a pair under that rule; a rule made of the optional field
itself leaves the pair to the other rules, which find it from name, birth date and place. The records go through
the extract's own SQL (RECORDS_SQL), so derived keys (sorted name, given and family names, last 8 digits, email
local part, birth year) are what the product computes.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from clientwise.dataio.identity import engine, extract

PERSON = {"id": 1, "name": "John Smith", "name_pinyin": "johnsmith", "name_initials": "js", "birth_date": "1980-05-17", "gender": "m",
          "occupation": "teacher", "income_band": "mid", "mobile": "+8613812345678", "email": "john@example.com",
          "id_number": "110101198005170011", "province": "上海", "city": "上海", "address": "南京路 100 号",
          "postal_code": "200001"}
# Somebody else in every field.
STRANGER = {"id": 2, "name": "Wendy Zhou", "name_pinyin": "wendyzhou", "name_initials": "wz", "birth_date": "1955-01-02", "gender": "f",
            "occupation": "nurse", "income_band": "high", "mobile": "+8613900000001", "email": "wz@other.cn",
            "id_number": "440101195501020022", "province": "广东", "city": "广州", "address": "中山路 8 号",
            "postal_code": "510000"}


def twin_for(cols: tuple[str, ...]) -> dict:
    """A second record of PERSON that agrees with it only on what the rule `cols` compares."""
    twin = dict(STRANGER)
    cols = set(cols)
    for col in cols & {"mobile", "email", "id_number", "city", "postal_code", "name_pinyin", "name_initials",
                       "birth_date", "address", "gender"}:
        twin[col] = PERSON[col]
    if "phone_last8" in cols and "mobile" not in cols:
        twin["mobile"] = "+8613712345678"  # another prefix, the same last 8 digits
    if "email_local" in cols and "email" not in cols:
        twin["email"] = "john@another.org"
    if "birth_year" in cols and "birth_date" not in cols:
        twin["birth_date"] = "1980-12-31"
    if "name_sorted" in cols:
        twin["name"] = "Smith John"
    elif {"name_first", "name_last"} <= cols:
        twin["name"] = "John Smith"
    elif "name_last" in cols:
        twin["name"] = "Jon Smith"
    elif "name_first" in cols:
        twin["name"] = "John Smyth"
    elif "name_initials" in cols:
        twin["name"], twin["name_pinyin"] = "Jon Smiht", "jonsmiht"  # typos in both names: only initials agree
    return twin


def records(rows: list[dict]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    raw = pa.Table.from_pylist([{f.name: r.get(f.name) for f in extract.CUSTOMER_SCHEMA} for r in rows],
                               schema=extract.CUSTOMER_SCHEMA)
    addresses = pa.Table.from_pylist([{"customer_id": r["id"], "address": r["address"],
                                       "postal_code": r["postal_code"]} for r in rows])
    con.register("raw_in", raw)
    con.register("addresses_in", addresses)
    con.execute("CREATE TABLE customers_raw AS SELECT * FROM raw_in")
    con.execute("CREATE TABLE addresses AS SELECT * FROM addresses_in")
    con.execute(extract.RECORDS_SQL)
    return con


def pairs_under(con: duckdb.DuckDBPyConnection, keys: list[tuple[str, ...]]) -> int:
    from splink import DuckDBAPI, block_on
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    counts = count_comparisons_from_blocking_rules(
        DuckDBAPI(con).register("records"), blocking_rules=[block_on(*cols) for cols in keys],
        link_type="dedupe_only", record_sample_proportion=1.0)
    return counts[-1]["cumulative_comparison_count"]


def test_no_rule_combines_an_optional_field_with_others():
    for cols in engine.BLOCKING_KEYS:
        if len(cols) > 1:
            assert not set(cols) & set(engine.OPTIONAL_FIELDS), cols


def _derived_from(field: str) -> set[str]:
    return {field, *{"mobile": {"phone_last8"}, "email": {"email_local"}}.get(field, set())}


@pytest.mark.parametrize("optional", engine.OPTIONAL_FIELDS)
@pytest.mark.parametrize("cols", engine.BLOCKING_KEYS, ids=lambda c: "+".join(c))
def test_each_rule_with_each_optional_field_blank(cols, optional):
    twin = twin_for(cols)
    a, b = dict(PERSON), dict(twin)
    a[optional] = b[optional] = None
    if set(cols) & _derived_from(optional):
        # The rule is the blank field itself: it has nothing to match on; the other rules find the person from
        # name, birth date and place.
        assert pairs_under(records([a, b]), [cols]) == 0
        b = {**PERSON, "id": 2, optional: None, "mobile": None, "email": None, "id_number": None}
        assert pairs_under(records([a, b]), engine.BLOCKING_KEYS) == 1
    else:
        assert pairs_under(records([a, b]), [cols]) == 1
        # and the twin is not a pair under the rule once it differs there too: the test means what it says
        assert pairs_under(records([a, {**STRANGER, optional: None}]), [cols]) == 0


def test_a_one_character_slip_without_birth_date_is_compared():
    """王琪诺 typed 王琪娜 (another pinyin), same city, another phone, no birth date or email on the second record:
    only the name's initials and the city are left to bring the two together (issue 13: 17 of 4,000 demo pairs
    were never compared)."""
    a = {**PERSON, "name": "王琪诺", "name_pinyin": "wangqinuo", "name_initials": "wqn", "city": "呼和浩特",
         "address": None, "postal_code": None}
    b = {**a, "id": 2, "name": "王琪娜", "name_pinyin": "wangqina", "birth_date": None, "email": None,
         "mobile": "+8613383672874", "id_number": None, "gender": None}
    assert pairs_under(records([a, b]), engine.BLOCKING_KEYS) == 1
