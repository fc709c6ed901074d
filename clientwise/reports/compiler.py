"""Compile a PivotSpec into one SQL statement (a sqlglot AST printed for DuckDB, SQLite or PostgreSQL).

The compiler, not its callers, applies what the user may see:
- record-level visibility: the user's customer scope (customers.scope.CustomerScope.sql) as a predicate on the
  fact's customer column, the same rule as its ORM form .q() (tests compare the two customer sets for every role);
  an unrestricted query must be asked for by name (`UNSCOPED_compile_pivot`), which only benchmarks do;
- PII masking: a dimension marked `pii` prints its `masked` SQL for users without view_pii, so unmasked values
  never leave the database;
- rights on fields: a measure or dimension with `perm` (margin needs orders.view_costs) is refused otherwise.

Subtotals and totals are GROUPING SETS on DuckDB and PostgreSQL, and a UNION ALL of one GROUP BY per set on
SQLite; the `_g` column tells which set a row belongs to (bit i set = dimension i rolled up, as GROUPING()).
Top-N with "Others" ranks the dimension's keys in a CTE and folds the rest into one member.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlglot
from django.apps import apps
from django.conf import settings
from django.utils.translation import gettext as _
from sqlglot import exp

from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, ErrorCode, PermissionDenied
from clientwise.core.periods import period_end
from clientwise.customers.scope import CustomerScope
from clientwise.reports import semantic
from clientwise.reports.spec import Filter, PivotSpec

EPOCH = dt.date(1970, 1, 1)
OTHERS = "__others__"


# The report compiler reads the one customer scope (customers.scope); tests build one by hand as Visibility(...).
Visibility = CustomerScope


@dataclass
class Context:
    engine: str  # "duckdb", "sqlite", "postgresql"
    user: Any
    visibility: Visibility
    pii: bool


@dataclass
class Compiled:
    sql: str
    engine: str
    fact: str
    dims: list[str]
    keyed: list[bool]  # whether dimension i has a key column k{i} besides its label l{i}
    others: list[bool]  # whether dimension i has an "Others" flag column o{i}
    measures: list[str]
    sets: list[tuple[int, ...]]  # grouping sets as indexes into dims
    columns: list[str] = field(default_factory=list)
    distinct: DistinctPlan | None = None


@dataclass
class DistinctPlan:
    """DuckDB: the measures that are a plain COUNT(DISTINCT column) (buyers, orders) counted by sorting (cell,
    value) pairs in NumPy (runner.count_distinct_pairs) instead of in the pivot query's hash aggregation.

    `sql` is the pivot query with each such measure m<j> as NULL plus its column's bounds (m<j>_lo, m<j>_hi);
    `pairs` selects, for every fact row the pivot reads (same joins, filters, visibility and top-N), each
    dimension's grouping value as d<i> and each counted column as v<j>; `idents[i]` is the result column holding
    dimension i's grouping value (k<i> for keyed dimensions, else l<i>). Where a grouping value is not an integer
    or a date, the runner runs `Compiled.sql` instead."""

    sql: str
    pairs: str
    measures: list[int]
    idents: list[str]


def visibility_for(user, engine: str) -> CustomerScope:
    """The user's customer scope for a query on `engine`; PermissionDenied without one."""
    scope = CustomerScope.for_user(user, engine=engine)
    if scope.nothing:
        raise PermissionDenied()
    return scope


@lru_cache(maxsize=4096)
def _parse(sql: str, dialect: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read=dialect)


def expr(sql: semantic.Sql, engine: str) -> exp.Expression:
    text = semantic.sql_for(sql, engine)
    if text is None:
        raise DomainError(ErrorCode.INVALID, _("This field is not available on the %(engine)s engine.")
                          % {"engine": engine}, "engine")
    return _parse(text, semantic.dialect_of(sql, engine)).copy()


def _db_table(label: str) -> str:
    return apps.get_model(label)._meta.db_table


def _source(table: semantic.Table, engine: str) -> exp.Expression:
    if table.source is not None:
        text = table.source(engine) if callable(table.source) else table.source[engine]
        return _parse(text, semantic.DIALECTS[engine]).copy().subquery(table.name)
    name = table.snapshot if engine == "duckdb" else _db_table(table.db_model)
    return exp.alias_(exp.to_table(name), table.name, table=True)


def _table_filter(table: semantic.Table, engine: str) -> exp.Expression | None:
    sql = table.snapshot_filter if engine == "duckdb" else table.db_filter
    if sql is None:
        return None
    if callable(sql):
        sql = sql()
    return expr(sql, engine)


def _and(conds: list[exp.Expression]) -> exp.Expression | None:
    conds = [c for c in conds if c is not None]
    return exp.and_(*conds) if conds else None


def _lit(value) -> exp.Expression:
    return exp.Null() if value is None else exp.convert(value)


def _local_midnight_utc(day: dt.date) -> str:
    local = dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(settings.TIME_ZONE))
    return local.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def date_range_condition(fact: semantic.Fact, engine: str, start: dt.date | None, end: dt.date | None
                         ) -> exp.Expression | None:
    """Rows whose local date is in [start, end] (both inclusive, either open): day numbers on the snapshot,
    UTC timestamps on the operational tables (index-friendly)."""
    conds = []
    if engine == "duckdb":
        col = expr(fact.date_column["duckdb"], engine)
        if start:
            conds.append(exp.GTE(this=col.copy(), expression=exp.convert((start - EPOCH).days)))
        if end:
            conds.append(exp.LTE(this=col.copy(), expression=exp.convert((end - EPOCH).days)))
    else:
        col = expr(fact.date_column["db"], engine)
        suffix = "+00:00" if engine == "postgresql" else ""
        if start:
            conds.append(exp.GTE(this=col.copy(), expression=exp.convert(_local_midnight_utc(start) + suffix)))
        if end:
            stop = _local_midnight_utc(end + dt.timedelta(days=1)) + suffix
            conds.append(exp.LT(this=col.copy(), expression=exp.convert(stop)))
    return _and(conds)


class Compiler:
    def __init__(self, spec: PivotSpec, ctx: Context, *, scoped: bool = True):
        self.spec = spec
        self.ctx = ctx
        self.engine = ctx.engine
        self.scoped = scoped
        self.fact = semantic.fact(spec.fact)
        if self.fact.perm and not perms.has_perm(ctx.user, self.fact.perm):
            raise PermissionDenied()
        self.measures = [self._measure(m) for m in spec.measures]
        self.dims = [self._dimension(d) for d in spec.dimension_ids()]
        self.filter_dims = [self._dimension(f.dimension) for f in spec.filters]

    # ----- resolving fields ---------------------------------------------------------------------------------

    def _measure(self, mid: str) -> semantic.Measure:
        m = semantic.measure(mid)
        if m.fact != self.fact.name:
            raise DomainError(ErrorCode.INVALID, _("“%(m)s” is not a measure of %(f)s.")
                              % {"m": m.label, "f": self.fact.label}, "measures")
        if m.perm and not perms.has_perm(self.ctx.user, m.perm):
            raise PermissionDenied(_("You may not see “%(m)s”.") % {"m": m.label}, "measures")
        return m

    def _dimension(self, did: str) -> semantic.Dimension:
        d = semantic.dimension(did)
        if not semantic.applies(d, self.fact):
            raise DomainError(ErrorCode.INVALID, _("“%(d)s” does not apply to %(f)s.")
                              % {"d": d.label, "f": self.fact.label}, "dimensions")
        if d.perm and not perms.has_perm(self.ctx.user, d.perm):
            raise PermissionDenied(_("You may not use “%(d)s”.") % {"d": d.label}, "dimensions")
        return d

    def label_expr(self, d: semantic.Dimension) -> exp.Expression:
        if d.pii and not self.ctx.pii:
            return expr(d.masked, self.engine)
        return expr(d.sql, self.engine)

    def key_expr(self, d: semantic.Dimension) -> exp.Expression:
        return expr(d.key, self.engine) if d.key is not None else self.label_expr(d)

    # ----- FROM, joins and WHERE ----------------------------------------------------------------------------

    def _rw(self, e: exp.Expression) -> exp.Expression:
        """On the snapshot, read merged tables' columns (`orders.day`) and carried keys (`branches.region_id`)
        from the materialized base row (`lines.day`, `lines.region_id`)."""
        if self.engine != "duckdb":
            return e
        merged = set(self.fact.merged_on_snapshot)
        carried = self.fact.snapshot_columns
        base = self.fact.base
        if not merged and not carried:
            return e

        def swap(node):
            if isinstance(node, exp.Column) and node.table:
                target = carried.get(f"{node.table}.{node.name}")
                if target is not None:
                    return _parse(target, "duckdb").copy()
                if node.table in merged:
                    return exp.column(node.name, table=base)
            return node

        return e.transform(swap)

    def _join_on(self, j: semantic.Join) -> tuple[semantic.Sql, tuple[str, ...]]:
        if self.engine == "duckdb" and j.snapshot_on is not None:
            return j.snapshot_on, j.snapshot_requires
        return j.on, j.requires

    def _field_exprs(self) -> tuple[list[exp.Expression], list[exp.Expression]]:
        """(label expressions of keyed dimensions, every other expression the query evaluates per row)."""
        labels, other = [], [expr(m.sql, self.engine) for m in self.measures]
        for d in self.dims:
            (labels if d.key is not None else other).append(self.label_expr(d))
            if d.key is not None:
                other.append(self.key_expr(d))
            if d.order is not None:
                other.append(expr(d.order, self.engine))
        for d in self.filter_dims:
            other.extend([self.key_expr(d)] if not d.grain else [])
        return [self._rw(e) for e in labels], [self._rw(e) for e in other]

    def _tables(self, extra: tuple[str, ...] = ()) -> list[semantic.Join]:
        wanted = set(self.fact.always) | set(extra)
        if self.engine == "duckdb" and self.fact.snapshot_columns:
            # The tables the (rewritten) expressions read: a carried key needs no join.
            labels, other = self._field_exprs()
            wanted |= {c.table for e in labels + other for c in e.find_all(exp.Column) if c.table}
            wanted &= {j.table for j in self.fact.joins} | set(self.fact.always)
        else:
            for field_obj in [*self.measures, *self.dims, *self.filter_dims]:
                wanted |= set(field_obj.tables)
        joins = {j.table: j for j in self.fact.joins}
        closure: set[str] = set()
        stack = [t for t in wanted if t != self.fact.base]
        while stack:
            t = stack.pop()
            if t in closure:
                continue
            if t not in joins:
                raise DomainError(ErrorCode.INVALID, f"{self.fact.name} cannot reach table {t}", "dimensions")
            closure.add(t)
            stack.extend(r for r in self._join_on(joins[t])[1] if r != self.fact.base)
        merged = set(self.fact.merged_on_snapshot) if self.engine == "duckdb" else set()
        return [j for j in self.fact.joins if j.table in closure and j.table not in merged]

    def late_joins(self, keys: list[exp.Expression | None]) -> dict[str, tuple[semantic.Join, exp.Expression]]:
        """Joins (DuckDB) that only labels of keyed dimensions read and whose condition ties the table to such a
        key: joined after the aggregation on the result rows. {table: (join, condition over p.k<i>)}."""
        if self.engine != "duckdb" or not self.fact.snapshot_columns:
            return {}
        labels, other = self._field_exprs()
        busy = {c.table for e in other for c in e.find_all(exp.Column)}
        joins = self._tables()
        for j in joins:  # a table another join needs stays in place
            busy |= {r for r in self._join_on(j)[1]}
        base = self.fact.base
        key_sql = {self._rw(k).sql("duckdb"): i for i, k in enumerate(keys) if k is not None}
        out = {}
        for j in joins:
            if not j.late or j.table in busy:
                continue
            on = self._rw(expr(self._join_on(j)[0], self.engine))
            refs = list(on.find_all(exp.Column))
            base_cols = [c for c in refs if c.table == base]
            if any(c.table not in (base, j.table) for c in refs) or not base_cols:
                continue
            if any(c.sql("duckdb") not in key_sql for c in base_cols):
                continue
            on = on.transform(lambda n: exp.column(f"k{key_sql[n.sql('duckdb')]}", table="p")
                              if isinstance(n, exp.Column) and n.table == base else n)
            out[j.table] = (j, on)
        return out

    def _unmerge(self, query: exp.Expression) -> exp.Expression:
        """On the snapshot, `orders.day` of a merged table is the base row's own column (`lines.day`), and so are
        the keys the base row carries (`branches.region_id` → `lines.region_id`)."""
        return self._rw(query)

    def base_select(self, extra_tables: tuple[str, ...] = (), skip: tuple[str, ...] = ()
                    ) -> tuple[exp.Select, list[exp.Expression]]:
        """SELECT (nothing yet) FROM base + joins, and the WHERE conditions (filters, dates, visibility)."""
        base = semantic.TABLES[self.fact.base]
        sel = exp.select().from_(_source(base, self.engine))
        conds = [_table_filter(base, self.engine)]
        for j in self._tables(extra_tables):
            if j.table in skip:
                continue
            table = semantic.TABLES[j.table]
            on = _and([expr(self._join_on(j)[0], self.engine), _table_filter(table, self.engine)])
            sel = sel.join(_source(table, self.engine), on=on, join_type=j.kind.lower())
        conds.append(date_range_condition(self.fact, self.engine, self.spec.date_from, self.spec.date_to))
        for f, d in zip(self.spec.filters, self.filter_dims, strict=True):
            conds.append(self.filter_condition(d, f))
        if self.scoped:
            conds.append(self.visibility_condition())
        return sel, [c for c in conds if c is not None]

    def filter_condition(self, d: semantic.Dimension, f: Filter) -> exp.Expression:
        if d.grain:  # a date member is a period: a range on the date column, not a comparison of printed dates
            ranges = []
            for v in f.values:
                try:
                    start = dt.date.fromisoformat(str(v))
                except ValueError:
                    raise DomainError(ErrorCode.INVALID_DATE, _("Not a date: %(v)s") % {"v": v},
                                      "filters") from None
                ranges.append(date_range_condition(self.fact, self.engine, start, period_end(start, d.grain)))
            cond = exp.or_(*ranges) if len(ranges) > 1 else ranges[0]
            return exp.Not(this=exp.Paren(this=cond)) if f.op == "not_in" else exp.Paren(this=cond)
        key = self.key_expr(d)
        values = [v for v in f.values if v is not None]
        parts = []
        if values:
            parts.append(key.copy().isin(*[_lit(v) for v in values]))
        if len(values) != len(f.values):
            parts.append(exp.Is(this=key.copy(), expression=exp.Null()))
        cond = exp.or_(*parts) if len(parts) > 1 else parts[0]
        if f.op == "not_in":
            # NOT IN drops NULL keys in SQL; people expect "not Shanghai" to keep rows without a store.
            keep_null = [] if len(values) != len(f.values) else [exp.Is(this=key.copy(), expression=exp.Null())]
            return exp.Paren(this=exp.or_(exp.Not(this=exp.Paren(this=cond)), *keep_null))
        return exp.Paren(this=cond)

    def visibility_condition(self) -> exp.Expression | None:
        customers = semantic.TABLES["customers"]
        duck = self.engine == "duckdb"
        return self.ctx.visibility.sql(
            expr(self.fact.customer_column, self.engine), self.engine,
            customers_table=customers.snapshot if duck else _db_table(customers.db_model),
            shares_table=None if duck else _db_table("customers.CustomerShare"))

    # ----- the pivot query ----------------------------------------------------------------------------------

    def grouping_sets(self) -> list[tuple[int, ...]]:
        spec = self.spec
        nr, nc = len(spec.rows), len(spec.columns)
        row_depths = {nr} | (set(range(nr)) if spec.subtotals else set()) | ({0} if spec.totals else set())
        col_depths = {nc} | (set(range(nc)) if spec.subtotals else set()) | ({0} if spec.totals else set())
        pairs = {(r, c) for r in row_depths for c in col_depths}
        if spec.sort and spec.sort.by != "label":
            pairs |= {(k, 0) for k in range(1, nr + 1)}
        if spec.percent_of == "grand":
            pairs.add((0, 0))
        elif spec.percent_of == "row":
            pairs |= {(r, 0) for r in row_depths}
        elif spec.percent_of == "column":
            pairs |= {(0, c) for c in col_depths}
        sets = [tuple(range(r)) + tuple(nr + i for i in range(c)) for r, c in sorted(pairs, reverse=True)]
        return sets

    def _top_cte(self, index: int, skip: tuple[str, ...] = ()) -> exp.Select:
        top = self.spec.top_n
        d = self.dims[index]
        m = next(x for x in self.measures if x.id == top.by)
        sel, conds = self.base_select(skip=skip)
        key = self.key_expr(d)
        sel = sel.select(exp.alias_(key.copy(), "k"))
        # Blank members never match `IN (top)`, so they are not ranked: they fall into Others.
        conds = [*conds, exp.Not(this=exp.Is(this=key.copy(), expression=exp.Null()))]
        sel = sel.where(_and(conds))
        order = [exp.Ordered(this=expr(m.sql, self.engine), desc=True, nulls_first=False),
                 exp.Ordered(this=key.copy(), desc=False, nulls_first=False)]
        return sel.group_by(key.copy()).order_by(*order).limit(top.n)

    def compile(self) -> Compiled:
        spec = self.spec
        n = len(self.dims)
        top_index = spec.dimension_ids().index(spec.top_n.dimension) if spec.top_n else None
        in_top = None
        if top_index is not None:
            key = self.key_expr(self.dims[top_index])
            in_top = key.isin(query=exp.select("k").from_("topn"))

        # DuckDB: labels that only need a small table joined by the dimension's key are looked up after the
        # aggregation, on the result rows (the fact rows carry the keys), instead of on every fact row.
        late = self.late_joins([expr(d.key, self.engine) if d.key is not None else None for d in self.dims])
        late_dims: set[int] = set()
        if late:
            label_tables = {i: {c.table for c in self._rw(self.label_expr(d)).find_all(exp.Column)}
                            for i, d in enumerate(self.dims) if d.key is not None}
            late_dims = {i for i, t in label_tables.items() if t and t <= set(late)}
            for i, t in label_tables.items():
                if i not in late_dims:
                    late = {k: v for k, v in late.items() if k not in t}
            late_dims = {i for i in late_dims if label_tables[i] <= set(late)}
            late = {k: v for k, v in late.items() if any(k in label_tables[i] for i in late_dims)}

        sel_exprs: list[exp.Expression] = []  # select list for dims
        group_exprs: list[list[exp.Expression]] = []  # per dim, what it groups by
        group_names: list[list[str]] = []  # per dim, the output names of group_exprs
        late_labels: list[tuple[int, exp.Expression]] = []
        keyed, others = [], []
        for i, d in enumerate(self.dims):
            label = self.label_expr(d)
            key = expr(d.key, self.engine) if d.key is not None else None
            has_key = key is not None
            if i == top_index and spec.top_n.others:
                label = exp.Case(ifs=[exp.If(this=in_top.copy(), true=label)])
                if key is not None:
                    key = exp.Case(ifs=[exp.If(this=in_top.copy(), true=key)])
                flag = exp.Case(ifs=[exp.If(this=in_top.copy(), true=exp.convert(0))], default=exp.convert(1))
            else:
                flag = None
            items = ([(key, f"k{i}")] if key is not None else [])
            if i in late_dims:
                late_labels.append((i, self.label_expr(d)))
            else:
                items.append((label, f"l{i}"))
            if d.order is not None:
                order = expr(d.order, self.engine)
                if i == top_index and spec.top_n.others:
                    order = exp.Case(ifs=[exp.If(this=in_top.copy(), true=order)])
                items.append((order, f"s{i}"))
            if flag is not None:
                items.append((flag, f"o{i}"))
            for e, alias in items:
                sel_exprs.append(exp.alias_(e.copy(), alias))
            group_exprs.append([e for e, _a in items])
            group_names.append([a for _e, a in items])
            keyed.append(has_key)
            others.append(flag is not None)
        sets = self.grouping_sets() if n else [()]
        sel, conds = self.base_select(skip=tuple(late))
        where = list(conds)
        if top_index is not None and not spec.top_n.others:
            where.append(in_top.copy())
        where_expr = _and(where)
        build = dict(n=n, sets=sets, sel=sel, where_expr=where_expr, sel_exprs=sel_exprs, group_exprs=group_exprs,
                     group_names=group_names, top_index=top_index, late=late, late_labels=late_labels)
        measure_exprs = [exp.alias_(expr(m.sql, self.engine), f"m{j}") for j, m in enumerate(self.measures)]
        sql = self._assemble(measure_exprs, **build)
        compiled = Compiled(sql=sql, engine=self.engine, fact=self.fact.name, dims=[d.id for d in self.dims],
                            keyed=keyed, others=others, measures=[m.id for m in self.measures], sets=sets)
        plain = self._plain_distinct() if self.engine == "duckdb" else {}
        if plain:
            split = []
            for j, m in enumerate(measure_exprs):
                if j in plain:
                    split += [exp.alias_(exp.cast(exp.Null(), "BIGINT"), f"m{j}"),
                              exp.alias_(exp.Min(this=plain[j].copy()), f"m{j}_lo"),
                              exp.alias_(exp.Max(this=plain[j].copy()), f"m{j}_hi")]
                else:
                    split.append(m.copy())
            pairs = sel.copy().select(*[exp.alias_(group_exprs[i][0].copy(), f"d{i}") for i in range(n)],
                                      *[exp.alias_(c.copy(), f"v{j}") for j, c in plain.items()])
            if where_expr is not None:
                pairs = pairs.where(where_expr.copy())
            if top_index is not None:
                pairs = pairs.with_("topn", as_=self._top_cte(top_index, skip=tuple(late)))
            compiled.distinct = DistinctPlan(
                sql=self._assemble(split, **build), pairs=self._unmerge(pairs).sql(dialect="duckdb"),
                measures=list(plain), idents=[group_names[i][0] for i in range(n)])
        return compiled

    def _plain_distinct(self) -> dict[int, exp.Expression]:
        """{measure index: column} for the measures that are exactly COUNT(DISTINCT <column>)."""
        out = {}
        for j, m in enumerate(self.measures):
            e = expr(m.sql, self.engine)
            if isinstance(e, exp.Count) and isinstance(e.this, exp.Distinct) and len(e.this.expressions) == 1 \
                    and isinstance(e.this.expressions[0], exp.Column):
                out[j] = e.this.expressions[0]
        return out

    def _assemble(self, measure_exprs: list[exp.Expression], *, n, sets, sel, where_expr, sel_exprs, group_exprs,
                  group_names, top_index, late, late_labels) -> str:
        """The pivot query: the dimensions' grouping sets over `sel` with `measure_exprs`, top-N and late labels."""
        def one(set_: tuple[int, ...], with_g: bool) -> exp.Select:
            q = sel.copy()
            cols = []
            for i in range(n):
                for e, name in zip(group_exprs[i], group_names[i], strict=True):
                    cols.append(exp.alias_(e.copy(), name) if i in set_ else exp.alias_(exp.Null(), name))
            g = sum(1 << (n - 1 - i) for i in range(n) if i not in set_)
            if with_g:
                cols.append(exp.alias_(exp.convert(g), "_g"))
            q = q.select(*cols, *[m.copy() for m in measure_exprs])
            if where_expr is not None:
                q = q.where(where_expr.copy())
            gb = [e.copy() for i in set_ for e in group_exprs[i]]
            return q.group_by(*gb) if gb else q

        if len(sets) == 1:
            query: exp.Expression = one(sets[0], with_g=True)
        elif self.engine in ("duckdb", "postgresql"):
            q = sel.copy().select(*sel_exprs)
            q = q.select(exp.alias_(exp.func("GROUPING", *[group_exprs[i][0].copy() for i in range(n)]), "_g"))
            q = q.select(*[m.copy() for m in measure_exprs])
            if where_expr is not None:
                q = q.where(where_expr.copy())
            tuples = [exp.Tuple(expressions=[e.copy() for i in s for e in group_exprs[i]]) for s in sets]
            q.set("group", exp.Group(grouping_sets=[exp.GroupingSets(expressions=tuples)]))
            query = q
        else:
            parts = [one(s, with_g=True) for s in sets]
            query = parts[0]
            for p in parts[1:]:
                query = exp.union(query, p, distinct=False)
        if top_index is not None:
            cte = self._top_cte(top_index, skip=tuple(late))
            query = exp.select("*").from_(query.subquery("pivot")).with_("topn", as_=cte) \
                if isinstance(query, exp.Union) else query.with_("topn", as_=cte)
        query = self._unmerge(query)
        if late_labels:
            outer = exp.select("p.*", *[exp.alias_(label, f"l{i}") for i, label in late_labels]) \
                .from_(query.subquery("p"))
            for j in self.fact.joins:
                if j.table in late:
                    outer = outer.join(_source(semantic.TABLES[j.table], self.engine), on=late[j.table][1],
                                       join_type="left")
            query = outer
        return query.sql(dialect=semantic.DIALECTS[self.engine])

    def compile_drill(self, conditions: list[exp.Expression], *, limit: int, offset: int = 0,
                      ident: str | None = None, count: bool = False, sums: tuple[str, ...] = (),
                      newest: str | None = None) -> str:
        """The distinct `ident` values behind a cell (default: the orders of the fact's rows for sales, else the
        customers), newest first — by `newest` (a time with one value per `ident`, such as the order time of a
        line), then by id — `limit` of them from `offset`. With `count`, one row instead: how many there are, then
        the sum of each of `sums` over them (each taken once per distinct `ident`)."""
        ident = ident or ("lines.order_id" if self.fact.name == "sales" else self.fact.customer_column)
        sel, conds = self.base_select()
        extra = sums if count else ((newest,) if newest else ())
        sel = sel.select(exp.alias_(expr(ident, self.engine), "id"),
                         *[exp.alias_(expr(s, self.engine), f"s{i}") for i, s in enumerate(extra)])
        sel = sel.distinct()
        where = _and(conds + conditions)
        if where is not None:
            sel = sel.where(where)
        if count:
            sel = exp.select(exp.Count(this=exp.Star()), *[exp.Sum(this=exp.column(f"s{i}")) for i in range(len(sums))]
                             ).from_(sel.subquery("cell"))
        else:
            keys = ([exp.Ordered(this=exp.column("s0"), desc=True)] if newest else []) + [
                exp.Ordered(this=exp.column("id"), desc=True)]
            sel = sel.order_by(*keys).limit(limit).offset(offset)
        return sel.sql(dialect=semantic.DIALECTS[self.engine])


def compile_pivot(spec: PivotSpec, ctx: Context) -> Compiled:
    """The spec's pivot query for ctx.engine, scoped to what ctx.user may see."""
    return Compiler(spec, ctx).compile()


def UNSCOPED_compile_pivot(spec: PivotSpec, ctx: Context) -> Compiled:  # noqa: N802 - the name is the warning
    """The same query without the visibility predicate: for benchmarks and tests only, never for a user."""
    return Compiler(spec, ctx, scoped=False).compile()
