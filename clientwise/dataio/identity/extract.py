"""Stream customers from the operational database into DuckDB through Arrow, for the Splink model.

A million customers never become ORM objects: a (server-side on PostgreSQL) cursor is read in chunks, each chunk
becomes one Arrow record batch, and DuckDB consumes the batches as a stream. Only active (not archived)
persons are extracted; organizations are matched by other means (their names are registered, not typed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import duckdb
import pyarrow as pa
from django.db import connection

from clientwise.customers.models import ContactPoint, Customer

CHUNK_ROWS = 50_000

CUSTOMER_SCHEMA = pa.schema([
    ("id", pa.int64()),
    ("name", pa.string()),
    ("name_pinyin", pa.string()),
    ("name_initials", pa.string()),
    ("birth_date", pa.string()),
    ("gender", pa.string()),
    ("occupation", pa.string()),
    ("income_band", pa.string()),
    ("mobile", pa.string()),
    ("email", pa.string()),
    ("id_number", pa.string()),
    ("province", pa.string()),
    ("city", pa.string()),
    ("member_number", pa.string()),
    ("created_at", pa.string()),
    ("source", pa.string()),
])
ADDRESS_SCHEMA = pa.schema([("customer_id", pa.int64()), ("cp_id", pa.string()), ("is_primary", pa.string()),
                            ("address", pa.string()), ("postal_code", pa.string())])


def _text(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _batches(sql: str, params: list, schema: pa.Schema, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Run `sql` and yield Arrow batches of at most `chunk_rows` rows; empty strings become nulls."""
    n = len(schema)
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while True:
            rows = cursor.fetchmany(chunk_rows)
            if not rows:
                break
            columns = list(zip(*rows, strict=True))
            arrays = [pa.array(columns[0], type=schema.field(0).type)]
            arrays += [pa.array([_text(v) for v in columns[i]], type=pa.string()) for i in range(1, n)]
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _tables() -> dict[str, str]:
    # Only the table names: the rows are read with SQL, never as model instances.
    return {"customer": Customer._meta.db_table, "contact_point": ContactPoint._meta.db_table}


def customer_sql() -> tuple[str, list]:
    tables = _tables()
    qn = connection.ops.quote_name
    cols = ["id", "name", "name_pinyin", "name_initials", "birth_date", "gender", "occupation", "income_band", "mobile", "email", "id_number", "province", "city",
            "member_number", "created_at", "source"]
    sql = (f"SELECT {', '.join(qn(c) for c in cols)} FROM {qn(tables['customer'])} "
           f"WHERE {qn('kind')} = %s AND {qn('archived_at')} IS NULL ORDER BY {qn('id')}")
    return sql, ["person"]


def address_sql() -> tuple[str, list]:
    tables = _tables()
    qn = connection.ops.quote_name
    sql = (f"SELECT {qn('customer_id')}, {qn('id')}, {qn('is_primary')}, {qn('value')}, {qn('postal_code')} "
           f"FROM {qn(tables['contact_point'])} "
           f"WHERE {qn('kind')} = %s ORDER BY {qn('customer_id')}, {qn('is_primary')} DESC, {qn('id')}")
    return sql, ["address"]


def _load(con: duckdb.DuckDBPyConnection, table: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> None:
    """Append each batch to `table` as it arrives. The batches are pulled in this thread: the database cursor
    belongs to it (Django connections are per thread), and only one chunk is in Python memory at a time."""
    con.execute(f"DROP TABLE IF EXISTS {table}")
    con.register("arrow_chunk", pa.Table.from_batches([], schema=schema))
    con.execute(f"CREATE TABLE {table} AS SELECT * FROM arrow_chunk")
    con.unregister("arrow_chunk")
    for batch in batches:
        con.register("arrow_chunk", pa.Table.from_batches([batch]))
        con.execute(f"INSERT INTO {table} SELECT * FROM arrow_chunk")
        con.unregister("arrow_chunk")


def extract_customers(con: duckdb.DuckDBPyConnection, *, chunk_rows: int = CHUNK_ROWS) -> int:
    """Load customers into the DuckDB table `customers_raw` and one postal address per customer (the primary,
    else the oldest: street address and postcode) into `addresses`,
    then build `records`, the table Splink reads (with the derived comparison keys). Returns the row count."""
    sql, params = customer_sql()
    _load(con, "customers_raw", CUSTOMER_SCHEMA, _batches(sql, params, CUSTOMER_SCHEMA, chunk_rows))
    sql, params = address_sql()
    _load(con, "address_rows", ADDRESS_SCHEMA, _batches(sql, params, ADDRESS_SCHEMA, chunk_rows))
    con.execute("DROP TABLE IF EXISTS addresses")
    con.execute(ADDRESSES_SQL)
    con.execute("DROP TABLE address_rows")
    con.execute("DROP TABLE IF EXISTS records")
    con.execute(RECORDS_SQL)
    return con.execute("SELECT count(*) FROM records").fetchall()[0][0]


# One address per customer: the primary one, else the oldest (booleans arrive as text: "1"/"True").
ADDRESSES_SQL = """
CREATE TABLE addresses AS
SELECT customer_id,
       arg_min(address, k) AS address,
       arg_min(postal_code, k) AS postal_code
FROM (SELECT customer_id, address, postal_code,
             (CASE WHEN lower(is_primary) IN ('1', 'true', 't') THEN 0 ELSE 1 END,
              CAST(cp_id AS BIGINT)) AS k
      FROM address_rows)
GROUP BY customer_id
"""

# Derived keys: names without spaces (and with their words sorted, so "Smith John" meets "John Smith"), the
# last 8 digits of a phone (a mistyped or re-issued country/area prefix), an email's local part (the same
# person on another provider), the birth year for blocking. A name written in words ("John Smith", "Smith,
# John") also gives its first and last word (name_first, name_last) so given and family names can be compared
# one by one, in either order; a name in one word (张伟) leaves them null and is compared by its pinyin. The
# street address is lower-cased with runs of spaces and punctuation folded to one space, without a leading
# province or city that repeats the record's own (广东省深圳市南山区… and 南山区… are one address; so are
# 北京北京… and 北京…), without spaces next to Chinese characters and without a final 号 (house number); the
# postcode keeps its letters and digits only. Name initials: a Chinese name's pinyin initials as the customer
# record keeps them (王琪诺 → wqn); a name in Latin words, the first letter of each word, sorted (Kevin Lee → kl,
# as Lee Kevin).
RECORDS_SQL = """
CREATE TABLE records AS
WITH w AS (
    SELECT r.*, list_filter(regexp_split_to_array(lower(trim(r.name)), '[\\s,]+'), lambda x: x <> '') AS words,
           trim(regexp_replace(lower(a.address), '[\\s,.;#/-]+', ' ', 'g')) AS address_folded,
           a.postal_code AS postal_code_raw
    FROM customers_raw r LEFT JOIN addresses a ON a.customer_id = r.id
), p AS (
    SELECT *, CASE WHEN province IS NOT NULL AND starts_with(address_folded, lower(province))
                   THEN regexp_replace(substr(address_folded, length(province) + 1), '^(省|市|自治区)?\\s*', '')
                   ELSE address_folded END AS address_no_province
    FROM w
), c AS (
    SELECT *, CASE WHEN city IS NOT NULL AND starts_with(address_no_province, lower(city))
                   THEN regexp_replace(substr(address_no_province, length(city) + 1), '^市?\\s*', '')
                   ELSE address_no_province END AS address_street
    FROM p
)
SELECT
    c.id AS unique_id,
    c.name,
    nullif(lower(replace(c.name, ' ', '')), '') AS name_clean,
    nullif(array_to_string(list_sort(string_split(lower(trim(c.name)), ' ')), ''), '') AS name_sorted,
    CASE WHEN len(c.words) >= 2 THEN c.words[1] END AS name_first,
    CASE WHEN len(c.words) >= 2 THEN c.words[-1] END AS name_last,
    c.name_pinyin,
    CASE WHEN len(c.words) >= 2 AND NOT regexp_matches(c.name, '[^\\x00-\\x7f]')
         THEN array_to_string(list_sort(list_transform(c.words, lambda w: left(w, 1))), '')
         ELSE nullif(c.name_initials, '') END AS name_initials,
    c.birth_date,
    substr(c.birth_date, 1, 4) AS birth_year,
    c.gender,
    c.occupation,
    c.income_band,
    c.mobile,
    CASE WHEN length(regexp_replace(c.mobile, '[^0-9]', '', 'g')) >= 8
         THEN right(regexp_replace(c.mobile, '[^0-9]', '', 'g'), 8) END AS phone_last8,
    lower(c.email) AS email,
    nullif(split_part(lower(c.email), '@', 1), '') AS email_local,
    upper(c.id_number) AS id_number,
    c.province,
    c.city,
    nullif(trim(regexp_replace(regexp_replace(c.address_street, ' ?([^\\x00-\\x7f]) ?', '\\1', 'g'), '号$', '')), '')
        AS address,
    nullif(upper(regexp_replace(c.postal_code_raw, '[^0-9A-Za-z]', '', 'g')), '') AS postal_code,
    c.member_number,
    c.created_at,
    c.source
FROM c
"""
