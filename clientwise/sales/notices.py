"""What sales tells people (notifications.notify), called from services inside their transactions: a lead,
opportunity or task given to someone else (or routed to them by an assignment rule) and @mentions in notes (only to
colleagues who may see the note's record). Reminders and due times of tasks: sales/reminders.py."""

from __future__ import annotations

from django.urls import reverse

from clientwise.notifications import kinds
from clientwise.notifications.services import Target, excerpt, notify


def record_url(*, customer_id=None, lead_id=None, opportunity_id=None) -> str:
    """The page of what an activity or note is about: its opportunity, lead or customer (else "my day")."""
    if opportunity_id:
        return reverse("sales:opportunity", args=[opportunity_id])
    if lead_id:
        return reverse("sales:lead", args=[lead_id])
    if customer_id:
        return reverse("customers:detail", args=[customer_id])
    return reverse("sales:index")


def _stamp(obj) -> str:
    return obj.updated_at.isoformat() if getattr(obj, "updated_at", None) else ""


def lead_owner(lead, *, actor, routed: bool = False) -> None:
    """The lead's owner is told it is theirs (`routed`: an assignment rule chose them)."""
    if not lead.owner_id:
        return
    notify([lead.owner_id], kinds.ASSIGNMENT,
           {"variant": "routed" if routed else "", "record": "lead",
            "name": lead.name or lead.company, "detail": lead.company if lead.name else ""},
           Target("sales.lead", lead.pk, reverse("sales:lead", args=[lead.pk])), actor=actor,
           dedupe_key=f"owner:{lead.owner_id}:{_stamp(lead)}")


def opportunity_owner(opp, *, actor) -> None:
    notify([opp.owner_id], kinds.ASSIGNMENT, {"record": "opportunity", "name": opp.name, "detail": ""},
           Target("sales.opportunity", opp.pk, reverse("sales:opportunity", args=[opp.pk])), actor=actor,
           dedupe_key=f"owner:{opp.owner_id}:{_stamp(opp)}")


def activity_assigned(act, *, actor) -> None:
    notify([act.assignee_id], kinds.ASSIGNMENT, {"record": "task", "name": act.subject, "detail": ""},
           Target("sales.activity", act.pk, record_url(customer_id=act.customer_id, lead_id=act.lead_id,
                                                        opportunity_id=act.opportunity_id)),
           actor=actor, dedupe_key=f"assignee:{act.assignee_id}")


def note_mentions(note, users, *, actor) -> None:
    """`users`: the colleagues the note names who may see its record (notifications.services.mentioned_users)."""
    if note.opportunity_id:
        record, name = "opportunity", note.opportunity.name
    elif note.lead_id:
        record, name = "lead", note.lead.name or note.lead.company
    else:
        record, name = "customer", note.customer.name if note.customer_id else ""
    notify(users, kinds.MENTION, {"record": record, "name": name, "excerpt": excerpt(note.body)},
           Target("sales.note", note.pk, record_url(customer_id=note.customer_id, lead_id=note.lead_id,
                                                     opportunity_id=note.opportunity_id)),
           actor=actor, dedupe_key="mention")
