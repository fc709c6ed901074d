"""The semantic layer's invariants and the spec's parsing, without a database."""

from __future__ import annotations

import pytest

from clientwise.core.errors import DomainError, ValidationFailed
from clientwise.reports import semantic
from clientwise.reports.spec import SPEC_VERSION, parse_spec, upgrade


def test_every_fact_has_a_customer_column_and_reachable_fields():
    assert {"sales", "customers"} <= set(semantic.FACTS)
    for fact in semantic.FACTS.values():
        table, _dot, column = fact.customer_column.partition(".")
        assert column and semantic.reachable(fact, table), fact.name
        for m in semantic.measures_for(fact.name):
            assert all(semantic.reachable(fact, t) for t in m.tables), m.id
    for d in semantic.DIMENSIONS.values():
        for fact in d.facts:
            assert all(semantic.reachable(semantic.FACTS[fact], t) for t in d.tables), (d.id, fact)
        if d.pii:
            assert d.masked is not None and d.key is not None, d.id


def test_every_field_has_sql_for_the_operational_databases():
    for field in [*semantic.MEASURES.values(), *semantic.DIMENSIONS.values()]:
        for engine in ("sqlite", "postgresql"):
            assert semantic.sql_for(field.sql, engine), (field.id, engine)


def test_date_dimensions_for_each_grain():
    for grain in semantic.DATE_GRAINS:
        d = semantic.dimension(f"order_{grain}")
        assert d.grain == grain and semantic.available_on(d, "duckdb")


def test_spec_parsing_and_upgrade():
    spec = parse_spec({"measures": ["revenue"], "rows": ["region"]})
    assert spec.version == SPEC_VERSION and spec.kind == "pivot" and spec.fact == "sales"
    assert upgrade({"measures": ["revenue"]})["version"] == SPEC_VERSION
    with pytest.raises(DomainError):
        upgrade({"measures": ["revenue"], "version": SPEC_VERSION + 1})
    for bad in ({"measures": []}, {"measures": ["revenue", "revenue"]}, {"measures": ["revenue"], "extra": 1},
                {"measures": ["revenue"], "compare": "previous_year"},
                {"measures": ["revenue"], "top_n": {"dimension": "region", "n": 3, "by": "revenue"}},
                {"measures": ["revenue"], "date_from": "2026-02-01", "date_to": "2026-01-01"}):
        with pytest.raises(ValidationFailed):
            parse_spec(bad)
    assert parse_spec({"measures": ["revenue"], "last_days": 30}).resolved().date_to is not None
