"""How an audit row reads: its action, record type, changed fields and details in words, through the label table.

Audit rows store codes (`ticket.escalate`, `service.ticket`, `escalated_to_id`, `{"context": "customer_list"}`)
so that filters and exports stay stable; the audit page shows them with these functions (core/templatetags/cw.py
`audit_*` tags). Each app registers the labels of its own actions under "audit.action" in its display_labels.py;
the generic detail keys are registered here.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clientwise.core import labels

ACTION = "audit.action"
DETAIL = "audit.detail"  # detail keys; the values of a key K are labelled by the kind "audit.detail.K" when one exists


def _model(object_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def _model_name(object_type: str):
    model = _model(object_type)
    if model is None:
        return None
    text = str(model._meta.verbose_name)
    return text[:1].upper() + text[1:]


def action_label(code: str) -> str:
    return labels.label(ACTION, code)


def object_label(object_type: str) -> str:
    """The record type in words ("customers.customer" → 客户); types that are not models come from the "model"
    kind too (registered by their app)."""
    return labels.label("model", object_type)


def _field(model, name: str):
    """The model's own field called `name` (or whose column is `name`: escalated_to_id); reverse relations are
    not fields a row stores."""
    try:
        f = model._meta.get_field(name)
    except FieldDoesNotExist:
        f = next((f for f in model._meta.concrete_fields if f.attname == name), None)
    return f if isinstance(f, models.Field) else None


def field_label(object_type: str, name: str) -> str:
    """A changed field's name in words: the model field's verbose name (escalated_to_id → 升级给), else the
    detail-key table, else the name as stored."""
    model = _model(object_type)
    f = _field(model, name) if model is not None else None
    if f is not None and getattr(f, "verbose_name", None):
        text = str(f.verbose_name)
        return text[:1].upper() + text[1:]
    return labels.label(DETAIL, name)


def field_value(object_type: str, name: str, value: Any) -> Any:
    """A stored value as people read it: a choice code as its label (role sales_rep → 销售代表), a related
    record's id as #id; anything else unchanged (cw_json formats it)."""
    if value is None or value == "" or isinstance(value, bool):
        return value
    kind = f"{object_type}.{name}"
    if labels.has_label(kind, value):
        return labels.label(kind, value)
    model = _model(object_type)
    f = _field(model, name) if model is not None else None
    if f is not None and getattr(f, "choices", None):
        choices = {str(k): v for k, v in f.flatchoices}
        if isinstance(value, list):
            return [str(choices.get(str(v), v)) for v in value]
        if str(value) in choices:
            return str(choices[str(value)])
    if f is not None and f.is_relation and isinstance(value, int):
        return f"#{value}"
    return value


def detail_items(detail: dict) -> list[tuple[str, Any]]:
    """(label, value) pairs of an audit row's detail, values that are codes labelled."""
    out = []
    for key, value in (detail or {}).items():
        kind = f"{DETAIL}.{key}"
        if isinstance(value, str) and labels.has_label(kind, value):
            value = labels.label(kind, value)
        out.append((labels.label(DETAIL, key), value))
    return out


def register() -> None:
    labels.register_resolver("model", _model_name)
    labels.register(ACTION, {
        "pii.view": _("Viewed personal data"),
        "pii.reveal": _("Revealed a contact detail"),
        "export.customers": _("Exported customers"),
        "export.orders": _("Exported orders"),
        "export.report": _("Exported a report"),
    })
    labels.register(DETAIL, {
        "as_of": _("as of"), "attachment_id": _("attachment"), "auc": _("AUC"),
        "baseline_auc": _("baseline AUC"), "changed": _("changed"), "channel": _("channel"),
        "context": _("where"), "count": _("count"), "count_this_hour": _("this hour"), "counts": _("counts"),
        "created_ids": _("created"), "customer_id": _("customer"), "customer_ids": _("customers"),
        "customers": _("customers"), "due": _("due"), "encoding": _("encoding"), "engine": _("engine"),
        "file": _("file"), "filters": _("filters"), "fixed": _("fixed"), "format": _("format"),
        "from_user_id": _("from"), "kept": _("kept"), "kind": pgettext_lazy("audit detail", "kind"),
        "last_at": _("last time"), "length": _("length"), "masked": _("masked"), "mentions": _("mentioned"),
        "merged_ids": _("merged"), "message_id": _("message"), "models": _("models"), "moved": _("moved"),
        "name": _("name"), "note": _("note"), "opportunity_id": _("opportunity"),
        "password_changed": _("password changed"), "probability": _("probability"), "products": _("products"),
        "reason": _("reason"), "rejected": _("rejected"), "replay": _("replayed"),
        "restored_ids": _("restored"), "resume_after_row": _("resumed after row"),
        "revenue_change": _("revenue change"), "rows": _("rows"), "scored": _("scored"), "size": _("size"),
        "skipped": _("skipped"), "snapshot_at": _("snapshot"), "source": _("source"), "spec": _("report"),
        "stale_months": _("months without change"), "status": _("status"), "still_failing": _("still failing"),
        "survivor_id": _("kept customer"), "ticket_id": _("ticket"), "to_user_ids": _("to"),
        "trigger": _("trigger"), "updated_ids": _("updated"), "views": _("views"), "web_form": _("web form"),
    })
    labels.register(f"{DETAIL}.format", {"csv": "CSV", "xlsx": "Excel (XLSX)", "jsonl": "JSON Lines",
                                         "parquet": "Parquet"}, codes_visible_ok=True)
    labels.register(f"{DETAIL}.engine", {"duckdb": "DuckDB", "sql": _("operational database"),
                                         "spark": "Spark"}, codes_visible_ok=True)
