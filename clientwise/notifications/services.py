"""Notification services: the only code that writes notifications and e-mail preferences.

Producers (service, sales, customers, dataio, analytics, reports) call `notify` inside their own transaction:
the rows commit or roll back with the change that caused them, and e-mail is queued only after the commit
(`transaction.on_commit`), so a rolled-back change never mails anybody. `notify` is idempotent per recipient, kind,
target and dedupe key: a periodic check that finds the same overdue ticket every five minutes writes one row.

This app sits low (core < accounts < notifications < customers …): it imports no domain app, so every domain may
call it. Who may see the record is the caller's rule; `mentioned_users` takes it as a function.
"""

from __future__ import annotations

import json
import logging
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from clientwise.core.errors import DomainError, ErrorCode, ValidationFailed
from clientwise.notifications import kinds as kinds_mod
from clientwise.notifications import rules
from clientwise.notifications.models import EmailPreference, Notification
from clientwise.notifications.queries import get_notification_for, notifications_of
from clientwise.notifications.tasks import send_notification_emails

log = logging.getLogger(__name__)

EMAIL_BATCH = 100  # notifications per e-mail task
EXCERPT = 200  # characters of a note kept as the excerpt of a mention


@dataclass(frozen=True)
class Target:
    """What a notification is about: a model label, the row's id and the path of its page."""

    type: str
    id: int | None = None
    url: str = ""


def target_for(obj, url_name: str) -> Target:
    """The Target of a saved model instance whose detail page is `url_name` with the pk as its one argument."""
    return Target(obj._meta.label_lower, obj.pk, reverse(url_name, args=[obj.pk]))


@dataclass(frozen=True)
class Notice:
    """One notify() call's worth: the same kind, parameters and target for one or more recipients."""

    recipients: Iterable[Any]  # users, user ids, or None (ignored)
    kind: str
    params: dict[str, Any] | None = None
    target: Target | None = None
    actor: Any = None  # who caused it (never told about it themselves); None for the system
    dedupe_key: str = ""


def excerpt(text: str, length: int = EXCERPT) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 1] + "…"


def _json_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """Parameters as JSON values: times as ISO strings, decimals as strings. Lazy translations are refused: a
    notification stores codes and values, and the words come from kinds.py in the reader's language."""
    out = {}
    for name, value in (params or {}).items():
        if isinstance(value, Promise):
            raise ValueError(f"notification parameter {name!r} is a lazy translation; store a code instead")
        out[str(name)] = json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    return out


def _user_ids(recipients: Iterable[Any]) -> list[int]:
    out: list[int] = []
    for r in recipients or ():
        pk = getattr(r, "pk", r)
        if pk is None:
            continue
        pk = int(pk)
        if pk not in out:
            out.append(pk)
    return out


def _chunks(items: list, size: int = 500) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def notify(recipients: Iterable[Any], kind: str, params: dict[str, Any] | None = None, target: Target | None = None,
           *, actor=None, dedupe_key: str = "") -> int:
    """Tell `recipients` about something: one notification each, unless they already have one of this kind for
    this target and dedupe key. The actor and inactive users are left out. Writes in the caller's transaction;
    e-mail for those who asked for this kind is queued after the commit. Returns how many rows were written."""
    return notify_many([Notice(recipients, kind, params, target, actor, dedupe_key)])


def notify_many(notices: Iterable[Notice]) -> int:
    """Several notify() calls in a few queries (a periodic sweep finding hundreds of due reminders at once)."""
    wanted: dict[tuple[int, str, str], Notification] = {}
    for n in notices:
        if n.kind not in kinds_mod.KINDS:
            raise ValueError(f"unknown notification kind {n.kind!r}")
        actor_id = getattr(n.actor, "pk", None)
        params = _json_params(n.params)
        target = n.target or Target("")
        key = rules.notification_key(target.type, target.id, n.dedupe_key)
        for rid in _user_ids(n.recipients):
            if rid == actor_id or (rid, n.kind, key) in wanted:
                continue
            wanted[(rid, n.kind, key)] = Notification(
                recipient_id=rid, kind=n.kind, params=params, actor_id=actor_id, target_type=target.type[:60],
                target_id=target.id, url=(target.url or "")[:300], key=key)
    if not wanted:
        return 0
    User = get_user_model()
    ids = sorted({rid for rid, _k, _key in wanted})
    emails: dict[int, str] = {}
    for part in _chunks(ids):
        emails.update(User.objects.filter(pk__in=part, is_active=True).values_list("pk", "email"))
    keys = sorted({key for _r, _k, key in wanted})
    existing: set[tuple[int, str, str]] = set()
    for part in _chunks(keys):
        existing.update(Notification.objects.filter(key__in=part, recipient_id__in=list(emails))
                        .values_list("recipient_id", "kind", "key"))
    new = {k: row for k, row in wanted.items() if k[0] in emails and k not in existing}
    if not new:
        return 0
    opted = set(EmailPreference.objects.filter(user_id__in=list({k[0] for k in new}),
                                               kind__in=list({k[1] for k in new})).values_list("user_id", "kind"))
    mailed = []
    for (rid, kind, key), row in new.items():
        if (rid, kind) in opted and emails.get(rid):
            row.email = Notification.Email.PENDING
            mailed.append((rid, kind, key))
    Notification.objects.bulk_create(list(new.values()), ignore_conflicts=True, batch_size=500)
    if mailed:
        transaction.on_commit(partial(_queue_emails, mailed), robust=True)
    return len(new)


def _queue_emails(wanted: list[tuple[int, str, str]]) -> None:
    """After the commit: queue the e-mail task for the rows written as waiting for e-mail."""
    want = set(wanted)
    ids = []
    for part in _chunks(sorted({k for _r, _kind, k in want})):
        rows = Notification.objects.filter(key__in=part, email=Notification.Email.PENDING,
                                           recipient_id__in=list({r for r, _kind, _k in want}))
        ids += [pk for pk, r, kind, k in rows.values_list("pk", "recipient_id", "kind", "key") if (r, kind, k) in want]
    for part in _chunks(sorted(ids), EMAIL_BATCH):
        send_notification_emails.enqueue(part)


def mentioned_users(text: str, *, author=None, may_see: Callable[[Any], bool]) -> list:
    """The active users `text` names with @username who may see the record it is written on (`may_see(user)`, the
    caller's visibility rule), without the author. A name that is nobody's, or somebody who may not see the record,
    is left out silently: a mention never tells anyone about a record they could not open."""
    tokens = rules.mention_tokens(text)
    if not tokens:
        return []
    User = get_user_model()
    found = {}
    for user in (User.objects.annotate(lname=Lower("username"))
                 .filter(lname__in=sorted(rules.mention_candidates(tokens)), is_active=True).order_by("pk")):
        found.setdefault(user.username.lower(), user)
    author_id = getattr(author, "pk", None)
    return [found[name] for name in rules.resolve_mentions(tokens, set(found))
            if found[name].pk != author_id and may_see(found[name])]


# --- Reading --------------------------------------------------------------------------------------------------------


def mark_read(*, actor, notification_id) -> Notification:
    """Mark one of the actor's notifications read (reading it twice keeps the first time)."""
    with transaction.atomic():
        n = get_notification_for(actor, notification_id, lock=True)
        if n.read_at is None:
            n.read_at = timezone.now()
            n.save(update_fields=["read_at"])
    return n


def mark_all_read(*, actor) -> int:
    """Mark every unread notification of the actor read; returns how many."""
    return notifications_of(actor).filter(read_at__isnull=True).update(read_at=timezone.now())


def set_email_kinds(*, actor, kinds: Iterable[str]) -> list[str]:
    """Choose which kinds of notification the actor also gets by e-mail (all others: in the app only)."""
    chosen = list(dict.fromkeys(str(k) for k in kinds))
    errors = [DomainError(ErrorCode.INVALID, _("Unknown kind of notification: %(kind)s") % {"kind": k}, "email_kinds")
              for k in chosen if k not in kinds_mod.KINDS]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        EmailPreference.objects.filter(user_id=actor.pk).exclude(kind__in=chosen).delete()
        have = set(EmailPreference.objects.filter(user_id=actor.pk).values_list("kind", flat=True))
        EmailPreference.objects.bulk_create([EmailPreference(user_id=actor.pk, kind=k) for k in chosen if k not in have])
    return [k for k in kinds_mod.KINDS if k in chosen]


# --- E-mail ---------------------------------------------------------------------------------------------------------


def site_url(path: str) -> str:
    """An absolute link for e-mail: settings.SITE_URL (e.g. https://crm.example.com) + the path."""
    base = (getattr(settings, "SITE_URL", "") or "").rstrip("/")
    return f"{base}{path}" if base else path


def email_text(n: Notification) -> tuple[str, str]:
    """Subject and plain-text body of a notification's e-mail, in the recipient's language."""
    user = n.recipient
    with translation.override(user.language or settings.LANGUAGE_CODE):
        title, body = kinds_mod.render(n.kind, n.params, actor_name=str(n.actor) if n.actor_id else "")
        kind = kinds_mod.KINDS.get(n.kind)
        lines = [title]
        if body:
            lines += ["", body]
        if n.url:
            lines += ["", site_url(n.url)]
        lines += ["", "--", _("You get this e-mail because you asked for “%(kind)s” by e-mail. Change that here: "
                               "%(url)s") % {"kind": kind.label if kind else n.kind,
                                             "url": site_url(reverse("notifications:preferences"))}]
        return f"[Clientwise] {title}", "\n".join(lines)


def deliver_emails(notification_ids: Iterable[int]) -> dict[str, int]:
    """Send the e-mail of each notification still waiting for it (run by the e-mail task). Each row is claimed
    first (waiting → sending), so two workers never mail it twice; a recipient who has since switched the kind
    off, lost the address or left is not mailed. SMTP errors are kept on the row, not retried."""
    sent = failed = skipped = 0
    for pk in notification_ids:
        if not Notification.objects.filter(pk=pk, email=Notification.Email.PENDING).update(
                email=Notification.Email.SENDING):
            skipped += 1
            continue
        n = Notification.objects.select_related("recipient", "actor").get(pk=pk)
        user = n.recipient
        if not (user.is_active and user.email and EmailPreference.objects.filter(user_id=user.pk, kind=n.kind).exists()):
            Notification.objects.filter(pk=pk).update(email=Notification.Email.NONE)
            skipped += 1
            continue
        subject, body = email_text(n)
        message = EmailMessage(subject=subject, body=body, to=[user.email],
                               headers={"Auto-Submitted": "auto-generated"})
        try:
            message.send()
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("notification %s: e-mail to user %s failed: %s", pk, user.pk, exc)
            Notification.objects.filter(pk=pk).update(email=Notification.Email.FAILED,
                                                      email_error=f"{type(exc).__name__}: {exc}"[:500])
            failed += 1
        else:
            Notification.objects.filter(pk=pk).update(email=Notification.Email.SENT, emailed_at=timezone.now())
            sent += 1
    return {"sent": sent, "failed": failed, "skipped": skipped}
