"""Turn a PivotResult into what the pages render: header rows, body rows with formatted cells, and chart series."""

from __future__ import annotations

import json

from django.utils.translation import gettext as _

from clientwise.reports.runner import PivotResult


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
            row.append({"text": text, "colspan": len(measures), "cls": "rp-total" if col["total"] else ""})
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
                     "keys": row["keys"], "filterable": bool(row["keys"]) and not row["total"]})
    return {"head": head, "body": body}


def chart(result: PivotResult, kind: str = "bar") -> dict:
    """ECharts-ready series for the first measure (or up to three measures without column dimensions)."""
    measures = result.measures
    rows = [(i, r) for i, r in enumerate(result.rows) if not r["total"]] or list(enumerate(result.rows))
    cols = [(j, c) for j, c in enumerate(result.columns) if not c["total"]] or list(enumerate(result.columns))
    x = [" / ".join(r["labels"]) or _("Total") for _i, r in rows]
    series = []
    if result.col_dims:
        m = measures[0]
        for j, c in cols[:20]:
            series.append({"name": " / ".join(c["labels"]), "data": [(result.cells[i][j] or {}).get(m["id"])
                                                                      for i, _r in rows]})
        y_title = m["label"]
    else:
        first_fmt = measures[0]["format"]
        for m in measures[:3]:
            if m["format"] != first_fmt and series:
                continue
            series.append({"name": m["label"], "data": [(result.cells[i][0] or {}).get(m["id"]) for i, _r in rows]})
        y_title = measures[0]["label"]
    return {"kind": kind, "x": x[:200], "series": [{**s, "data": s["data"][:200]} for s in series],
            "y_title": y_title, "pct": measures[0]["format"] == "pct"}


def chart_json(result: PivotResult, kind: str = "bar") -> str:
    return json.dumps(chart(result, kind), ensure_ascii=False)
