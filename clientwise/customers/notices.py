"""What the customer record tells people (notifications.notify), from services inside their transactions: a customer
given to a new owner (one notice per new owner for a hand-over of many), and @mentions in logged interactions and
notes (only to colleagues who may see the customer)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from clientwise.customers.queries import visible_customers
from clientwise.notifications import kinds
from clientwise.notifications.services import Target, excerpt, mentioned_users, notify


def _target(customer_id: int) -> Target:
    return Target("customers.customer", customer_id, reverse("customers:detail", args=[customer_id]))


def owner_changed(customer, *, actor) -> None:
    notify([customer.owner_id], kinds.ASSIGNMENT, {"record": "customer", "name": customer.name, "detail": ""},
           _target(customer.pk), actor=actor, dedupe_key=f"owner:{customer.owner_id}:{customer.updated_at.isoformat()}")


def customers_handed_over(mapping: dict[int, int], *, actor, from_user, reason: str = "") -> None:
    """A hand-over ({customer_id: new owner id}): each new owner is told once how many customers they got; the link
    goes to their customer list."""
    counts: dict[int, int] = {}
    for uid in mapping.values():
        counts[uid] = counts.get(uid, 0) + 1
    for uid, count in counts.items():
        notify([uid], kinds.ASSIGNMENT,
               {"variant": "customers", "count": count, "detail": reason, "from_user": str(from_user)},
               Target("accounts.user", from_user.pk, f"{reverse('customers:list')}?owner={uid}"), actor=actor,
               dedupe_key=f"handover:{timezone.now().isoformat()}")


def interaction_mentions(interaction, *, actor) -> None:
    """Colleagues named with @username in a logged call, visit, message or note who may see the customer."""
    text = "\n".join(t for t in (interaction.subject, interaction.body) if t)
    users = mentioned_users(text, author=actor, may_see=lambda user: visible_customers(user).filter(
        pk=interaction.customer_id).exists())
    if not users:
        return
    name = (visible_customers(actor).filter(pk=interaction.customer_id).values_list("name", flat=True).first()
            or "")
    notify(users, kinds.MENTION, {"record": "customer", "name": name, "excerpt": excerpt(text)},
           _target(interaction.customer_id), actor=actor, dedupe_key=f"interaction:{interaction.pk}")
