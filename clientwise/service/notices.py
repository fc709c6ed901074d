"""What the service desk tells people (notifications.notify), called from services inside their transactions:
SLA warnings (to the assignee) and breaches (to the assignee and whoever the breach is escalated to), tickets
routed, assigned or escalated to someone, and @mentions in internal notes (only to colleagues who may open the
ticket)."""

from __future__ import annotations

from django.urls import reverse

from clientwise.notifications import kinds
from clientwise.notifications.services import Target, excerpt, mentioned_users, notify
from clientwise.service.queries import visible_tickets


def _target(ticket) -> Target:
    return Target("service.ticket", ticket.pk, reverse("service:ticket", args=[ticket.pk]))


def sla_event(ticket, kind: str, due, notified) -> None:
    """An SLAEvent of `kind` (response_warning … resolution_breach) was recorded: a warning goes to the assignee,
    a breach to the assignee and to `notified` (the escalation manager). Once per ticket and event kind."""
    breach = kind.endswith("breach")
    recipients = [ticket.assignee_id] + ([getattr(notified, "pk", None)] if breach else [])
    notify(recipients, kinds.SLA_BREACH if breach else kinds.SLA_WARNING,
           {"number": ticket.number, "subject": ticket.subject, "due": due,
            "clock": "response" if kind.startswith("response") else "resolution"},
           _target(ticket), dedupe_key=kind)


def assigned(ticket, *, actor, variant: str = "") -> None:
    """The ticket now has an assignee other than the actor: tell them ("routed" when a routing rule chose them)."""
    if not ticket.assignee_id:
        return
    notify([ticket.assignee_id], kinds.ASSIGNMENT,
           {"variant": variant, "record": "ticket", "name": ticket.number, "detail": ticket.subject},
           _target(ticket), actor=actor, dedupe_key=f"assignee:{ticket.assignee_id}:{ticket.updated_at.isoformat()}")


def escalated(ticket, *, actor, target) -> None:
    if target is None:
        return
    notify([target], kinds.ASSIGNMENT,
           {"variant": "escalated", "record": "ticket", "name": ticket.number, "detail": ticket.subject},
           _target(ticket), actor=actor, dedupe_key=f"escalated:{ticket.escalated_at.isoformat()}")


def mentions(ticket, message, *, actor) -> None:
    """Colleagues named with @username in an internal note who may see the ticket."""
    users = mentioned_users(message.body, author=actor,
                            may_see=lambda user: visible_tickets(user).filter(pk=ticket.pk).exists())
    notify(users, kinds.MENTION, {"record": "ticket", "name": ticket.number, "excerpt": excerpt(message.body)},
           _target(ticket), actor=actor, dedupe_key=f"message:{message.pk}")
