"""The semantic layer: facts, the tables they reach, and the measures and dimensions defined over them.

Every domain defines its measures and dimensions in one place (`clientwise/<domain>/measures.py`) and registers
them here from its AppConfig.ready() through `reports.semantic.register_*`. The pivot compiler only ever sees these
definitions, so one engine serves every report; docs/reports.md shows how a new domain adds its own.

SQL snippets are written in DuckDB's dialect over *logical* table names (`lines`, `orders`, `products`, ...); the
compiler parses them with sqlglot and prints them for DuckDB (over the analytics snapshot), SQLite or PostgreSQL
(over the operational tables). Where the engines really differ (local dates, JSON), a snippet is a dict keyed by
engine ("duckdb", "sqlite", "postgresql"), each written in that engine's own dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from clientwise.core.errors import DomainError, ErrorCode

ENGINES = ("duckdb", "sqlite", "postgresql")
DIALECTS = {"duckdb": "duckdb", "sqlite": "sqlite", "postgresql": "postgres"}

Sql = str | dict[str, str]


def sql_for(sql: Sql, engine: str) -> str | None:
    """The snippet for `engine` (None if it has none: the field is not available there)."""
    if isinstance(sql, str):
        return sql
    return sql.get(engine)


def dialect_of(sql: Sql, engine: str) -> str:
    """The dialect a snippet is written in: DuckDB's for plain strings, the engine's own for per-engine ones."""
    return "duckdb" if isinstance(sql, str) else DIALECTS[engine]


@dataclass(frozen=True)
class Table:
    """A logical table. `db_model` is the operational model ("commerce.Order") behind it; `snapshot` the name it has
    on the DuckDB connection (a snapshot Parquet view or a small table the runner loads), None when the snapshot
    does not have it. `db_filter`/`snapshot_filter` restrict its rows on each side (e.g. completed orders only)."""

    name: str
    db_model: str | None = None
    snapshot: str | None = None
    db_filter: Sql | Callable[[], Sql] | None = None
    snapshot_filter: Sql | None = None
    # DuckDB SQL whose result is stored once per snapshot as table `snapshot` (a fact pre-joined with its
    # always-needed parent, so warm queries scan one native table instead of joining millions of rows).
    materialize: str | None = None
    # Tables the materialize SQL reads besides the snapshot's own files (loaded first: stores, branches, ...).
    depends: tuple[str, ...] = ()
    # A subquery per engine (in that engine's dialect) used instead of a plain table, e.g. first purchase days.
    source: dict[str, str] | Callable[[str], str] | None = None
    # Small tables the snapshot does not hold (stores, users, ...) are read from the operational database into
    # Arrow and registered on the DuckDB connection under `snapshot`; `loader_version()` names the data they
    # were read from (e.g. the current scoring batch), so a new version is read again.
    loader: Callable[[], Any] | None = None
    loader_version: Callable[[], str] | None = None


@dataclass(frozen=True)
class Join:
    """How a fact reaches `table`: `on` is a condition over `table` and tables already joined (`requires`)."""

    table: str
    on: Sql
    requires: tuple[str, ...] = ()
    kind: str = "LEFT"
    # On the snapshot, where the materialized base table carries the key itself (`regions.id = lines.region_id`):
    # the join used there instead of `on`/`requires`. A table joined only for labels (`late`) is joined after
    # the aggregation, on the few result rows, instead of on every fact row.
    snapshot_on: Sql | None = None
    snapshot_requires: tuple[str, ...] = ()
    late: bool = False


@dataclass(frozen=True)
class Fact:
    """A grain of data that measures aggregate: one row per order line (sales), per customer (customers), ...

    `customer_column` is the column holding the customer id, used to apply record-level visibility; every fact
    has one (ARCHITECTURE: every analytic table carries customer_id). `always` lists joins every query needs
    (sales: orders, whose filter drops cancelled orders). `date_dimension` is the dimension family that the
    spec's date range and period comparisons apply to."""

    name: str
    label: Any
    base: str
    customer_column: str
    joins: tuple[Join, ...] = ()
    always: tuple[str, ...] = ()
    date_column: dict[str, str] = field(default_factory=dict)  # engine -> how the date range filters rows
    perm: str | None = None
    # Tables whose columns the base table already carries on the snapshot (materialized): not joined there, and
    # `table.column` is read as `base.column`.
    merged_on_snapshot: tuple[str, ...] = ()
    # Columns of joined tables that the materialized base table carries on the snapshot ("branches.region_id" ->
    # "lines.region_id"): read from the base row, so grouping or filtering by them joins nothing.
    snapshot_columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Measure:
    """An aggregate over a fact. `sql` is an aggregate expression; `format`: money, int, number, pct."""

    id: str
    fact: str
    label: Any
    sql: Sql
    tables: tuple[str, ...] = ()
    format: str = "number"
    perm: str | None = None
    description: Any = ""
    additive: bool = True  # whether sums of cells make sense (revenue: yes; buyers, averages: no)


@dataclass(frozen=True)
class Dimension:
    """Something to group or filter by. `label` is what people see, `key` (when set) what groups and filters
    (a store's id while its name is shown). `pii` dimensions show `masked` instead of `label` to users without the
    view_pii right; the compiler applies it. `facts` are the facts the dimension applies to (the tables it uses
    must be reachable from each). `grain` is set on date dimensions (day, week, month, quarter, year)."""

    id: str
    label: Any
    sql: Sql
    facts: tuple[str, ...]
    key: Sql | None = None
    tables: tuple[str, ...] = ()
    group: Any = ""
    pii: bool = False
    masked: Sql | None = None
    perm: str | None = None
    grain: str = ""
    kind: str = "text"  # text, number, date
    choices: dict | None = None  # stored value -> label people see (status codes, urban/rural, ...)
    order: Sql | None = None  # what members sort by instead of their label (a stage's place in its pipeline)
    # What a row without a value is, in words ("Online / no store" for an order placed in no store), shown instead
    # of "(blank)": a default report must not present a real group of rows as missing data.
    blank: Any = None


FACTS: dict[str, Fact] = {}
TABLES: dict[str, Table] = {}
MEASURES: dict[str, Measure] = {}
DIMENSIONS: dict[str, Dimension] = {}


def register_table(table: Table) -> Table:
    TABLES[table.name] = table
    return table


def register_fact(fact: Fact) -> Fact:
    FACTS[fact.name] = fact
    return fact


def add_joins(fact_name: str, *joins: Join) -> None:
    """Let an existing fact reach more tables (a later domain joining its own table to sales, say)."""
    fact = FACTS[fact_name]
    known = {j.table for j in fact.joins}
    new = tuple(j for j in joins if j.table not in known)
    FACTS[fact_name] = Fact(**{**fact.__dict__, "joins": fact.joins + new})


CUSTOMER_FACTS: set[str] = set()  # facts that also take every dimension of the customers fact


def share_customer_dimensions(fact_name: str, customer_column: str) -> None:
    """Let a fact with a customer column (opportunities, tickets, ...) group and filter by every customer dimension —
    city, owner, team, value tier, custom attributes, customer since — reaching the customer's tables through that
    column. Dimensions whose tables the fact still cannot reach are left out."""
    joins = [Join("customers", f"customers.id = {customer_column}"),
             Join("owners", "owners.id = customers.owner_id", ("customers",)),
             Join("teams", "teams.id = customers.team_id", ("customers",)),
             Join("scores", f"scores.customer_id = {customer_column}")]
    add_joins(fact_name, *[j for j in joins if j.table in TABLES])
    CUSTOMER_FACTS.add(fact_name)


def applies(d: Dimension, fact_obj: Fact) -> bool:
    """Whether dimension `d` groups rows of `fact_obj`: named for it (or shared as a customer dimension) and every
    table it reads reachable from the fact."""
    named = fact_obj.name in d.facts or (fact_obj.name in CUSTOMER_FACTS and "customers" in d.facts)
    return named and all(reachable(fact_obj, t) for t in d.tables)


def register_measure(measure: Measure) -> Measure:
    if measure.fact not in FACTS:
        raise ValueError(f"unknown fact {measure.fact!r} for measure {measure.id!r}")
    MEASURES[measure.id] = measure
    return measure


def register_dimension(dimension: Dimension) -> Dimension:
    DIMENSIONS[dimension.id] = dimension
    return dimension


DATE_GRAINS = ("day", "week", "month", "quarter", "year")


DB_ENGINES = ("sqlite", "postgresql")


def db_only(sql: str) -> dict[str, str]:
    """The same SQL on both operational engines and none on DuckDB: for facts whose tables the analytics snapshot
    does not hold (the runner then uses the database engine)."""
    return {engine: sql for engine in DB_ENGINES}


def local_period_start(grain: str, db_column: str) -> dict[str, str]:
    """The first day of the `grain` period (day ... year) of an operational timestamp column (stored in UTC), in
    the local time zone (settings.TIME_ZONE), on SQLite and PostgreSQL."""
    tz = settings.TIME_ZONE.replace("'", "")
    return {"sqlite": f"django_date_trunc('{grain}', {db_column}, '{tz}', 'UTC')",
            "postgresql": f"CAST(date_trunc('{grain}', {db_column} AT TIME ZONE '{tz}') AS DATE)"}


def register_date_dimensions(prefix: str, label: Any, *, facts: tuple[str, ...], tables: tuple[str, ...],
                             duckdb_day: str, db_column: str, group: Any = "",
                             duckdb_columns: dict[str, str] | None = None) -> None:
    """One dimension per grain (`<prefix>_day` ... `<prefix>_year`), each the first day of its period in the
    local time zone (settings.TIME_ZONE). `duckdb_day` is the snapshot's local day number column (days since
    1970-01-01), `db_column` the operational timestamp column (stored in UTC). `duckdb_columns` names snapshot
    columns that already hold a grain's period start ({"month": "orders.month_start"}), computed once per snapshot
    instead of per row and query."""
    grain_labels = {"day": _("day"), "week": _("week"), "month": _("month"), "quarter": _("quarter"),
                    "year": _("year")}
    for grain in DATE_GRAINS:
        day = f"(DATE '1970-01-01' + {duckdb_day})"
        sql = {
            "duckdb": (duckdb_columns or {}).get(grain)
            or (day if grain == "day" else f"CAST(date_trunc('{grain}', {day}) AS DATE)"),
            **local_period_start(grain, db_column),
        }
        register_dimension(Dimension(
            id=f"{prefix}_{grain}", label=_LabelPair(label, grain_labels[grain]), sql=sql, facts=facts,
            tables=tables, group=group, grain=grain, kind="date"))


class _LabelPair:
    """"Order date · month" that translates lazily (labels are rendered in the reader's language)."""

    def __init__(self, base, grain):
        self.base, self.grain = base, grain

    def __str__(self) -> str:
        return f"{self.base} · {self.grain}"


def fact(name: str) -> Fact:
    try:
        return FACTS[name]
    except KeyError:
        raise DomainError(ErrorCode.INVALID, f"Unknown fact: {name}", "fact") from None


def measure(mid: str) -> Measure:
    try:
        return MEASURES[mid]
    except KeyError:
        raise DomainError(ErrorCode.INVALID, f"Unknown measure: {mid}", "measures") from None


def dimension(did: str) -> Dimension:
    if did not in DIMENSIONS:
        load_dynamic()
    try:
        return DIMENSIONS[did]
    except KeyError:
        raise DomainError(ErrorCode.INVALID, f"Unknown dimension: {did}", "dimensions") from None


DYNAMIC: list[Callable[[], list[Dimension]]] = []


def register_dynamic_dimensions(provider: Callable[[], list[Dimension]]) -> None:
    """Dimensions that come from data (custom attributes): `provider()` returns them; looked up on demand."""
    if provider not in DYNAMIC:
        DYNAMIC.append(provider)


def load_dynamic() -> None:
    for provider in DYNAMIC:
        for d in provider():
            DIMENSIONS.setdefault(d.id, d)


def dimensions_for(fact_name: str, *, loaded: bool = False) -> list[Dimension]:
    """The dimensions that group `fact_name`; `loaded` when the caller has just read the dynamic ones (a catalog
    of every fact reads them once, not once per fact)."""
    if not loaded:
        load_dynamic()
    fact_obj = FACTS[fact_name]
    return [d for d in DIMENSIONS.values() if applies(d, fact_obj)]


def measures_for(fact_name: str) -> list[Measure]:
    return [m for m in MEASURES.values() if m.fact == fact_name]


def reachable(fact_obj: Fact, table: str) -> bool:
    return table == fact_obj.base or any(j.table == table for j in fact_obj.joins)


def available_on(field_obj: Measure | Dimension, engine: str) -> bool:
    """Whether a measure or dimension can run on `engine`: it has SQL for it and, on DuckDB, every table it uses
    is on the snapshot connection."""
    sqls = [field_obj.sql] + ([field_obj.key] if isinstance(field_obj, Dimension) and field_obj.key else [])
    if any(sql_for(s, engine) is None for s in sqls):
        return False
    if engine == "duckdb":
        return all(TABLES[t].snapshot for t in field_obj.tables if t in TABLES)
    return True
