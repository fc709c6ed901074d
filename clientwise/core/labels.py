"""One table of display labels: every code a page, an export or a message shows goes through it.

Codes are what the database, the API and the rules speak (`sales_rep`, `resolution_breach`, `appliances`,
`hit_rate`); people read labels in their own language (销售代表, 解决已超时, 家电, 命中率). Each app registers its
code → lazy-translated label maps under a *kind* in its `display_labels.py`, whose `register()` the first lookup
calls (autodiscover(), the way extensions finds `demo_data` modules; core never imports the apps):

    # clientwise/service/display_labels.py
    from clientwise.core import labels

    def register():
        labels.register("service.skill", {"appliances": _("Appliances"), "billing": _("Billing")})
        labels.register("service.ticket_status", Ticket.Status)    # a TextChoices class works as it is

and every place that shows a code asks the table:

    labels.label("service.skill", "appliances")                    # Python: "家电" under zh-hans
    {{ agent.skills|label_list:"service.skill" }}                  # templates (core/templatetags/cw.py)
    {{ row.action|label:"audit.action" }}

A kind whose codes are open-ended (model names, field names) registers a resolver instead of a map, which is asked
when the map has no entry. A code that no table knows comes back as it was typed: a skill an administrator made up
("空调清洗") is its own label. Unknown *registered-looking* codes are what tests/test_labels_visible.py hunts for.

Timeline subjects and other stored sentences are written once but read in many languages: `deferred(msgid,
**params)` keeps the untranslated message and its parameters next to the text of the writer's language, and
`render_deferred(stored)` translates it again for the reader. Parameters may be label references
(`ref(kind, code)`), so "Lost (went to a competitor)" reads "丢单（输给竞争对手）" for a Chinese reader even when an
English-speaking rep closed it.
"""

from __future__ import annotations

import enum
import importlib
import importlib.util
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db.models import Choices
from django.utils.translation import gettext, pgettext

# --- The registry -------------------------------------------------------------------------------------------------

MODULE = "display_labels"  # each app's module with `register()`, found by autodiscover() like extensions' demo_data
_discovered = False


def autodiscover() -> None:
    """Call every installed Clientwise app's `<app>.display_labels.register()` once (the first lookup does it,
    after every app is ready: an app's table may read registries other apps fill in their ready())."""
    global _discovered
    if _discovered:
        return
    _discovered = True

    for config in apps.get_app_configs():
        if not config.name.startswith("clientwise."):
            continue
        name = f"{config.name}.{MODULE}"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register()


@dataclass
class Kind:
    """The labels of one kind of code. `codes_visible_ok`: codes that may show as they are (a brand-like code such
    as "DuckDB", a tier letter) — the raw-code test leaves them alone."""

    name: str
    labels: dict[str, Any] = field(default_factory=dict)
    resolvers: list[Callable[[str], Any]] = field(default_factory=list)
    codes_visible_ok: bool = False


_KINDS: dict[str, Kind] = {}


def _kind(name: str) -> Kind:
    kind = _KINDS.get(name)
    if kind is None:
        kind = _KINDS[name] = Kind(name)
    return kind


def _pairs(labels: Mapping | Iterable | type) -> Iterable[tuple[str, Any]]:
    if isinstance(labels, type) and issubclass(labels, Choices):
        return [(str(k), v) for k, v in labels.choices]
    if isinstance(labels, Mapping):
        return [(_code(k), v) for k, v in labels.items()]
    return [(_code(k), v) for k, v in labels]


def _code(value) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    return "" if value is None else str(value)


def register(kind: str, labels: Mapping | Iterable | type, *, codes_visible_ok: bool = False) -> None:
    """Add code → label pairs to a kind (a dict, a list of pairs, or a TextChoices/IntegerChoices class). Several
    apps may add to one kind (each app registers its own audit actions); a later label for a code replaces the
    earlier one, so ready() running twice in tests is harmless."""
    k = _kind(kind)
    k.codes_visible_ok = k.codes_visible_ok or codes_visible_ok
    for code, text in _pairs(labels):
        k.labels[code] = text


def register_resolver(kind: str, resolver: Callable[[str], Any]) -> None:
    """For kinds whose codes are open-ended: `resolver(code)` returns a label or None (then the code is shown)."""
    k = _kind(kind)
    if resolver not in k.resolvers:
        k.resolvers.append(resolver)


def label(kind: str, code, default: str | None = None) -> str:
    """The label of `code` in the active language. Unknown codes: `default` when given, else the code itself
    (an empty string for None/"")."""
    autodiscover()
    key = _code(code)
    k = _KINDS.get(kind)
    if k is not None and key in k.labels:
        return str(k.labels[key])
    if k is not None and key:
        for resolver in k.resolvers:
            found = resolver(key)
            if found is not None:
                return str(found)
    if default is not None:
        return default
    return key


def has_label(kind: str, code) -> bool:
    autodiscover()
    k = _KINDS.get(kind)
    return k is not None and _code(code) in k.labels


def label_list(kind: str, codes, sep: str | None = None) -> str:
    """Comma-separated codes ("appliances,install") or a list of codes as labels joined by the language's list
    separator (、 in Chinese, ", " in English)."""
    if isinstance(codes, str):
        codes = [c.strip() for c in codes.split(",")]
    items = [label(kind, c) for c in codes or [] if _code(c).strip()]
    return (sep if sep is not None else list_separator()).join(items)


def list_separator() -> str:
    return pgettext("separator between the items of a short list", ", ")


def choices(kind: str) -> list[tuple[str, str]]:
    """(code, label) pairs of a kind in registration order, for select boxes and filters."""
    autodiscover()
    k = _KINDS.get(kind)
    return [(code, str(text)) for code, text in k.labels.items()] if k else []


def codes(kind: str) -> list[str]:
    autodiscover()
    k = _KINDS.get(kind)
    return list(k.labels) if k else []


def kinds() -> dict[str, Kind]:
    """Every registered kind (for tests and docs)."""
    autodiscover()
    return dict(_KINDS)


# --- Sentences translated when read --------------------------------------------------------------------------------

LABEL_REF = "$label"


def ref(kind: str, code) -> dict[str, list[str]]:
    """A parameter of a deferred message that is a code: translated through the table when the message is read."""
    return {LABEL_REF: [kind, _code(code)]}


def refs(kind: str, codes) -> dict[str, list]:
    """A parameter that is a list of codes (the fields a change touched): read as their labels, joined."""
    return {LABELS_REF: [kind, [_code(c) for c in codes or []]]}


LABELS_REF = "$labels"


def _resolve(value):
    if isinstance(value, dict) and LABEL_REF in value and isinstance(value[LABEL_REF], list | tuple):
        kind, code = (list(value[LABEL_REF]) + ["", ""])[:2]
        return label(str(kind), code)
    if isinstance(value, dict) and LABELS_REF in value and isinstance(value[LABELS_REF], list | tuple):
        kind, codes_ = (list(value[LABELS_REF]) + ["", []])[:2]
        return label_list(str(kind), codes_ if isinstance(codes_, list) else [])
    return value


class Deferred(str):
    """Text in the writer's language that also remembers how to say it in another: `msgid` (untranslated, marked
    with gettext_noop at the call site so makemessages finds it) and `params` (JSON values or `ref()`s). Word a
    count so that it needs no plural form ("Duplicates merged: %(count)s"): there is no gettext_noop for pairs."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, params: dict[str, Any]):
        obj = super().__new__(cls, _format(msgid, params))
        obj.msgid, obj.params = msgid, params
        return obj

    def stored(self) -> dict[str, Any]:
        return {"msgid": self.msgid, "params": self.params}


def _format(msgid: str, params: dict[str, Any]) -> str:
    text = gettext(msgid)
    values = {k: _resolve(v) for k, v in params.items()}
    try:
        return text % values if values else text
    except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder: fall back to the msgid
        try:
            return msgid % values if values else msgid
        except (KeyError, TypeError, ValueError):
            return msgid


def deferred(msgid: str, **params) -> Deferred:
    """`deferred(gettext_noop("Ticket %(number)s escalated to %(name)s"), number=..., name=...)`."""
    return Deferred(msgid, params)



DEFERRED_KEY = "_subject"  # where a row's JSON payload keeps its deferred subject (customers.events.record_event)


_ROW_TEXTS: dict[str, Callable[[Any], str | None]] = {}


def register_row_text(key: str, render: Callable[[Any], str | None]) -> None:
    """How rows of one kind say their sentence from their own data, in the reader's language, whatever language
    they were written in: `key` is "<app_label.model>:<kind>" ("customers.interaction:purchase"), `render(row)`
    returns the text or None (then the stored text is shown). For rows written in bulk (imports, the demo) whose
    payload already holds every part of the sentence, so nothing extra is stored per row."""
    _ROW_TEXTS[key] = render


def row_text(row, fallback_attr: str = "subject") -> str:
    """A row's stored sentence (a timeline row's subject) in the reader's language: from payload[DEFERRED_KEY]
    when it was written with deferred(), else from the renderer registered for its kind, else as written."""
    autodiscover()
    payload = getattr(row, "payload", None)
    stored = payload.get(DEFERRED_KEY) if isinstance(payload, dict) else None
    fallback = getattr(row, fallback_attr, "") or ""
    if stored is not None:
        return render_deferred(stored, fallback=fallback)
    meta = getattr(row, "_meta", None)
    render = _ROW_TEXTS.get(f"{meta.label_lower}:{getattr(row, 'kind', '')}") if meta is not None else None
    if render is not None:
        try:
            text = render(row)
        except (KeyError, TypeError, ValueError):
            text = None
        if text:
            return text
    return fallback


def render_deferred(stored, fallback: str = "") -> str:
    """A stored {"msgid", "params"} in the active language; `fallback` (the text as written) when it is missing
    or unreadable."""
    if not isinstance(stored, dict) or not isinstance(stored.get("msgid"), str):
        return fallback
    params = stored.get("params")
    return _format(stored["msgid"], params if isinstance(params, dict) else {})
