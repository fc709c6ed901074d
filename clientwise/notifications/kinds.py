"""The kinds of notification and how each is worded.

A notification row stores its kind, a variant and parameters (numbers, names, codes, ISO times), never a finished
sentence: the title and body are rendered from the texts here when the notification is shown or mailed, in the
language of the person reading it (`render`). So a Chinese-speaking agent and an English-speaking manager read the
same SLA breach each in their own language, and a corrected translation fixes old notifications too.

Parameters whose value is a code (`clock`, `record`) are translated through `choices`; parameters named in
`datetimes` are ISO times shown in the display time zone; `actor` is filled from the row's actor (who caused it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy, pgettext_lazy

SLA_WARNING = "sla_warning"
SLA_BREACH = "sla_breach"
MENTION = "mention"
TASK_REMINDER = "task_reminder"
ASSIGNMENT = "assignment"
JOB_DONE = "job_done"
JOB_FAILED = "job_failed"

MISSING = "—"  # what a parameter the text needs but the row lacks shows as


@dataclass(frozen=True)
class Text:
    title: Any  # a lazy translation (or a plain format string)
    body: Any = ""


@dataclass(frozen=True)
class Kind:
    key: str
    label: Any  # the name on the preferences page
    help: Any  # one line under it
    icon: str  # Bootstrap Icons name without "bi-"
    texts: dict[str, Text]  # by params["variant"]; "" is the default
    choices: dict[str, dict[str, Any]] = field(default_factory=dict)  # param -> {code: lazy label}
    datetimes: tuple[str, ...] = ()

    def text(self, variant: str) -> Text:
        return self.texts.get(variant) or self.texts.get("") or next(iter(self.texts.values()))


RECORDS = {
    "customer": pgettext_lazy("notification record", "customer"),
    "customers": pgettext_lazy("notification record", "customers"),
    "lead": pgettext_lazy("notification record", "lead"),
    "opportunity": pgettext_lazy("notification record", "opportunity"),
    "ticket": pgettext_lazy("notification record", "ticket"),
    "task": pgettext_lazy("notification record", "task"),
}
CLOCKS = {"response": pgettext_lazy("sla clock", "first response"),
          "resolution": pgettext_lazy("sla clock", "resolution")}

KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add a kind (an app with its own kinds may call this from its AppConfig.ready())."""
    KINDS[kind.key] = kind
    return kind


register(Kind(
    SLA_WARNING, _("SLA warnings"), _("A ticket of yours has used most of its SLA time."), "hourglass-split",
    {"": Text(_("Ticket %(number)s: %(clock)s due soon"), _("%(subject)s · due %(due)s"))},
    choices={"clock": CLOCKS}, datetimes=("due",)))
register(Kind(
    SLA_BREACH, _("SLA breaches"), _("A ticket you work on or answer for missed its SLA target."),
    "exclamation-octagon",
    {"": Text(_("Ticket %(number)s: %(clock)s overdue"), _("%(subject)s · was due %(due)s"))},
    choices={"clock": CLOCKS}, datetimes=("due",)))
register(Kind(
    MENTION, _("Mentions"), _("A colleague names you (@username) in a note or comment."), "at",
    {"": Text(_("%(actor)s mentioned you on %(record)s %(name)s"), "%(excerpt)s")},
    choices={"record": RECORDS}))
register(Kind(
    TASK_REMINDER, _("Task reminders"), _("A task, call or meeting of yours reaches its reminder or due time."),
    "alarm",
    {"reminder": Text(_("Reminder: %(subject)s"), _("Due %(due)s")),
     "undated": Text(_("Reminder: %(subject)s"), ""),
     "due": Text(_("Due now: %(subject)s"), _("Due %(due)s"))},
    datetimes=("due",)))
register(Kind(
    ASSIGNMENT, _("Assignments"),
    _("Someone gives you a ticket, task, opportunity, lead or customers, or a rule routes one to you."),
    "person-check",
    {"": Text(_("%(actor)s assigned %(record)s %(name)s to you"), "%(detail)s"),
     "routed": Text(_("New %(record)s %(name)s was routed to you"), "%(detail)s"),
     "escalated": Text(_("%(actor)s escalated ticket %(name)s to you"), "%(detail)s"),
     "customers": Text(ngettext_lazy("%(actor)s handed %(count)s customer over to you",
                                     "%(actor)s handed %(count)s customers over to you", "count"), "%(detail)s")},
    choices={"record": RECORDS}))
register(Kind(
    JOB_DONE, _("Finished background jobs"),
    _("An import, scoring run, data quality check or scheduled report you started has finished."), "check2-circle",
    {"import": Text(_("Import %(name)s finished"),
                    _("%(created)s created, %(updated)s updated, %(unchanged)s unchanged, %(rejected)s rejected")),
     "scoring": Text(_("Scoring finished"), _("%(customers)s customers scored as of %(as_of)s")),
     "quality": Text(_("Data quality check finished"), _("%(customers)s customers checked")),
     "report": Text(_("Report %(name)s sent"),
                    ngettext_lazy("%(rows)s rows to %(count)s recipient", "%(rows)s rows to %(count)s recipients",
                                  "count"))}))
register(Kind(
    JOB_FAILED, _("Failed background jobs"),
    _("An import, scoring run, data quality check or scheduled report you started has failed."), "x-octagon",
    {"import": Text(_("Import %(name)s failed"), "%(error)s"),
     "scoring": Text(_("Scoring failed"), "%(error)s"),
     "quality": Text(_("Data quality check failed"), "%(error)s"),
     "report": Text(_("Report %(name)s could not be sent"), "%(error)s")}))


class _Values(dict):
    """Parameters for %-formatting; one the text needs but the row lacks shows as MISSING instead of failing."""

    def __missing__(self, key):
        return MISSING


def _local(value: Any) -> str:
    if not value:
        return MISSING
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _format(template: Any, values: _Values) -> str:
    if template is None or (isinstance(template, str) and not template):
        return ""
    # `template % values`, not str(template) % values: a lazy plural picks its form from the values.
    try:
        return str(template % values)
    except (KeyError, ValueError, TypeError):
        # A translation whose placeholders do not fit: fall back to the source text rather than fail the page.
        with translation.override(None):
            try:
                return str(template % values)
            except (KeyError, ValueError, TypeError):
                return str(template)


def render(kind_key: str, params: dict | None, *, actor_name: str = "") -> tuple[str, str]:
    """(title, body) of a notification in the active language. An unknown kind (an app that is gone) shows its key."""
    kind = KINDS.get(kind_key)
    params = dict(params or {})
    if kind is None:
        return kind_key, ""
    values = _Values(params)
    for name, labels in kind.choices.items():
        if name in values:
            label = labels.get(str(values[name]))
            values[name] = str(label) if label is not None else str(values[name])
    for name in kind.datetimes:
        values[name] = _local(params.get(name))
    values["actor"] = actor_name or "Clientwise"
    text = kind.text(str(params.get("variant") or ""))
    return _format(text.title, values), _format(text.body, values)
