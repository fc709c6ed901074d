"""How an audit row reads: its action, record type, changed fields and details in words, through the label table.

Audit rows store codes (`ticket.escalate`, `service.ticket`, `escalated_to_id`, `{"context": "customer_list"}`)
so that filters and exports stay stable; the audit page shows them with these functions (core/templatetags/cw.py
`audit_*` tags). Each app registers the labels of its own actions under "audit.action" in its display_labels.py;
the generic detail keys are registered here.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clientwise.core import labels

ACTION = "audit.action"
DETAIL = "audit.detail"  # detail keys; the values of a key K are labelled by the kind "audit.detail.K" when one exists
FIELD = "field"  # field names shared by many models (the model bases' columns) for fields without a verbose name


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


def _explicit(f) -> bool:
    """Whether a field was given a verbose name (a translated one), not Django's default made from its name."""
    name = getattr(f, "verbose_name", None)
    return isinstance(name, Promise) or (bool(name) and str(name) != f.name.replace("_", " "))


def model_field_label(model: type[models.Model] | None, name: str) -> str:
    """A field's name in words for people: its own (translated) verbose name; for a field that has none, the
    shared field-name table ("field": source, external_id, created_at, the columns the model bases add
    everywhere), the name of the record a foreign key points to (as the "model" labels name it), then the audit
    detail keys; else the default Django made from the name. Capitalised, as a column
    heading or a changed field's name is."""
    f = _field(model, name) if model is not None else None
    if f is not None and _explicit(f):
        text = str(f.verbose_name)
    elif labels.has_label(FIELD, f.name if f is not None else name):
        text = labels.label(FIELD, f.name if f is not None else name)
    elif f is not None and f.is_relation and f.related_model is not None and labels.has_label(
            "model", f.related_model._meta.label_lower):  # ticket_id → 工单: the record it points to
        text = labels.label("model", f.related_model._meta.label_lower)
    elif labels.has_label(DETAIL, name):
        text = labels.label(DETAIL, name)
    elif f is not None:
        text = str(f.verbose_name)
    else:
        text = name
    return text[:1].upper() + text[1:]


def field_label(object_type: str, name: str) -> str:
    """A changed field's name in words (escalated_to_id → 升级给; model_field_label)."""
    return model_field_label(_model(object_type), name)


# Fields whose values are codes of a label kind wherever they occur (the `source` every imported row carries).
VALUE_KINDS = {"source": "source"}


def field_value(object_type: str, name: str, value: Any) -> Any:
    """A stored value as people read it: a choice code as its label (role sales_rep → 销售代表), a time as the
    local date and time, a related record's id as #id; anything else unchanged (cw_json formats it)."""
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
    if name in VALUE_KINDS and isinstance(value, str):
        return labels.label(VALUE_KINDS[name], value)
    if isinstance(f, models.DateTimeField) and isinstance(value, str):
        return local_datetime(value)
    if f is not None and f.is_relation and isinstance(value, int):
        return f"#{value}"
    return value


def is_time(object_type: str, name: str) -> bool:
    """Whether the field holds a date or a time (its values are shown on one line)."""
    model = _model(object_type)
    return isinstance(_field(model, name) if model is not None else None, models.DateField)


def local_datetime(value: Any, fmt: str = "Y-m-d H:i") -> str:
    """A datetime or an ISO 8601 string in the display time zone (TIME_ZONE), a naive one taken as UTC; anything
    unreadable as it is."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return value
    if not isinstance(value, dt.datetime):
        return "" if value is None else str(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return date_format(timezone.localtime(value), fmt)


def detail_items(detail: dict, object_type: str = "") -> list[tuple[str, Any]]:
    """(label, value) pairs of an audit row's detail, values that are codes labelled: by the detail key's own kind
    ("audit.detail.K"), else as the record's field of that name (an import's kind, a row's source). A mapping's
    keys are labelled by the key's kind too ({"customers": 26} → "档案: 26")."""
    out = []
    for key, value in (detail or {}).items():
        kind = f"{DETAIL}.{key}"
        if isinstance(value, str):
            if labels.has_label(kind, value):
                value = labels.label(kind, value)
            elif object_type:
                value = field_value(object_type, key, value)
        elif isinstance(value, dict) and value:
            value = labels.list_separator().join(f"{labels.label(kind, k)}: {_plain(v)}" for k, v in value.items())
        out.append((labels.label(DETAIL, key), value))
    return out


def _plain(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return str(value)


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
        "created": _("created"), "created_ids": _("created"), "created_references": _("reference rows created"),
        "customer_id": _("customer"), "customer_ids": _("customers"),
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
        "trigger": _("trigger"), "unchanged": _("unchanged"), "updated": _("updated"), "updated_ids": _("updated"),
        "views": _("views"), "web_form": _("web form"),
    })
    # Columns many models share (core.models bases, bookkeeping times), for models that give them no name.
    # (A context: short words such as "Closed" mean other things in other apps' catalogs, all merged into one.)
    labels.register(FIELD, {
        "source": pgettext_lazy("field name", "Source"),
        "external_id": pgettext_lazy("field name", "External ID"),
        "created_at": pgettext_lazy("field name", "Created"),
        "updated_at": pgettext_lazy("field name", "Last changed"),
        "created_by": pgettext_lazy("field name", "Created by"),
        "archived_at": pgettext_lazy("field name", "Archived"),
        "closed_at": pgettext_lazy("field name", "Closed"),
        "started_at": pgettext_lazy("field name", "Started"),
        "converted_at": pgettext_lazy("field name", "Converted"),
        "done_at": pgettext_lazy("field name", "Completed"),
        "computed_at": pgettext_lazy("field name", "Computed"),
        "currency": pgettext_lazy("field name", "Currency"),
    })
    labels.register(f"{DETAIL}.format", {"csv": "CSV", "xlsx": "Excel (XLSX)", "jsonl": "JSON Lines",
                                         "parquet": "Parquet"}, codes_visible_ok=True)
    labels.register(f"{DETAIL}.engine", {"duckdb": "DuckDB", "sql": _("operational database"),
                                         "spark": "Spark"}, codes_visible_ok=True)
