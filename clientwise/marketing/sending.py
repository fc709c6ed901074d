"""The sender: the service that turns a launched campaign's pending messages into sent ones, in batches, resumable.

One run (tasks.send_campaign) loops:
1. claim a batch by state — UPDATE … SET state='sending', claim=<run token> WHERE id IN (the next pending or
   due-deferred ids) AND state IN ('pending', 'deferred') — so two runs never take the same row;
2. decide each message at send time: consent (channel × purpose, customers.Consent) *now*, a valid contact
   (a bounced or invalid one is a reason of its own), the frequency cap across campaigns and the quiet hours in the
   customer's time zone (deferred until they end);
3. render the variant's text for the customer (content.render, their language) and hand the batch to the channel's
   provider with each message's idempotency key;
4. write the outcomes (sent, or not sent with the reason) and the timeline rows in one transaction per batch
   (per message for providers that are not idempotent: SMTP, call tasks).

A run killed anywhere leaves rows 'sending'. The next run first recovers them (`recover`): with an idempotent
provider they go back to 'pending' and are sent again under the same key (the provider answers with its first
result: nothing is sent twice); with a provider that is not idempotent the outcome is unknown, so they are marked
not sent (provider_error, "outcome unknown") rather than risk a duplicate.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from clientwise.analytics.dashboards import segment_label
from clientwise.analytics.measures import current_batch_id
from clientwise.analytics.models import CustomerScore
from clientwise.commerce.models import Product
from clientwise.core.audit import audit
from clientwise.core.labels import deferred
from clientwise.customers.models import Consent, ContactPoint, Customer
from clientwise.customers.services import record_events_bulk
from clientwise.marketing import content, delivery, rules
from clientwise.marketing.models import Campaign, Message, Variant

# Campaign channel → the consent channel checked and the contact kinds that reach the customer.
CONSENT_CHANNEL = {"sms": "sms", "email": "email", "wechat": "wechat", "call_list": "phone", "direct_mail": "mail"}
CONTACT_KINDS = {"sms": ("mobile",), "email": ("email",), "wechat": ("wechat",), "call_list": ("mobile", "landline"),
                 "direct_mail": ("address",)}
QUIET_CHANNELS = ("sms", "wechat")  # channels that interrupt: no message in the quiet hours
UNKNOWN_OUTCOME = "outcome unknown after an interrupted run; not resent to avoid a duplicate"


@dataclass
class RunReport:
    claimed: int = 0
    sent: int = 0
    not_sent: int = 0
    deferred: int = 0
    recovered: int = 0
    finished: bool = False
    next_run: dt.datetime | None = None


def recover(campaign: Campaign, provider: delivery.Provider | None, *, stale_before: dt.datetime) -> int:
    """Rows left 'sending' by a run that died (claimed before `stale_before`): back to pending for an idempotent
    provider; not sent with an unknown outcome otherwise."""
    stuck = Message.objects.filter(campaign=campaign, state=Message.State.SENDING, claimed_at__lt=stale_before)
    if provider is not None and provider.idempotent:
        return stuck.update(state=Message.State.PENDING, claim="")
    return stuck.update(state=Message.State.NOT_SENT, reason=Message.Reason.PROVIDER_ERROR, error=UNKNOWN_OUTCOME,
                        claim="")


def _claim(campaign: Campaign, now: dt.datetime, size: int) -> list[Message]:
    token = secrets.token_hex(8)
    due = Q(state=Message.State.PENDING) | Q(state=Message.State.DEFERRED, not_before__lte=now)
    ids = list(Message.objects.filter(due, campaign=campaign).order_by("id").values_list("pk", flat=True)[:size])
    if not ids:
        return []
    Message.objects.filter(pk__in=ids, state__in=(Message.State.PENDING, Message.State.DEFERRED)).update(
        state=Message.State.SENDING, claim=token, claimed_at=now, attempts=F("attempts") + 1)
    return list(Message.objects.filter(claim=token, state=Message.State.SENDING).order_by("id"))


def _customer_data(ids: list[int], channel: str, purpose: str):
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=ids).select_related("owner")}
    consent = set(Consent.objects.filter(customer_id__in=ids, channel=CONSENT_CHANNEL[channel], purpose=purpose,
                                         status=Consent.Status.GRANTED).values_list("customer_id", flat=True))
    contacts: dict[int, list[ContactPoint]] = defaultdict(list)
    for cp in ContactPoint.objects.filter(customer_id__in=ids, kind__in=CONTACT_KINDS[channel]).order_by(
            "-is_primary", "id"):
        contacts[cp.customer_id].append(cp)
    return customers, consent, contacts


def _sent_times(ids: list[int], since: dt.datetime) -> dict[int, list[dt.datetime]]:
    out: dict[int, list[dt.datetime]] = defaultdict(list)
    for cid, at in Message.objects.filter(customer_id__in=ids, state=Message.State.SENT, sent_at__gte=since,
                                          campaign__purpose="marketing").values_list("customer_id", "sent_at"):
        out[cid].append(at)
    return out


def _personal_values(customers: dict[int, Customer]) -> dict[int, dict[str, str]]:
    batch = current_batch_id()
    scores = {}
    if batch is not None:
        scores = {s.customer_id: s for s in CustomerScore.objects.filter(batch_id=batch, customer_id__in=list(
            customers)).only("customer_id", "value_tier", "rfm_segment", "recommendations",
                             "next_purchase_categories")}
    product_ids = {r.get("product_id") for s in scores.values() for r in (s.recommendations or [])[:1]
                   if isinstance(r, dict)}
    names = dict(Product.objects.filter(pk__in=[p for p in product_ids if p]).values_list("pk", "name"))

    out = {}
    for cid, c in customers.items():
        s = scores.get(cid)
        recs = [r for r in (s.recommendations or []) if isinstance(r, dict)] if s else []
        due = [d for d in (s.next_purchase_categories or []) if isinstance(d, dict)] if s else []
        out[cid] = {"name": c.name, "city": c.city, "member_number": c.member_number or "",
                    "owner": (c.owner.display_name or c.owner.username) if c.owner_id else "",
                    "tier": s.value_tier if s else "", "segment": segment_label(s.rfm_segment) if s else "",
                    "product": names.get(recs[0].get("product_id"), "") if recs else "",
                    "due_item": str(due[0].get("name") or "") if due else ""}
    return out


def _language(customer: Customer, campaign: Campaign) -> str:
    wanted = str((customer.custom or {}).get("language") or "").lower()
    if wanted.startswith("en"):
        return "en"
    if wanted.startswith("zh"):
        return "zh-hans"
    return campaign.language


def _text(variant: Variant, language: str, field: str) -> str:
    first, second = ("en", "zh") if language == "en" else ("zh", "en")
    return getattr(variant, f"{field}_{first}") or getattr(variant, f"{field}_{second}")


def _decide(m: Message, campaign: Campaign, now: dt.datetime, data, sent_times, quiet) -> tuple[str, str, object]:
    """(state, reason, contact point or None) for one claimed message."""
    customers, consent, contacts = data
    c = customers.get(m.customer_id)
    if c is None or c.archived_at is not None:
        return Message.State.NOT_SENT, Message.Reason.INVALID_CONTACT, None
    if m.customer_id not in consent:
        return Message.State.NOT_SENT, Message.Reason.NO_CONSENT, None
    points = contacts.get(m.customer_id, [])
    valid = [p for p in points if p.status == ContactPoint.Status.VALID]
    if not valid:
        if any(p.status == ContactPoint.Status.BOUNCED for p in points):
            return Message.State.NOT_SENT, Message.Reason.BOUNCED, None
        return Message.State.NOT_SENT, Message.Reason.INVALID_CONTACT, None
    tz = rules.zone((c.custom or {}).get("time_zone"), settings.TIME_ZONE)
    if campaign.purpose == "marketing" and rules.capped(
            sent_times.get(m.customer_id, []), now, tz, per_day=settings.MARKETING_CAP_PER_DAY,
            per_week=settings.MARKETING_CAP_PER_WEEK):
        return Message.State.NOT_SENT, Message.Reason.CAPPED, None
    if campaign.channel in QUIET_CHANNELS:
        until = rules.quiet_until(now, tz, quiet)
        if until is not None:
            return Message.State.DEFERRED, Message.Reason.QUIET_HOURS, until
    return Message.State.SENT, "", valid[0]


def _address(point: ContactPoint) -> str:
    if point.kind == "address":
        return " ".join(x for x in (point.province, point.city, point.district, point.value, point.postal_code) if x)
    return point.value_normalized or point.value


def send_batch(campaign: Campaign, provider: delivery.Provider, messages: list[Message], now: dt.datetime,
               report: RunReport) -> None:
    ids = [m.customer_id for m in messages]
    data = _customer_data(ids, campaign.channel, campaign.purpose)
    sent_times = _sent_times(ids, now - dt.timedelta(days=8))
    quiet = rules.parse_quiet_hours(settings.MARKETING_QUIET_HOURS)
    variants = {v.pk: v for v in campaign.variants.all()}
    values = _personal_values(data[0])
    outgoing: list[tuple[Message, delivery.Outgoing]] = []
    finished: list[Message] = []
    for m in messages:
        state, reason, extra = _decide(m, campaign, now, data, sent_times, quiet)
        if state == Message.State.DEFERRED:
            m.state, m.reason, m.not_before, m.claim = state, reason, extra, ""
            finished.append(m)
            report.deferred += 1
            continue
        if state == Message.State.NOT_SENT:
            m.state, m.reason, m.claim = state, reason, ""
            finished.append(m)
            report.not_sent += 1
            continue
        c = data[0][m.customer_id]
        variant = variants.get(m.variant_id)
        lang = _language(c, campaign)
        m.language = lang
        m.subject = content.render(_text(variant, lang, "subject"), values[m.customer_id])[:200] if variant else ""
        m.body = content.render(_text(variant, lang, "body"), values[m.customer_id]) if variant else ""
        m.address = _address(extra)[:300]
        m.provider = provider.name
        outgoing.append((m, delivery.Outgoing(
            key=m.idempotency_key, campaign_id=campaign.pk, campaign_name=campaign.name, customer_id=m.customer_id,
            channel=campaign.channel, address=m.address, subject=m.subject, body=m.body,
            owner_id=c.owner_id or campaign.launched_by_id, customer_name=c.name)))

    def write(done: list[Message]) -> None:
        Message.objects.bulk_update(done, ["state", "reason", "not_before", "claim", "address", "language", "subject",
                                           "body", "provider", "provider_message_id", "error", "sent_at"])
        events = [{"customer_id": m.customer_id, "kind": "campaign", "direction": "out", "occurred_at": m.sent_at,
                   "subject": deferred(gettext_noop("Campaign message: %(name)s"), name=campaign.name),
                   "body": m.body[:2000], "ref_type": "marketing.message", "ref_id": m.pk,
                   "payload": {"campaign_id": campaign.pk, "channel": campaign.channel, "variant_id": m.variant_id}}
                  for m in done if m.state == Message.State.SENT]
        if events:
            record_events_bulk(events=events)

    def outcome(m: Message, result: delivery.Result) -> None:
        if result.ok:
            m.state, m.reason, m.sent_at, m.provider_message_id = Message.State.SENT, "", timezone.now(), \
                result.provider_id[:100]
            report.sent += 1
        else:
            m.state, m.error = Message.State.NOT_SENT, result.error[:300]
            m.reason = Message.Reason.INVALID_CONTACT if result.permanent else Message.Reason.PROVIDER_ERROR
            report.not_sent += 1
        m.claim = ""

    if provider.idempotent:
        results = provider.send([o for _m, o in outgoing]) if outgoing else []
        for (m, _o), result in zip(outgoing, results, strict=True):
            outcome(m, result)
        with transaction.atomic():
            write(finished + [m for m, _o in outgoing])
    else:
        with transaction.atomic():
            write(finished)
        for m, o in outgoing:  # one commit per message: a killed run leaves at most one unknown outcome
            outcome(m, provider.send([o])[0])
            with transaction.atomic():
                write([m])


def run(campaign_id: int, *, batch_size: int | None = None, stale_after: float = 300.0,
        max_batches: int | None = None, now: dt.datetime | None = None) -> RunReport:
    """Send what is due of one campaign; returns what it did. `max_batches` stops early (tests kill a run that
    way); `stale_after` is how old a claim must be to count as left by a dead run."""
    report = RunReport()
    campaign = Campaign.objects.select_related("audience").get(pk=campaign_id)
    if campaign.status not in (Campaign.Status.LAUNCHED, Campaign.Status.SENDING):
        report.finished = True
        return report
    now = now or timezone.now()
    if campaign.scheduled_at and campaign.scheduled_at > now:
        report.next_run = campaign.scheduled_at
        return report
    provider = delivery.provider_for(campaign.channel)
    report.recovered = recover(campaign, provider, stale_before=now - dt.timedelta(seconds=stale_after))
    if provider is None:
        stopped = Message.objects.filter(campaign=campaign, state__in=(Message.State.PENDING,
                                                                       Message.State.DEFERRED)).update(
            state=Message.State.NOT_SENT, reason=Message.Reason.PROVIDER_ERROR, error="provider not configured")
        report.not_sent += stopped
    elif campaign.status == Campaign.Status.LAUNCHED:
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    size = batch_size or settings.MARKETING_SEND_BATCH
    batches = 0
    while provider is not None and (max_batches is None or batches < max_batches):
        claimed = _claim(campaign, now, size)
        if not claimed:
            break
        report.claimed += len(claimed)
        send_batch(campaign, provider, claimed, now, report)
        batches += 1
        now = timezone.now() if now <= timezone.now() else now
    left = Message.objects.filter(campaign=campaign, state__in=(Message.State.PENDING, Message.State.SENDING))
    if max_batches is not None and left.exists():
        return report
    nxt = Message.objects.filter(campaign=campaign, state=Message.State.DEFERRED).order_by("not_before").values_list(
        "not_before", flat=True).first()
    if nxt is not None:
        report.next_run = nxt
        return report
    if not left.exists():
        with transaction.atomic():
            changed = Campaign.objects.filter(pk=campaign.pk, status__in=(
                Campaign.Status.LAUNCHED, Campaign.Status.SENDING)).update(status=Campaign.Status.SENT,
                                                                        finished_at=timezone.now())
            if changed:
                audit(actor=None, action="campaign.sent", obj=campaign, detail={
                    "sent": Message.objects.filter(campaign=campaign, state=Message.State.SENT).count()})
        report.finished = True
    return report
