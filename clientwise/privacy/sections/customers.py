"""Customers' personal data: the profile, contact points, consent, tags, custom attributes and the timeline.

Erasure anonymises the customer rows (kept, so orders and tickets keep an owner) and archives them, deletes contact
points and tags, blanks every timeline row's text and payload, and records every consent as withdrawn.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.core import labels
from clientwise.customers.models import (
    Consent,
    ContactPoint,
    CustomAttribute,
    Customer,
    CustomerStats,
    CustomerTag,
    Interaction,
)
from clientwise.privacy.sections.base import Col, table

# Customer fields that hold personal data, and what an erased customer keeps in them.
ERASED_PROFILE = {
    "name_pinyin": "", "name_initials": "", "member_number": None, "gender": "", "birth_date": None,
    "occupation": "", "income_band": "", "urban_rural": "", "id_number": "", "industry": "", "province": "",
    "city": "", "mobile": "", "email": "", "custom": {}, "notes": "", "external_id": None,
}
PII_KEYS = {"name", *ERASED_PROFILE, "value", "value_normalized", "label", "district", "postal_code", "subject",
            "body", "payload", "tags", "names"}
ERASURE_SOURCE = "privacy.erasure"
WITHDRAWAL_SOURCE = "privacy.withdrawal"


def erased_name(customer_id: int) -> str:
    return f"#{customer_id}"


def _custom(attributes: dict[str, str]):
    """The custom fields' values under their labels (the keys as stored in the JSON copy)."""

    def show(customer) -> dict:
        return {attributes.get(k, k): v for k, v in (customer.custom or {}).items()}

    return show


def export(subject) -> list[dict]:
    ids = subject.customer_ids
    customers = list(Customer.objects.filter(pk__in=ids).select_related("organization", "stats").order_by("id"))
    attributes = dict(CustomAttribute.objects.values_list("key", "label"))
    profile = table("profile", _("Profile"), customers, [
        "id", "kind", "name", "member_number", "status", "gender", "birth_date", "occupation", "income_band",
        "urban_rural", "id_number", "industry", "province", "city", "mobile", "email",
        ("organization", _("organization"), lambda c: c.organization.name if c.organization else ""),
        Col("custom", show=_custom(attributes)), "notes", "customer_since", "source", "external_id",
        "source_created_at", "source_updated_at",
        ("created_at", _("Added to Clientwise"), lambda c: c.created_at), "archived_at",
        *[(name, CustomerStats._meta.get_field(name).verbose_name, lambda c, name=name: getattr(c, name))
          for name in ("order_count", "revenue", "first_order_at", "last_order_at")],
    ], model=Customer)
    contacts = table("contact_points", _("Contact points"), ContactPoint.objects.filter(customer_id__in=ids)
                     .order_by("id"), ["kind", "value", "label", "is_primary", "status", "province", "city",
                                       "district", "postal_code", "created_at"], model=ContactPoint)
    consents = table("consents", _("Consent"), Consent.objects.filter(customer_id__in=ids).order_by(
        "channel", "purpose"), ["channel", "purpose", "status", "decided_at", "source"], model=Consent)
    tags = table("tags", _("Tags"), CustomerTag.objects.filter(customer_id__in=ids).select_related("tag")
                 .order_by("tag__name"), [("tag", _("Tag"), lambda t: t.tag.name)], model=CustomerTag)
    timeline = table("interactions", _("Timeline"), Interaction.objects.filter(customer_id__in=ids)
                     .order_by("occurred_at", "id"), [
                         "occurred_at", "kind", "direction", Col("subject", show=labels.row_text), "body"],
                     model=Interaction)
    return [profile, contacts, consents, tags, timeline]


def withdraw_all(customer_ids, *, now, source: str) -> list[dict]:
    """Record every channel × purpose of these customers as withdrawn (a decision that already says withdrawn is
    left as it was). Returns the decisions changed: [{customer_id, channel, purpose, before}]."""
    changed = []
    existing = {(c.customer_id, c.channel, c.purpose): c for c in Consent.objects.filter(customer_id__in=customer_ids)}
    create, update = [], []
    for cid in customer_ids:
        for channel in Consent.Channel.values:
            for purpose in Consent.Purpose.values:
                row = existing.get((cid, channel, purpose))
                if row is None:
                    create.append(Consent(customer_id=cid, channel=channel, purpose=purpose,
                                          status=Consent.Status.WITHDRAWN, decided_at=now, source=source))
                    changed.append({"customer_id": cid, "channel": channel, "purpose": purpose, "before": None})
                elif row.status != Consent.Status.WITHDRAWN:
                    changed.append({"customer_id": cid, "channel": channel, "purpose": purpose,
                                    "before": row.status})
                    row.status, row.decided_at, row.source, row.updated_at = Consent.Status.WITHDRAWN, now, source, now
                    update.append(row)
    Consent.objects.bulk_create(create)
    Consent.objects.bulk_update(update, ["status", "decided_at", "source", "updated_at"])
    return changed


def erase(erasure) -> None:
    """Audit rows of these rows carry the customer's id, so the audit section finds them without `touch`."""
    ids = list(erasure.subject.customer_ids)
    now = erasure.now
    for cid, archived_at in Customer.objects.filter(pk__in=ids).values_list("pk", "archived_at"):
        Customer.objects.filter(pk=cid).update(name=erased_name(cid), archived_at=archived_at or now, updated_at=now,
                                               **ERASED_PROFILE)
    erasure.count("customers.customers", len(ids))

    contact_ids = list(ContactPoint.objects.filter(customer_id__in=ids).values_list("pk", flat=True))
    ContactPoint.objects.filter(pk__in=contact_ids).delete()
    erasure.count("customers.contact_points_deleted", len(contact_ids))

    erasure.count("customers.tags_removed", CustomerTag.objects.filter(customer_id__in=ids).delete()[0])

    erasure.count("customers.timeline_rows_blanked",
                  Interaction.objects.filter(customer_id__in=ids).update(subject="", body="", payload={}))

    erasure.count("customers.consents_withdrawn", len(withdraw_all(ids, now=now, source=ERASURE_SOURCE)))
    erasure.pii_keys.update(PII_KEYS)
