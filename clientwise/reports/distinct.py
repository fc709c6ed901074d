"""Exact distinct counts per pivot cell (buyers, orders) by sorting (cell, value) pairs in NumPy.

A pivot's COUNT(DISTINCT customer_id) over millions of order lines is one hash aggregation with almost as many
groups as lines (9.2M lines → 8.6M (cell, customer) pairs in the benchmark): DuckDB spends ~1 s on it while the
sums of the same pivot take 0.2 s. Sorting those pairs as single 64-bit integers (cell code, then value) and
counting the runs gives the same numbers in a fraction of that: NumPy's sort of int64 is vectorised (AVX-512 /
AVX2 where the CPU has them).

The compiler (`compiler.DistinctPlan`) splits such a pivot into the pivot query without those measures (it
returns their columns' bounds instead) and a query listing each fact row's grouping values and counted columns.
Here each dimension's grouping value becomes a small integer code — integers and dates (as month, quarter or year
numbers on those axes, else day numbers) by their offset from the smallest value the pivot returned, text by its
rank among the values it returned (a VALUES list joined in the pairs query), one extra code for blank / Others —
and the codes are mixed into one cell number; cell and value go into one 32-bit key when they fit, else a 64-bit
one. When a dimension's values are of mixed kinds, a text axis has more than MAX_TEXT_VALUES values or the key
would not fit in 63 bits, `fill` returns None and the runner runs the plain query (COUNT(DISTINCT) in DuckDB)
instead. Subtotals (grouping sets) are counted from the same pairs, each set re-sorted with the rolled-up
dimensions' codes dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlglot import exp

from clientwise.reports import semantic
from clientwise.reports.compiler import EPOCH, Compiled

NARROW_BITS = 32  # keys of at most this many bits are sorted as uint32
MAX_TEXT_VALUES = 5000  # text axes with more values than this are counted by DuckDB (the ranks travel in the SQL)

# A date's period number per grain (in Python and in DuckDB), so a month axis needs one code per month, not one
# per day; any other grain counts days.
PERIOD_SQL = {"month": "(year({d}) * 12 + month({d}) - 1)", "quarter": "(year({d}) * 4 + quarter({d}) - 1)",
              "year": "year({d})"}


def _as_int(value, grain: str | None = None) -> int | None:
    """A grouping value as an integer: ints as they are, dates as period numbers; None when it is neither."""
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        if grain == "month":
            return value.year * 12 + value.month - 1
        if grain == "quarter":
            return value.year * 4 + (value.month - 1) // 3
        if grain == "year":
            return value.year
        return (value - EPOCH).days
    return None


@dataclass
class _Axis:
    """How one dimension's grouping values become codes 0 … span - 1 (span - 1: blank / Others): integers and dates
    by their offset from the smallest value, text by its rank among the values the pivot returned."""

    kind: str  # "int", "date", "text"
    grain: str | None
    low: int = 0
    span: int = 1
    ranks: dict[str, int] | None = None

    @classmethod
    def of(cls, values: set, grain: str | None) -> _Axis | None:
        if values and all(isinstance(v, str) for v in values):
            if len(values) > MAX_TEXT_VALUES:
                return None
            ranks = {v: r for r, v in enumerate(sorted(values))}
            return cls("text", grain, 0, len(ranks) + 1, ranks)
        ints = [_as_int(v, grain) for v in values]
        if any(v is None for v in ints) or len({isinstance(v, dt.date) for v in values}) > 1:
            return None
        kind = "date" if values and isinstance(next(iter(values)), dt.date) else "int"
        low = min(ints, default=0)
        return cls(kind, grain, low, max(ints, default=low - 1) - low + 2)

    def code(self, value) -> int:
        if value is None:
            return self.span - 1
        if self.ranks is not None:
            return self.ranks[value]
        return _as_int(value, self.grain) - self.low

    def sql(self, i: int) -> str:
        """The code of pairs.d<i> in DuckDB (text reads the rank from the joined table t<i>)."""
        if self.kind == "text":
            return f"COALESCE(t{i}.c, {self.span - 1})"
        d = f"pairs.d{i}"
        if self.kind == "int":
            value = f"CAST({d} AS BIGINT)"
        elif self.grain in PERIOD_SQL:
            value = PERIOD_SQL[self.grain].format(d=d)
        else:
            value = f"({d} - DATE '1970-01-01')"
        return f"COALESCE({value} - {self.low}, {self.span - 1})"

    def join(self, i: int) -> str:
        if self.kind != "text":
            return ""
        rows = ", ".join(f"({exp.convert(v).sql('duckdb')}, {r})" for v, r in self.ranks.items())
        return f" LEFT JOIN (VALUES {rows}) AS t{i}(v, c) ON pairs.d{i} = t{i}.v"


def _runs(cells: np.ndarray) -> dict[int, int]:
    """{cell: how many times it occurs} for a sorted array of cell numbers."""
    if cells.size == 0:
        return {}
    starts = np.flatnonzero(np.concatenate(([True], cells[1:] != cells[:-1])))
    counts = np.diff(np.append(starts, cells.size))
    return dict(zip(cells[starts].tolist(), counts.tolist(), strict=True))


def _unique_sorted(keys: np.ndarray) -> np.ndarray:
    keys.sort()
    if keys.size == 0:
        return keys
    keep = np.empty(keys.size, dtype=bool)
    keep[0] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def fill(fetch: Callable[[str], dict], compiled: Compiled, names: list[str], rows: list[tuple]
         ) -> list[tuple] | None:
    """`rows` of `compiled.distinct.sql` with each planned measure's exact distinct count filled in; None when the
    grouping values do not allow integer cell codes (then run `compiled.sql`). `fetch(sql)` runs a query on the
    snapshot and returns its columns as NumPy arrays."""
    plan = compiled.distinct
    pos = {name: i for i, name in enumerate(names)}
    n = len(plan.idents)
    gpos = pos.get("_g")
    row_sets = [int(r[gpos]) if gpos is not None else 0 for r in rows]

    grains = [semantic.dimension(d).grain for d in compiled.dims]
    axes = []
    for i, col in enumerate(plan.idents):
        bit = 1 << (n - 1 - i)
        axis = _Axis.of({r[pos[col]] for r, g in zip(rows, row_sets, strict=True) if not g & bit} - {None},
                        grains[i])
        if axis is None:
            return None
        axes.append(axis)
    strides = [1] * n
    for i in range(n - 2, -1, -1):
        strides[i] = strides[i + 1] * axes[i + 1].span
    spans = [a.span for a in axes]
    cell_bits = (strides[0] * spans[0] - 1).bit_length() if n else 0
    code_sql = " + ".join(f"{a.sql(i)} * {strides[i]}" for i, a in enumerate(axes)) or "0"
    source = f"({plan.pairs}) AS pairs" + "".join(a.join(i) for i, a in enumerate(axes))

    def code_of(row: tuple, g: int) -> int:
        return sum(axes[i].code(row[pos[plan.idents[i]]]) * strides[i] for i in range(n)
                   if not g & (1 << (n - 1 - i)))

    counts: dict[int, dict[int, dict[int, int]]] = {}  # measure → grouping set → {cell: distinct values}
    for j in plan.measures:
        bounds = [(r[pos[f"m{j}_lo"]], r[pos[f"m{j}_hi"]]) for r in rows if r[pos[f"m{j}_lo"]] is not None]
        if not bounds:
            counts[j] = {}
            continue
        lo, hi = min(b[0] for b in bounds), max(b[1] for b in bounds)
        if not isinstance(lo, int) or not isinstance(hi, int):
            return None
        vbits = max(1, (hi - lo).bit_length())
        if cell_bits + vbits > 63:
            return None
        # 32-bit keys when they fit (half the bytes to hand over and to sort), else 64-bit.
        sql_type, dtype = ("UINTEGER", np.uint32) if cell_bits + vbits <= NARROW_BITS else ("BIGINT", np.int64)
        sql = (f"SELECT CAST(((({code_sql}) << {vbits}) | (CAST(pairs.v{j} AS BIGINT) - {lo})) AS {sql_type}) "
               f"AS k FROM {source} WHERE pairs.v{j} IS NOT NULL")
        pairs = _unique_sorted(np.asarray(fetch(sql)["k"], dtype=dtype))
        cells = pairs >> vbits
        per_set = {}
        for g in set(row_sets):
            if g == 0:
                per_set[g] = _runs(cells)
                continue
            kept = np.zeros_like(cells)
            for i in range(n):
                if not g & (1 << (n - 1 - i)):
                    kept += (cells // strides[i]) % spans[i] * strides[i]
            rolled = _unique_sorted((kept << vbits) | (pairs & ((1 << vbits) - 1)))
            per_set[g] = _runs(rolled >> vbits)
        counts[j] = per_set

    out = []
    for r, g in zip(rows, row_sets, strict=True):
        code = code_of(r, g)
        row = list(r)
        for j in plan.measures:
            row[pos[f"m{j}"]] = counts[j].get(g, {}).get(code, 0)
        out.append(tuple(row))
    return out
