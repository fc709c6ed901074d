"""Run a PivotSpec: choose the engine, execute the compiled SQL, and shape rows × columns with totals.

Engines: "duckdb" reads the newest analytics snapshot (Parquet files under settings.ANALYTICS_DIR, written by
`clientwise score` / the nightly scoring); its timestamp travels with every result. "sqlite"/"postgresql" read
the operational tables live. `spec.engine = "auto"` (default; settings.REPORTS_ENGINE overrides it for every
report) takes the snapshot when there is one and every field of the report exists there, and the operational
database otherwise.

Results are cached (Django cache) on the spec, the engine, the snapshot, the user's scope, their PII right and
language: a snapshot never changes, so its results live for REPORTS_CACHE_SECONDS (default 600); live results for
REPORTS_LIVE_CACHE_SECONDS (default 60).
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, ErrorCode, ValidationFailed
from clientwise.core.periods import coverage
from clientwise.reports import distinct, semantic
from clientwise.reports.compiler import Compiled, Compiler, Context, visibility_for
from clientwise.reports.spec import PivotSpec, parse_spec

MAX_ROWS = 2000
MAX_COLUMNS = 400
OTHERS_KEY = "__others__"
REQUIRED_SNAPSHOT_COLUMNS = {"orders": {"sales_rep_id", "promoter_id"}}


# ----- the snapshot and its DuckDB connection -----------------------------------------------------------------


@dataclass
class SnapshotInfo:
    path: Path
    taken_at: dt.datetime

    @property
    def stamp(self) -> str:
        return self.path.name


def latest_snapshot() -> SnapshotInfo | None:
    """The newest complete analytics snapshot that has every column reports read, or None."""
    # pyarrow (with numpy, heavy; analytics.extract imports it too) stays off the start-up path.
    import pyarrow.parquet as pq

    from clientwise.analytics.extract import analytics_dir

    root = analytics_dir()
    if not root.exists():
        return None
    for path in sorted((p for p in root.iterdir() if p.is_dir() and (p / "manifest.json").exists()),
                       key=lambda p: p.name, reverse=True):
        try:
            ok = all(cols <= set(pq.read_schema(path / f"{t}.parquet").names)
                     for t, cols in REQUIRED_SNAPSHOT_COLUMNS.items())
        except OSError:
            ok = False
        if not ok:
            continue  # written before reports needed these columns: the next extract will have them
        try:
            taken = dt.datetime.strptime(path.name[:15], "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)
        except ValueError:
            taken = dt.datetime.fromtimestamp((path / "manifest.json").stat().st_mtime, tz=dt.UTC)
        return SnapshotInfo(path, taken)
    return None


class SnapshotConnection:
    """One DuckDB database per snapshot: Parquet views for the snapshot's tables, plus the small tables read
    from the operational database on first use (re-read when their version changes)."""

    def __init__(self, snap: SnapshotInfo):
        # duckdb (heavy) loads only when a report runs on the analytics snapshot.
        import duckdb

        self.snap = snap
        self.con = duckdb.connect(":memory:")
        threads = getattr(settings, "REPORTS_DUCKDB_THREADS", None)
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self.lock = threading.Lock()
        self.loaded: dict[str, str] = {}
        self.build_seconds: dict[str, float] = {}  # materialized tables: how long each took to build
        for path in sorted(snap.path.glob("*.parquet")):
            if path.stem.isidentifier():
                quoted = str(path).replace("'", "''")
                self.con.execute(f"CREATE OR REPLACE VIEW {path.stem} AS SELECT * FROM read_parquet('{quoted}')")

    def ensure(self, tables: list[str]) -> None:
        for name in tables:
            table = semantic.TABLES[name]
            if table.materialize is not None:
                if table.snapshot not in self.loaded:
                    self.ensure(list(table.depends))
                    with self.lock:
                        if table.snapshot not in self.loaded:
                            started = time.perf_counter()
                            self.con.execute(f"CREATE OR REPLACE TABLE {table.snapshot} AS {table.materialize}")
                            self.loaded[table.snapshot] = "1"
                            self.build_seconds[table.snapshot] = time.perf_counter() - started
                continue
            if table.loader is None:
                continue
            version = table.loader_version() if table.loader_version else "1"
            if self.loaded.get(table.snapshot) == version:
                continue
            with self.lock:
                if self.loaded.get(table.snapshot) == version:
                    continue
                data = table.loader()  # noqa: F841 - read by DuckDB's replacement scan below
                self.con.execute(f"DROP VIEW IF EXISTS {table.snapshot}")  # the snapshot's own, narrower file
                self.con.execute(f"CREATE OR REPLACE TABLE {table.snapshot} AS SELECT * FROM data")
                self.loaded[table.snapshot] = version

    def execute(self, sql: str) -> tuple[list[str], list[tuple]]:
        cur = self.con.cursor()
        try:
            cur.execute(sql)
            names = [d[0] for d in cur.description]
            return names, cur.fetchall()
        finally:
            cur.close()

    def fetch_numpy(self, sql: str) -> dict:
        cur = self.con.cursor()
        try:
            return cur.execute(sql).fetchnumpy()
        finally:
            cur.close()


_CONNECTIONS: dict[str, SnapshotConnection] = {}
_CONNECTIONS_LOCK = threading.Lock()


def snapshot_connection(snap: SnapshotInfo) -> SnapshotConnection:
    key = str(snap.path)
    with _CONNECTIONS_LOCK:
        con = _CONNECTIONS.get(key)
        if con is None:
            for old in list(_CONNECTIONS):  # one snapshot at a time: the newest
                _CONNECTIONS.pop(old).con.close()
            con = _CONNECTIONS[key] = SnapshotConnection(snap)
        return con


def reset_connections() -> None:
    with _CONNECTIONS_LOCK:
        for old in list(_CONNECTIONS):
            _CONNECTIONS.pop(old).con.close()


def db_engine() -> str:
    return "postgresql" if connection.vendor == "postgresql" else "sqlite"


def choose_engine(spec: PivotSpec) -> tuple[str, SnapshotInfo | None]:
    want = getattr(settings, "REPORTS_ENGINE", "auto") if spec.engine == "auto" else spec.engine
    if want == "database":
        return db_engine(), None
    snap = latest_snapshot()
    fields = [semantic.measure(m) for m in spec.measures] + \
             [semantic.dimension(d) for d in [*spec.dimension_ids(), *(f.dimension for f in spec.filters)]]
    fits = all(semantic.available_on(f, "duckdb") for f in fields)
    if want == "snapshot":
        if snap is None:
            raise DomainError(ErrorCode.INVALID, _("There is no analytics snapshot yet: run scoring first."),
                              "engine")
        if not fits:
            raise DomainError(ErrorCode.INVALID, _("Some fields of this report are not in the analytics snapshot."),
                              "engine")
        return "duckdb", snap
    if snap is not None and fits:
        return "duckdb", snap
    return db_engine(), None


def execute(compiled: Compiled, snap: SnapshotInfo | None, tables: list[str]) -> tuple[list[str], list[tuple]]:
    if compiled.engine == "duckdb":
        con = snapshot_connection(snap)
        con.ensure(tables)
        if compiled.distinct is not None and getattr(settings, "REPORTS_SORTED_DISTINCT", True):
            names, rows = con.execute(compiled.distinct.sql)
            filled = distinct.fill(con.fetch_numpy, compiled, names, rows)
            if filled is not None:
                return names, filled
        return con.execute(compiled.sql)
    with connection.cursor() as cur:
        cur.execute(compiled.sql)
        names = [d[0] for d in cur.description]
        return names, cur.fetchall()


# ----- shaping the result -------------------------------------------------------------------------------------


def _num(value, fmt: str):
    if value is None:
        return None
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if fmt == "int":
        return int(round(value))
    if fmt == "qty":  # quantities: three decimals (kg, L), whole numbers for pieces
        return round(float(value), 3)
    if fmt == "money":
        return round(float(value), 2)
    return float(value)


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]


def date_label(iso: str, grain: str) -> str:
    day = dt.date.fromisoformat(iso)
    if grain == "month":
        return f"{day:%Y-%m}"
    if grain == "quarter":
        return f"{day.year} Q{(day.month - 1) // 3 + 1}"
    if grain == "year":
        return str(day.year)
    if grain == "week":
        year, week, _d = day.isocalendar()
        return f"{year}-W{week:02d}"
    return iso


@dataclass
class Member:
    key: Any
    label: str
    other: bool = False
    order: Any = None  # the dimension's `order` value, when it has one


@dataclass
class PivotResult:
    fact: str
    engine: str
    snapshot_at: str | None
    measures: list[dict]
    row_dims: list[dict]
    col_dims: list[dict]
    rows: list[dict]
    columns: list[dict]
    cells: list[list[dict | None]]
    pct: list[list[dict | None]] | None = None
    previous: list[list[dict | None]] | None = None
    change: list[list[dict | None]] | None = None
    truncated: bool = False
    elapsed_ms: float = 0.0
    cached: bool = False
    sql: str = ""
    spec: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _member(d: semantic.Dimension, key, label, other: bool) -> Member:
    if other:
        return Member(OTHERS_KEY, _("Others"), True)
    if d.grain:
        iso = _iso(key if key is not None else label)
        return Member(iso, date_label(iso, d.grain) if iso else _("(blank)"))
    blank = str(d.blank) if d.blank is not None else _("(blank)")
    if key is None and label is None:
        return Member(None, blank)
    if isinstance(key, decimal.Decimal):
        key = float(key)
    text = label
    if d.choices is not None and label in d.choices:
        text = d.choices[label]
    if text is None or text == "":
        text = blank
    return Member(key, str(text))


def _cells_from_rows(compiled: Compiled, names: list[str], rows: list[tuple], nrows: int
                     ) -> tuple[dict, dict[int, dict]]:
    """{(row path, col path): {measure: value}} and the members seen per dimension {i: {key: Member}}."""
    pos = {n: i for i, n in enumerate(names)}
    dims = [semantic.dimension(d) for d in compiled.dims]
    fmts = [semantic.measure(m).format for m in compiled.measures]
    n = len(dims)
    values: dict = {}
    members: dict[int, dict] = {i: {} for i in range(n)}
    for r in rows:
        g = int(r[pos["_g"]]) if "_g" in pos else 0
        path = []
        for i, d in enumerate(dims):
            if g & (1 << (n - 1 - i)):
                path.append(None)
                continue
            label = r[pos[f"l{i}"]]
            key = r[pos[f"k{i}"]] if compiled.keyed[i] else label
            other = bool(compiled.others[i] and r[pos[f"o{i}"]])
            m = _member(d, key, label, other)
            if d.order is not None and not m.other:
                m.order = r[pos[f"s{i}"]]
            members[i].setdefault(m.key, m)
            path.append(m)
        row_path = tuple(m.key for m in path[:nrows] if m is not None)
        col_path = tuple(m.key for m in path[nrows:] if m is not None)
        values[(row_path, col_path)] = {mid: _num(r[pos[f"m{j}"]], fmts[j])
                                        for j, mid in enumerate(compiled.measures)}
    return values, members


def _order_key(d: semantic.Dimension, m: Member):
    if m.other:
        return (2, "")
    if m.key is None:
        return (1, "")
    if m.order is not None:
        return (0, m.order, m.label)
    return (0, m.key if d.grain else m.label)


def _tree(paths: set[tuple], depth: int, dims: list[semantic.Dimension], members: list[dict], *, subtotals: bool,
          totals: bool, value_of=None, desc: bool = False) -> list[tuple]:
    """The ordered header paths: leaves grouped under their parents, a subtotal after each group when asked,
    the total last. `value_of(path)` (when sorting by a measure) orders siblings by their total."""
    if depth == 0:
        return [()]

    def children(prefix: tuple) -> list:
        level = len(prefix)
        keys = {p[level] for p in paths if p[:level] == prefix}
        d = dims[level]

        def sort_key(k):
            m = members[level][k]
            if value_of is not None:
                v = value_of(prefix + (k,))
                return (2 if m.other else 0, 0 if v is not None else 1, -(v or 0) if desc else (v or 0),
                        _order_key(d, m))
            return _order_key(d, m)

        ordered = sorted(keys, key=sort_key)
        if value_of is None and desc:  # labels descending; blank and Others stay last
            plain = [k for k in ordered if _order_key(d, members[level][k])[0] == 0]
            ordered = plain[::-1] + [k for k in ordered if _order_key(d, members[level][k])[0] != 0]
        return ordered

    out: list[tuple] = []

    def walk(prefix: tuple):
        for k in children(prefix):
            path = prefix + (k,)
            if len(path) == depth:
                out.append(path)
            else:
                walk(path)
                if subtotals:
                    out.append(path)

    walk(())
    if totals:
        out.append(())
    return out


def shape(spec: PivotSpec, compiled: Compiled, names: list[str], rows: list[tuple],
          as_of: dt.date | None = None) -> PivotResult:
    """The result table; `as_of` is the last local day the data can hold (the snapshot's day, today when live), so a
    period holding it is marked "so far"."""
    nr = len(spec.rows)
    dims = [semantic.dimension(d) for d in compiled.dims]
    values, members = _cells_from_rows(compiled, names, rows, nr)
    row_dims, col_dims = dims[:nr], dims[nr:]
    row_members = [members[i] for i in range(nr)]
    col_members = [members[nr + i] for i in range(len(col_dims))]
    leaf_rows = {rp for rp, _cp in values if len(rp) == nr}
    leaf_cols = {cp for _rp, cp in values if len(cp) == len(col_dims)}
    value_of = None
    desc = False
    if spec.sort and spec.sort.by != "label":
        mid = spec.sort.by
        desc = spec.sort.desc

        def value_of(path):
            cell = values.get((path, ()))
            return cell.get(mid) if cell else None
    elif spec.sort:
        desc = spec.sort.desc
    row_paths = _tree(leaf_rows, nr, row_dims, row_members, subtotals=spec.subtotals, totals=spec.totals and nr > 0,
                      value_of=value_of, desc=desc)
    col_paths = _tree(leaf_cols, len(col_dims), col_dims, col_members, subtotals=spec.subtotals,
                      totals=spec.totals and len(col_dims) > 0)
    truncated = False
    if len(row_paths) > MAX_ROWS:
        row_paths, truncated = row_paths[:MAX_ROWS], True
    if len(col_paths) > MAX_COLUMNS:
        col_paths, truncated = col_paths[:MAX_COLUMNS], True

    today = as_of or timezone.localdate()

    def header(path: tuple, dims_: list, members_: list[dict], depth: int) -> dict:
        labels = [members_[i][k].label for i, k in enumerate(path)]
        out = {"keys": list(path), "labels": labels, "depth": len(path), "total": len(path) < depth}
        note = partial_note(path, dims_, spec, today)
        if note:
            out["partial"] = note
        return out

    cells = [[values.get((rp, cp)) for cp in col_paths] for rp in row_paths]
    result = PivotResult(
        fact=compiled.fact, engine=compiled.engine, snapshot_at=None,
        measures=[{"id": m, "label": str(semantic.measure(m).label), "format": semantic.measure(m).format}
                  for m in compiled.measures],
        row_dims=[{"id": d.id, "label": str(d.label), "grain": d.grain} for d in row_dims],
        col_dims=[{"id": d.id, "label": str(d.label), "grain": d.grain} for d in col_dims],
        rows=[header(p, row_dims, row_members, nr) for p in row_paths],
        columns=[header(p, col_dims, col_members, len(col_dims)) for p in col_paths],
        cells=cells, truncated=truncated, sql=compiled.sql, spec=spec.model_dump(mode="json"),
    )
    if spec.percent_of:
        def denominator(rp, cp):
            if spec.percent_of == "grand":
                return values.get(((), ()))
            if spec.percent_of == "row":
                return values.get((rp, ()))
            return values.get(((), cp))

        result.pct = [[_ratio(values.get((rp, cp)), denominator(rp, cp), compiled.measures) for cp in col_paths]
                      for rp in row_paths]
    result._values = values  # noqa: SLF001 - used by the comparison step, not serialized
    result._paths = (row_paths, col_paths)  # noqa: SLF001
    return result


def partial_note(path: tuple, dims: list, spec: PivotSpec, today: dt.date) -> str:
    """Words for a header whose date member the figures cover only in part (core.periods.coverage: the period is
    still going on, or the report's range cuts it): "to 12-07", "from 12-08"; "" for a whole period."""
    notes = []
    for key, d in zip(path, dims, strict=False):
        if not d.grain or key in (None, OTHERS_KEY):
            continue
        cov = coverage(dt.date.fromisoformat(key), d.grain, date_from=spec.date_from, date_to=spec.date_to,
                       today=today)
        if not cov.partial or d.grain == "day" and not cov.running:
            continue
        if cov.running:
            notes.append(_("so far, to %(day)s") % {"day": f"{cov.last:%m-%d}"})
        elif cov.first > cov.start and cov.last < cov.end:
            notes.append(_("%(first)s to %(last)s only") % {"first": f"{cov.first:%m-%d}", "last": f"{cov.last:%m-%d}"})
        elif cov.first > cov.start:
            notes.append(_("from %(day)s only") % {"day": f"{cov.first:%m-%d}"})
        else:
            notes.append(_("to %(day)s only") % {"day": f"{cov.last:%m-%d}"})
    return "; ".join(notes)


def _ratio(cell, denom, measures) -> dict | None:
    if cell is None:
        return None
    out = {}
    for m in measures:
        v, d = cell.get(m), (denom or {}).get(m)
        out[m] = (v / d) if v is not None and d else None
    return out


def _shift_year(key, grain: str):
    if key is None or key == OTHERS_KEY:
        return key
    day = dt.date.fromisoformat(key)
    if grain == "week":
        return (day + dt.timedelta(weeks=52)).isoformat()
    try:
        return day.replace(year=day.year + 1).isoformat()
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28).isoformat()


def comparison_spec(spec: PivotSpec) -> PivotSpec:
    length = spec.date_to - spec.date_from
    if spec.compare == "previous_year":
        def back(d):
            try:
                return d.replace(year=d.year - 1)
            except ValueError:
                return d.replace(year=d.year - 1, day=28)
        start, end = back(spec.date_from), back(spec.date_to)
    else:
        end = spec.date_from - dt.timedelta(days=1)
        start = end - length
    return spec.model_copy(update={"date_from": start, "date_to": end, "compare": None, "percent_of": None})


# ----- running --------------------------------------------------------------------------------------------------


def _context(user, engine: str) -> Context:
    return Context(engine=engine, user=user, visibility=visibility_for(user, engine), pii=perms.can_view_pii(user))


def compile_for(user, spec: PivotSpec, engine: str, *, scoped: bool = True) -> tuple[Compiled, list[str]]:
    compiler = Compiler(spec, _context(user, engine), scoped=scoped)
    compiled = compiler.compile()
    tables = [compiler.fact.base, *[j.table for j in compiler._tables()]]
    return compiled, tables


def run_pivot(*, actor, spec: PivotSpec | dict, use_cache: bool = True, scoped: bool = True) -> PivotResult:
    """Run a report for `actor`: only the customers they may see, PII masked unless they have view_pii.

    `scoped=False` is for benchmarks (the compiler's UNSCOPED path); no view or API passes it."""
    spec = parse_spec(spec).resolved().for_user(actor)
    fact = semantic.fact(spec.fact)
    if fact.perm:
        perms.require(actor, fact.perm)
    if spec.compare == "previous_period" and any(semantic.dimension(d).grain for d in spec.dimension_ids()):
        raise ValidationFailed([DomainError(
            ErrorCode.INVALID, _("Compare a date dimension with the previous year, or take it off the axes."),
            "compare")])
    engine, snap = choose_engine(spec)
    ctx_key = visibility_for(actor, engine).cache_key
    lang = translation.get_language() or ""
    key = "reports:" + hashlib.sha256("|".join([
        spec.cache_key(), engine, snap.stamp if snap else "live", ctx_key, str(perms.can_view_pii(actor)), lang,
        str(scoped),
    ]).encode()).hexdigest()
    if use_cache:
        hit = cache.get(key)
        if hit is not None:
            hit.cached = True
            return hit
    started = time.perf_counter()
    compiled, tables = compile_for(actor, spec, engine, scoped=scoped)
    names, rows = execute(compiled, snap, tables)
    result = shape(spec, compiled, names, rows, as_of=timezone.localdate(snap.taken_at) if snap else None)
    if spec.compare:
        prev_spec = comparison_spec(spec)
        p_compiled, p_tables = compile_for(actor, prev_spec, engine, scoped=scoped)
        p_names, p_rows = execute(p_compiled, snap, p_tables)
        p_values, _members = _cells_from_rows(p_compiled, p_names, p_rows, len(spec.rows))
        dims = [semantic.dimension(d) for d in compiled.dims]
        nr = len(spec.rows)

        def shift(path: tuple, offset: int) -> tuple:
            return tuple(_shift_year(k, dims[offset + i].grain) if dims[offset + i].grain else k
                         for i, k in enumerate(path))

        shifted = {(shift(rp, 0), shift(cp, nr)): v for (rp, cp), v in p_values.items()}
        row_paths, col_paths = result._paths  # noqa: SLF001
        result.previous = [[shifted.get((rp, cp)) for cp in col_paths] for rp in row_paths]
        result.change = [[_change(result.cells[i][j], result.previous[i][j], compiled.measures)
                          for j in range(len(col_paths))] for i in range(len(row_paths))]
    result.snapshot_at = snap.taken_at.isoformat() if snap else None
    result.elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    for attr in ("_values", "_paths"):
        result.__dict__.pop(attr, None)
    if use_cache:
        ttl = getattr(settings, "REPORTS_CACHE_SECONDS", 600) if snap else \
            getattr(settings, "REPORTS_LIVE_CACHE_SECONDS", 60)
        cache.set(key, result, ttl)
    return result


def _change(cur, prev, measures) -> dict | None:
    if cur is None and prev is None:
        return None
    out = {}
    for m in measures:
        c, p = (cur or {}).get(m), (prev or {}).get(m)
        out[m] = ((c or 0) - p) / abs(p) if p else None
    return out
