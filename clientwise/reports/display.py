"""Turn a PivotResult into what the pages render: header rows, body rows with formatted cells, and chart series."""

from __future__ import annotations

import json

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from clientwise.reports.runner import OTHERS_KEY, PivotResult


def fmt_value(value, fmt: str) -> str:
    if value is None:
        return ""
    if fmt == "pct":
        return f"{value * 100:.1f}%"
    # Grouped with "," in every language, as the money filter does (Chinese business documents write 34,707.79).
    if fmt == "int":
        return f"{int(value):,}"
    if fmt == "qty":  # 1,250 pieces or 35.27 L: up to three decimals, none when whole
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return f"{value:,.2f}"


def _pct(value) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def table(result: PivotResult) -> dict:
    measures = result.measures
    nrd = len(result.row_dims)
    head: list[list[dict]] = []
    for level, dim in enumerate(result.col_dims):
        row = [{"text": dim["label"], "colspan": max(1, nrd), "cls": "rp-dimhead"}]
        for col in result.columns:
            if level < len(col["labels"]):
                text = col["labels"][level]
            elif level == col["depth"]:
                text = _("Total") if col["depth"] == 0 else _("Subtotal")
            else:
                text = ""
            note = col.get("partial", "") if level == len(col["labels"]) - 1 else ""
            row.append({"text": text, "colspan": len(measures), "cls": "rp-total" if col["total"] else "",
                        "partial": note})
        head.append(row)
    last = [{"text": d["label"], "colspan": 1, "cls": "rp-dimhead"} for d in result.row_dims] or \
        [{"text": "", "colspan": 1, "cls": ""}]
    for col in result.columns:
        for m in measures:
            last.append({"text": m["label"], "colspan": 1, "cls": "rp-measure" + (" rp-total" if col["total"] else "")})
    head.append(last)
    body = []
    for i, (row, cells) in enumerate(zip(result.rows, result.cells, strict=True)):
        labels = []
        for d in range(max(1, nrd)):
            if d < len(row["labels"]):
                labels.append(row["labels"][d])
            elif d == row["depth"]:
                labels.append(_("Total") if row["depth"] == 0 else _("Subtotal"))
            else:
                labels.append("")
        tds = []
        for j, cell in enumerate(cells):
            for m in measures:
                v = (cell or {}).get(m["id"])
                extra = []
                if result.pct is not None and result.pct[i][j]:
                    extra.append(_pct(result.pct[i][j].get(m["id"])))
                if result.change is not None and result.change[i][j]:
                    ch = result.change[i][j].get(m["id"])
                    if ch is not None:
                        extra.append(("▲" if ch >= 0 else "▼") + _pct(abs(ch)))
                tds.append({"text": fmt_value(v, m["format"]), "extra": " ".join(e for e in extra if e),
                            "row": i, "col": j, "empty": v is None,
                            "cls": "rp-total" if row["total"] or result.columns[j]["total"] else ""})
        body.append({"labels": labels, "cells": tds, "total": row["total"], "depth": row["depth"], "index": i,
                     "partial": row.get("partial", ""),
                     "keys": row["keys"], "filterable": bool(row["keys"]) and not row["total"]})
    return {"head": head, "body": body}


def _list(labels: list[str]) -> str:
    return pgettext("list separator", ", ").join(labels)


def chart_title(plotted: list[dict], dims: list[dict]) -> str:
    """What a chart shows, in words, from what it plots: "Revenue and Buyers by Order month"."""
    names = [m["label"] for m in plotted]
    what = names[0] if len(names) == 1 else _("%(some)s and %(last)s") % {"some": _list(names[:-1]), "last": names[-1]}
    if not dims:
        return what
    return _("%(measures)s by %(dimensions)s") % {"measures": what, "dimensions": _list([d["label"] for d in dims])}


def _total_cell(result: PivotResult) -> dict:
    ri = next((i for i, r in enumerate(result.rows) if r["depth"] == 0), 0)
    ci = next((j for j, c in enumerate(result.columns) if c["depth"] == 0), 0)
    return (result.cells[ri][ci] if result.cells and result.cells[ri] else None) or {}


def chart(result: PivotResult, kind: str = "bar") -> dict:
    """What the chart draws, decided here so that its title is generated from what is plotted:

    - every measure on bar and line charts (two value axes when their formats differ; a measure of a third format
      is not drawn and listed in `not_plotted`); with column dimensions, pies and key figures, as noted;
    - the "Others" member of a top-N report is not drawn next to the members it ranks (it would dwarf them): its
      figure is given apart in `others`;
    - a period the figures cover only in part (core.periods) is marked in `partial` and labelled, so the chart
      draws it apart instead of as a drop.
    """
    measures = result.measures
    if kind == "figure":
        cell = _total_cell(result)
        figures = []
        for m in measures:
            value = cell.get(m["id"])
            if value is None and m["format"] == "int":
                value = 0  # a count over no rows is 0; an average over none has no value ("—")
            figures.append({"label": m["label"], "text": fmt_value(value, m["format"]) or "—"})
        return {"kind": kind, "figures": figures, "title": chart_title(measures, []), "series": [{"data": []}],
                "x": [], "not_plotted": [], "texts": chart_texts()}
    rows = [(i, r) for i, r in enumerate(result.rows) if not r["total"]] or list(enumerate(result.rows))
    cols = [(j, c) for j, c in enumerate(result.columns) if not c["total"]] or list(enumerate(result.columns))
    # In a pie "Others" is its share of the whole (left out, the other slices would look bigger than they are);
    # beside bars or on a line it would dwarf the members it ranks, so it is given apart.
    others_rows = [] if kind == "pie" else [(i, r) for i, r in rows if OTHERS_KEY in r["keys"]]
    rows = [(i, r) for i, r in rows if kind == "pie" or OTHERS_KEY not in r["keys"]]
    others_cols = [(j, c) for j, c in cols if OTHERS_KEY in c["keys"]]
    cols = [(j, c) for j, c in cols if OTHERS_KEY not in c["keys"]]
    x = [" / ".join(r["labels"]) or _("Total") for _i, r in rows]
    partial = [r.get("partial", "") for _i, r in rows]
    partial_columns = any(c.get("partial") for _j, c in cols)
    series = []
    plotted: list[dict] = []
    axes: list[str] = []
    if result.col_dims or kind == "pie":
        m = measures[0]
        plotted = [m]
        axes = [m["format"]]
        if result.col_dims:
            for j, c in cols[:20]:
                name = " / ".join(c["labels"])
                if c.get("partial"):
                    name = f"{name} ({c['partial']})"
                series.append({"name": name, "axis": 0, "pct": m["format"] == "pct", "partial": bool(c.get("partial")),
                               "data": [(result.cells[i][j] or {}).get(m["id"]) for i, _r in rows]})
        else:
            series.append({"name": m["label"], "axis": 0, "pct": m["format"] == "pct",
                           "data": [(result.cells[i][0] or {}).get(m["id"]) for i, _r in rows]})
    else:
        for m in measures:
            fmt = "pct" if m["format"] == "pct" else "count" if m["format"] in ("int", "qty") else m["format"]
            if fmt not in axes:
                if len(axes) == 2:
                    continue
                axes.append(fmt)
            plotted.append(m)
            series.append({"name": m["label"], "axis": axes.index(fmt), "pct": m["format"] == "pct",
                           "data": [(result.cells[i][0] or {}).get(m["id"]) for i, _r in rows]})
    not_plotted = [m["label"] for m in measures if m not in plotted]
    others = []
    for i, r in others_rows:
        cell = result.cells[i][0] if result.cells[i] else None
        others.append({"label": " / ".join(r["labels"]),
                       "values": [{"label": m["label"], "text": fmt_value((cell or {}).get(m["id"]), m["format"])}
                                  for m in plotted]})
    if others_cols:
        others.append({"label": " / ".join(others_cols[0][1]["labels"]), "values": []})
    axis_titles = []
    for a in range(len(axes)):
        axis_titles.append(_list([m["label"] for m, s in zip(plotted, series, strict=False) if s["axis"] == a])
                           if not result.col_dims else plotted[0]["label"])
    return {"kind": kind, "x": x[:200], "partial": partial[:200],
            "series": [{**s, "data": s["data"][:200]} for s in series],
            "y_title": axis_titles[0] if axis_titles else "", "axes": [{"title": t, "pct": f == "pct"}
                                                                       for t, f in zip(axis_titles, axes, strict=True)],
            "pct": bool(plotted) and plotted[0]["format"] == "pct",
            "title": chart_title(plotted, [*result.row_dims, *result.col_dims]),
            "not_plotted": not_plotted, "others": others, "texts": chart_texts(),
            "partial_columns": bool(result.col_dims) and partial_columns}


def chart_texts() -> dict:
    return {"others": _("Not drawn, in the table:"), "not_plotted": _("Only in the table:"),
            "partial": _("Pale bars and hollow points are periods the figures cover only in part.")}


def chart_json(result: PivotResult, kind: str = "bar") -> str:
    # Written into a <script> element by the builder: "<" escaped so no label can close it.
    return json.dumps(chart(result, kind), ensure_ascii=False).replace("<", "\\u003c")
