"""Sales: leads (those converted into the customer, and unconverted ones with the same mobile or email),
opportunities, activities, notes, the key-account plan and the person's place in key accounts' org charts.

Erasure keeps the sales facts (stages, amounts, dates, outcomes) and blanks the texts that name or describe the
person: lead contact details and message, opportunity names and next steps, activity subjects and notes; notes
are deleted (they are nothing but text)."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clientwise.core import labels
from clientwise.privacy.sections.base import PLACEHOLDER, Col, table
from clientwise.sales.models import (
    AccountContact,
    AccountGoal,
    Activity,
    KeyAccount,
    Lead,
    Note,
    Opportunity,
    RelationshipChange,
)

PII_KEYS = {"name", "company", "mobile", "email", "province", "city", "message", "possible_duplicates",
            "disqualified_reason", "next_step", "lost_note", "subject", "notes", "body", "plan_note", "note", "title"}


def _leads(subject):
    phones = {p for p in subject.phones if p}
    emails = {e.strip().lower() for e in subject.emails if e}
    q = Q(customer_id__in=subject.customer_ids)
    if phones:
        q |= Q(mobile__in=phones)
    if emails:
        q |= Q(email__in=emails)
    return Lead.objects.filter(q)


def _records(subject):
    lead_ids = list(_leads(subject).values_list("pk", flat=True))
    opp_ids = list(Opportunity.objects.filter(Q(customer_id__in=subject.customer_ids) | Q(lead_id__in=lead_ids))
                   .values_list("pk", flat=True))
    owned = Q(customer_id__in=subject.customer_ids) | Q(lead_id__in=lead_ids) | Q(opportunity_id__in=opp_ids)
    return lead_ids, opp_ids, owned


def export(subject) -> list[dict]:
    lead_ids, opp_ids, owned = _records(subject)
    leads = table("leads", _("Leads"), Lead.objects.filter(pk__in=lead_ids).order_by("created_at", "id"), [
        "created_at", "name", "company", "mobile", "email", "province", "city", "product_line", "estimated_amount",
        "message", "channel", "status", "converted_at", "disqualified_reason",
    ], model=Lead)
    opportunities = table("opportunities", _("Opportunities"), Opportunity.objects.filter(pk__in=opp_ids)
                          .select_related("stage").order_by("created_at", "id"), [
        "created_at", "name", Col("stage", _("stage"), lambda o: o.stage.name,
                                   lambda o: labels.label("sales.stage", o.stage.name)), "status", "amount", "currency",
        "expected_close", "next_step", "lost_reason", "lost_note", "closed_at",
    ], model=Opportunity)
    activities = table("activities", _("Calls, meetings and tasks"), Activity.objects.filter(owned)
                       .order_by("created_at", "id"), [
        "created_at", "kind", "subject", "notes", "due_at", "done_at", "outcome",
    ], model=Activity)
    notes = table("notes", _("Notes"), Note.objects.filter(owned).order_by("created_at", "id"),
                  ["created_at", "body"], model=Note)
    accounts = list(KeyAccount.objects.filter(customer_id__in=subject.customer_ids))
    account = table("key_account", _("Key account"), accounts, ["relationship_stage", "stage_since"],
                    model=KeyAccount)
    goals = table("account_goals", _("Key-account goals"), AccountGoal.objects.filter(account__in=accounts)
                  .order_by("due", "id"), ["title", "target", "due", "status", "plan_note"], model=AccountGoal)
    roles = table("account_roles", _("Roles in key accounts"), AccountContact.objects.filter(
        contact_id__in=subject.customer_ids).select_related("account__customer").order_by("id"), [
        ("account", _("account"), lambda a: a.account.customer.name), "name", "title", "role", "influence",
    ], model=AccountContact)
    return [leads, opportunities, activities, notes, account, goals, roles]


def erase(erasure) -> None:
    ids = set(erasure.subject.customer_ids)
    lead_ids, opp_ids, owned = _records(erasure.subject)
    erasure.count("sales.leads", Lead.objects.filter(pk__in=lead_ids).update(
        name=PLACEHOLDER, company="", mobile="", email="", province="", city="", message="", possible_duplicates=[],
        disqualified_reason="", external_id=None))
    erasure.touch("sales.lead", lead_ids)
    # Other leads that were flagged as looking like this customer keep the flag without the name.
    flagged = []
    for lead in Lead.objects.exclude(pk__in=lead_ids).exclude(possible_duplicates=[]).only(
            "pk", "possible_duplicates").iterator(chunk_size=2000):
        kept = [d for d in lead.possible_duplicates or [] if not (isinstance(d, dict) and d.get("customer_id") in ids)]
        if len(kept) != len(lead.possible_duplicates or []):
            lead.possible_duplicates = kept
            flagged.append(lead)
    Lead.objects.bulk_update(flagged, ["possible_duplicates"])
    erasure.count("sales.duplicate_flags_removed", len(flagged))

    erasure.count("sales.opportunities", Opportunity.objects.filter(pk__in=opp_ids).update(
        name=PLACEHOLDER, next_step="", lost_note=""))
    erasure.touch("sales.opportunity", opp_ids)
    activities = Activity.objects.filter(owned)
    erasure.touch("sales.activity", activities.values_list("pk", flat=True))
    erasure.count("sales.activities", activities.update(subject=PLACEHOLDER, notes=""))
    notes = Note.objects.filter(owned)
    erasure.touch("sales.note", notes.values_list("pk", flat=True))
    erasure.count("sales.notes_deleted", notes.delete()[1].get("sales.Note", 0))

    accounts = KeyAccount.objects.filter(customer_id__in=ids)
    erasure.count("sales.account_goal_plans", AccountGoal.objects.filter(account__in=accounts).exclude(
        plan_note="").update(plan_note=""))
    erasure.count("sales.relationship_notes", RelationshipChange.objects.filter(account__in=accounts).exclude(
        note="").update(note=""))
    erasure.count("sales.account_roles", AccountContact.objects.filter(contact_id__in=ids).update(
        name=PLACEHOLDER, title=""))
    erasure.pii_keys.update(PII_KEYS)
