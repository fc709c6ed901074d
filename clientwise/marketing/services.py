"""Marketing services: the only writers of audiences, campaigns, members and messages.

Each takes the acting user as `actor`, checks the right (marketing.perms), validates collecting every error
(ValidationFailed), writes in one transaction with an audit row, and queues background work with on_commit.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hmac
import io
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from clientwise.analytics import dashboards as analytics_dashboards
from clientwise.analytics.schemas import ScoreListParams
from clientwise.core import permissions as perms
from clientwise.core.audit import audit, jsonable, snapshot
from clientwise.core.bulk import inserter
from clientwise.core.errors import DomainError, ErrorCode, ValidationFailed
from clientwise.core.labels import deferred, ref
from clientwise.core.normalize import normalize_phone
from clientwise.customers import queries as customer_queries
from clientwise.customers.events import record_event
from clientwise.customers.filters import CustomerListParams
from clientwise.customers.models import Consent, ContactPoint
from clientwise.dataio import exports
from clientwise.marketing import content, notices, queries, rules, stats, tasks
from clientwise.marketing.delivery import sign
from clientwise.marketing.errors import MarketingErrorCode
from clientwise.marketing.models import (
    Audience,
    AudienceMember,
    Campaign,
    CampaignMember,
    Message,
    ProviderEvent,
    Variant,
)
from clientwise.marketing.perms import APPROVE_CAMPAIGNS, CHANGE_MARKETING
from clientwise.marketing.sending import CONSENT_CHANNEL, CONTACT_KINDS

CHUNK = 5000
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_ROWS = 1_000_000


def _err(code, message, field=None) -> DomainError:
    return DomainError(code, message, field)


def _name(value, errors: list, *, field: str = "name") -> str:
    name = (value or "").strip() if isinstance(value, str) else ""
    if not name:
        errors.append(_err(ErrorCode.REQUIRED, _("Give it a name."), field))
    elif len(name) > 100:
        errors.append(_err(ErrorCode.INVALID, _("At most 100 characters."), field))
    return name


def _description(value, errors: list) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if len(text) > 2000:
        errors.append(_err(ErrorCode.INVALID, _("At most 2,000 characters."), "description"))
    return text


def _checked_rule(actor, data) -> rules.AudienceRule:
    """The rule parsed and compiled once for `actor` (an unknown dimension, a dimension that does not group
    customers or a score bound without analytics.view is refused now, not at launch)."""
    rule = rules.parse_rule(data)
    if rule.is_empty():
        raise ValidationFailed([_err(MarketingErrorCode.INVALID_RULE,
                                     _("Add at least one condition: an audience of everyone is not a choice."),
                                     "rule")])
    queries.audience_query(actor, rule=rule)
    return rule


def check_rule(*, actor, rule) -> rules.AudienceRule:
    """The rule parsed and checked for `actor` without saving (the preview)."""
    return _checked_rule(actor, rule)


# ----- audiences -----------------------------------------------------------------------------------------------


def create_audience(*, actor, name: str, rule: dict, description: str = "") -> Audience:
    """A dynamic audience: a rule evaluated whenever it is counted or a campaign freezes it."""
    perms.require(actor, CHANGE_MARKETING)
    errors: list = []
    name = _name(name, errors)
    description = _description(description, errors)
    if errors:
        raise ValidationFailed(errors)
    parsed = _checked_rule(actor, rule)
    with transaction.atomic():
        audience = Audience.objects.create(name=name, description=description, kind=Audience.Kind.DYNAMIC,
                                           origin=Audience.Origin.RULE, rule=parsed.model_dump(mode="json"),
                                           created_by=actor)
        audit(actor=actor, action="audience.create", obj=audience, after=snapshot(audience))
    return audience


def update_audience(*, actor, audience_id, data: dict) -> Audience:
    """Change an audience's name, description or (dynamic audiences) rule. Campaigns already launched keep the
    members they froze."""
    perms.require(actor, CHANGE_MARKETING)
    errors: list = []
    changes = {}
    if "name" in data:
        changes["name"] = _name(data["name"], errors)
    if "description" in data:
        changes["description"] = _description(data["description"], errors)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        audience = queries.get_audience_for(actor, audience_id)
        if "rule" in data:
            if audience.kind != Audience.Kind.DYNAMIC:
                raise ValidationFailed([_err(MarketingErrorCode.INVALID_RULE,
                                             _("A fixed list has no rule to change."), "rule")])
            changes["rule"] = _checked_rule(actor, data["rule"]).model_dump(mode="json")
        before = snapshot(audience)
        for key, value in changes.items():
            setattr(audience, key, value)
        audience.save()
        audit(actor=actor, action="audience.update", obj=audience, before=before, after=snapshot(audience))
    return audience


def archive_audience(*, actor, audience_id) -> Audience:
    perms.require(actor, CHANGE_MARKETING)
    with transaction.atomic():
        audience = queries.get_audience_for(actor, audience_id)
        if audience.archived_at is None:
            audience.archived_at = timezone.now()
            audience.save(update_fields=["archived_at", "updated_at"])
            audit(actor=actor, action="audience.archive", obj=audience)
    return audience


def _save_static(*, actor, name: str, description: str, origin: str, source: dict,
                 customer_ids: Iterable[int]) -> Audience:
    """A fixed list of the given customers that `actor` may see (others are dropped: a list never holds a
    customer its maker could not see). Members are written in bulk."""
    errors: list = []
    name = _name(name, errors)
    description = _description(description, errors)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        audience = Audience.objects.create(name=name, description=description, kind=Audience.Kind.STATIC,
                                           origin=origin, rule=source, created_by=actor)
        scope = customer_queries.visible_customers(actor).filter(archived_at__isnull=True)
        ins = inserter(AudienceMember, ("audience_id", "customer_id"))
        count = 0
        batch: list[int] = []

        def flush():
            nonlocal count
            visible = scope.filter(pk__in=batch).values_list("pk", flat=True)
            rows = [(audience.pk, pk) for pk in sorted(set(visible))]
            ins.insert(rows)
            count += len(rows)
            batch.clear()

        seen: set[int] = set()
        for pk in customer_ids:
            if pk in seen:
                continue
            seen.add(pk)
            batch.append(pk)
            if len(batch) >= CHUNK:
                flush()
        if batch:
            flush()
        audience.member_count = count
        audience.save(update_fields=["member_count"])
        audit(actor=actor, action="audience.create", obj=audience,
              after={**snapshot(audience), "members": count})
    return audience


def audience_from_customer_list(*, actor, name: str, params: CustomerListParams, description: str = "") -> Audience:
    """Save the customer list's current filter (search, status, city, owner, tag, kind) as a fixed list: the
    customers it shows `actor` now."""
    perms.require(actor, CHANGE_MARKETING)
    qs = customer_queries.filter_customers(customer_queries.visible_customers(actor), params.to_filters())
    ids = qs.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=CHUNK)
    return _save_static(actor=actor, name=name, description=description, origin=Audience.Origin.CUSTOMER_LIST,
                        source={"customer_list": params.filter_dict()}, customer_ids=ids)


def audience_from_scores(*, actor, name: str, params: ScoreListParams, description: str = "") -> Audience:
    """Save a score list's selection — an RFM cell (r, f), a segment, a tier, the churn list above a probability —
    as a fixed list: every scored customer of the current batch that `actor` may see and the filters keep."""
    perms.require(actor, CHANGE_MARKETING)
    perms.require(actor, perms.VIEW_ANALYTICS)
    qs = analytics_dashboards.filter_scores(analytics_dashboards.scores(actor), params.to_filters())
    ids = qs.order_by("customer_id").values_list("customer_id", flat=True).iterator(chunk_size=CHUNK)
    source = params.model_dump(exclude={"cursor", "size"}, exclude_none=True)
    return _save_static(actor=actor, name=name, description=description, origin=Audience.Origin.SCORES,
                        source={"scores": source}, customer_ids=ids)


@dataclass
class UploadResult:
    audience: Audience
    rows: int = 0
    matched: int = 0
    unmatched: list[str] = field(default_factory=list)  # the first values that found nobody (at most 20)
    unmatched_count: int = 0


_DIGITS = re.compile(r"\+?[\d\s\-()]{7,20}")


def _read_values(data: bytes) -> list[str]:
    """The first column of a CSV (UTF-8, UTF-8 with BOM or GB18030), header line skipped when it is not an id."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed([_err(ErrorCode.INVALID, _("The file is neither UTF-8 nor GB18030 text."), "file")])
    values = []
    for i, row in enumerate(csv.reader(io.StringIO(text))):
        if i >= MAX_UPLOAD_ROWS:
            raise ValidationFailed([_err(ErrorCode.INVALID, _("At most 1,000,000 rows."), "file")])
        cell = (row[0] if row else "").strip()
        if cell:
            values.append(cell)
    if values and not any(ch.isdigit() for ch in values[0]):
        values = values[1:]  # a header ("customer", "手机号")
    return values


def audience_from_upload(*, actor, name: str, upload, description: str = "") -> UploadResult:
    """A fixed list from an uploaded CSV whose first column names customers by Clientwise id, external id (any
    source), member number or phone number (mobile or landline, any common way of writing it). Values that find
    no customer `actor` may see are counted and the first of them returned."""
    perms.require(actor, CHANGE_MARKETING)
    if upload is None:
        raise ValidationFailed([_err(ErrorCode.REQUIRED, _("Choose a file."), "file")])
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError(MarketingErrorCode.LIST_TOO_LARGE, _("The file is larger than 20 MB."), "file")
    values = _read_values(data)
    if not values:
        raise ValidationFailed([_err(ErrorCode.REQUIRED, _("The file lists no customers."), "file")])
    visible = customer_queries.visible_customers(actor).filter(archived_at__isnull=True)
    found: dict[str, int] = {}
    ids, phones, keys = [], {}, []
    for v in values:
        if v.isdigit() and len(v) <= 12:
            ids.append(int(v))
        if _DIGITS.fullmatch(v):
            with contextlib.suppress(DomainError):  # not a phone number: maybe an id or external id
                phones[normalize_phone(v)] = v
        keys.append(v)
    for i in range(0, len(ids), CHUNK):
        for pk in visible.filter(pk__in=ids[i:i + CHUNK]).values_list("pk", flat=True):
            found.setdefault(str(pk), pk)
    phone_list = list(phones)
    for i in range(0, len(phone_list), CHUNK):
        part = phone_list[i:i + CHUNK]
        rows = ContactPoint.objects.filter(value_normalized__in=part, kind__in=("mobile", "landline"),
                                           customer__in=visible).values_list("value_normalized", "customer_id")
        for value, pk in rows:
            found.setdefault(phones[value], pk)
    for i in range(0, len(keys), CHUNK):
        part = [k for k in keys[i:i + CHUNK] if k not in found]
        for ext, pk in visible.filter(external_id__in=part).values_list("external_id", "pk"):
            found.setdefault(ext, pk)
        for member, pk in visible.filter(member_number__in=part).values_list("member_number", "pk"):
            found.setdefault(member, pk)
    unmatched = [v for v in values if v not in found]
    audience = _save_static(actor=actor, name=name, description=description, origin=Audience.Origin.UPLOAD,
                            source={"file": getattr(upload, "name", "")[:200], "rows": len(values)},
                            customer_ids=(found[v] for v in values if v in found))
    return UploadResult(audience=audience, rows=len(values), matched=audience.member_count,
                        unmatched=unmatched[:20], unmatched_count=len(unmatched))


def export_audience(*, actor, audience_id, fmt: str, headers: exports.Headers = "codes") -> exports.ExportFile:
    """The audience's customers that `actor` may see, as the customer export writes them (same columns, PII masked
    without view_pii, CSV cells safe for spreadsheets). Needs marketing.view and data.export; one audit row
    `export.audience` with {audience, format, count, masked}."""
    queries.require_view(actor)
    perms.require(actor, perms.EXPORT)
    if fmt not in exports.FORMATS:
        raise DomainError(ErrorCode.INVALID, _("Choose CSV, XLSX or Parquet."), "format")
    audience = queries.get_audience_for(actor, audience_id)
    pii = perms.can_view_pii(actor)
    qs = queries.audience_customers(actor, audience).order_by("pk")

    def record(count: int) -> None:
        audit(actor=actor, action="export.audience", obj=audience,
              detail={"audience": audience.pk, "format": fmt, "count": count, "masked": not pii})

    # dataio's one export writer (formats, labelled headers, the audit row before the first CSV byte); private by
    # name only: marketing is its second caller.
    return exports._build(fmt=fmt, stem=f"audience-{audience.pk}", title=audience.name[:31],
                                columns=exports.CUSTOMER_COLUMNS,
                                rows=exports.customer_rows(qs, pii=pii, exact=fmt != "xlsx"),
                                count_first=qs.count, record=record, masked=not pii, headers=headers)


# ----- campaigns -----------------------------------------------------------------------------------------------

VARIANT_KEYS = ("A", "B", "C", "D")


def _clean_variants(raw, errors: list) -> list[dict]:
    """Variants as dicts (key, weight, subject_zh/en, body_zh/en); one variant A when none is given. Weights are
    shares of the treated customers in percent and add up to 100; each text must render (content.check)."""
    if not raw:
        raw = [{"key": "A", "weight": 100}]
    if not isinstance(raw, list) or len(raw) > len(VARIANT_KEYS):
        errors.append(_err(ErrorCode.INVALID, _("Up to four variants (A–D)."), "variants"))
        return []
    out = []
    for i, v in enumerate(raw):
        if not isinstance(v, dict):
            errors.append(_err(ErrorCode.INVALID, _("A variant is an object."), f"variants.{i}"))
            continue
        key = str(v.get("key") or VARIANT_KEYS[i]).strip().upper()
        try:
            weight = int(v.get("weight", 100 if len(raw) == 1 else 0))
        except (TypeError, ValueError):
            weight = -1
        if key not in VARIANT_KEYS:
            errors.append(_err(ErrorCode.INVALID, _("Variants are called A, B, C or D."), f"variants.{i}.key"))
        if not 0 < weight <= 100:
            errors.append(_err(ErrorCode.INVALID, _("A variant's share is between 1 and 100 %."),
                               f"variants.{i}.weight"))
        item = {"key": key, "weight": weight}
        for name, limit in (("subject_zh", 200), ("subject_en", 200), ("body_zh", 5000), ("body_en", 5000)):
            text = v.get(name) or ""
            if not isinstance(text, str) or len(text) > limit:
                errors.append(_err(ErrorCode.INVALID, _("At most %(n)s characters.") % {"n": limit},
                                   f"variants.{i}.{name}"))
                text = ""
            try:
                content.check(text, f"variants.{i}.{name}")
            except DomainError as exc:
                errors.append(exc)
            item[name] = text
        if not (item["body_zh"] or item["body_en"]):
            errors.append(_err(ErrorCode.REQUIRED, _("Write the message in Chinese or English."),
                               f"variants.{i}.body_zh"))
        out.append(item)
    if len({v["key"] for v in out}) != len(out):
        errors.append(_err(ErrorCode.INVALID, _("Each variant has its own letter."), "variants"))
    if out and sum(v["weight"] for v in out) != 100:
        errors.append(_err(ErrorCode.INVALID, _("The variants' shares add up to 100 %."), "variants"))
    return out


def _clean_campaign(actor, data: dict, errors: list, *, partial: bool, instance: Campaign | None = None) -> dict:
    out: dict = {}
    if not partial or "name" in data:
        out["name"] = _name(data.get("name"), errors)
    if "description" in data:
        out["description"] = _description(data.get("description"), errors)
    if not partial or "audience_id" in data:
        try:
            audience = queries.get_audience_for(actor, data.get("audience_id"))
            if audience.archived_at is not None:
                errors.append(_err(ErrorCode.INVALID, _("This audience is archived."), "audience_id"))
            out["audience"] = audience
        except DomainError:
            errors.append(_err(ErrorCode.UNKNOWN_REFERENCE, _("Choose an audience."), "audience_id"))
    if not partial or "channel" in data:
        if data.get("channel") not in Campaign.Channel.values:
            errors.append(_err(ErrorCode.INVALID, _("Choose a channel."), "channel"))
        else:
            out["channel"] = data["channel"]
    if "purpose" in data:
        if data["purpose"] not in ("marketing", "service", "surveys"):
            errors.append(_err(ErrorCode.INVALID, _("Unknown consent purpose."), "purpose"))
        else:
            out["purpose"] = data["purpose"]
    if "language" in data:
        if data["language"] not in ("zh-hans", "en"):
            errors.append(_err(ErrorCode.INVALID, _("Chinese (zh-hans) or English (en)."), "language"))
        else:
            out["language"] = data["language"]
    if "control_share" in data:
        try:
            share = float(data["control_share"])
        except (TypeError, ValueError):
            share = -1.0
        if not 0 <= share <= 0.5:
            errors.append(_err(ErrorCode.INVALID, _("The control group is 0 to 50 % of the audience."),
                               "control_share"))
        else:
            out["control_share"] = share
    if "stratify_by" in data:
        if (data["stratify_by"] or "") not in Campaign.Strata.values:
            errors.append(_err(ErrorCode.INVALID, _("Stratify by value tier or RFM segment, or not at all."),
                               "stratify_by"))
        else:
            out["stratify_by"] = data["stratify_by"] or ""
    if "scheduled_at" in data:
        value = data["scheduled_at"]
        if value in (None, ""):
            out["scheduled_at"] = None
        else:
            try:
                moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
                if timezone.is_naive(moment):
                    moment = timezone.make_aware(moment)
                out["scheduled_at"] = moment
            except ValueError:
                errors.append(_err(ErrorCode.INVALID_DATE, _("Not a date and time."), "scheduled_at"))
    if not partial or "variants" in data:
        out["variants"] = _clean_variants(data.get("variants"), errors)
    return out


def _write_variants(campaign: Campaign, variants: list[dict]) -> None:
    campaign.variants.all().delete()
    Variant.objects.bulk_create([Variant(campaign=campaign, **v) for v in variants])


def create_campaign(*, actor, data: dict) -> Campaign:
    """A draft campaign: name, audience, channel, content variants (A/B; one variant A by default), control group
    share (default 10 %), optional stratification and send time."""
    perms.require(actor, CHANGE_MARKETING)
    errors: list = []
    clean = _clean_campaign(actor, data, errors, partial=False)
    if errors:
        raise ValidationFailed(errors)
    variants = clean.pop("variants")
    with transaction.atomic():
        campaign = Campaign.objects.create(created_by=actor, **clean)
        _write_variants(campaign, variants)
        audit(actor=actor, action="campaign.create", obj=campaign,
              after={**snapshot(campaign, ["name", "audience_id", "channel", "control_share", "stratify_by"]),
                     "variants": variants})
    return campaign


def update_campaign(*, actor, campaign_id, data: dict) -> Campaign:
    """Change a campaign before launch. A change to an approved or submitted campaign sends it back to draft: the
    approval was for what the manager saw."""
    perms.require(actor, CHANGE_MARKETING)
    errors: list = []
    with transaction.atomic():
        campaign = queries.get_campaign_for(actor, campaign_id, for_update=True)
        if not campaign.editable:
            raise DomainError(MarketingErrorCode.CAMPAIGN_NOT_EDITABLE, _("A launched campaign cannot change."))
        clean = _clean_campaign(actor, data, errors, partial=True, instance=campaign)
        if errors:
            raise ValidationFailed(errors)
        before = snapshot(campaign)
        variants = clean.pop("variants", None)
        for key, value in clean.items():
            setattr(campaign, key, value)
        if campaign.status != Campaign.Status.DRAFT:
            campaign.status = Campaign.Status.DRAFT
            campaign.approved_by, campaign.approved_at = None, None
        campaign.save()
        if variants is not None:
            _write_variants(campaign, variants)
        audit(actor=actor, action="campaign.update", obj=campaign, before=before, after=snapshot(campaign))
    return campaign


def needs_approval(size: int) -> bool:
    return size > int(getattr(settings, "MARKETING_APPROVAL_SIZE", 5000))


def submit_campaign(*, actor, campaign_id) -> Campaign:
    """Ask a manager to approve: the audience is counted now (in the submitter's scope) and shown to the approver."""
    perms.require(actor, CHANGE_MARKETING)
    with transaction.atomic():
        campaign = queries.get_campaign_for(actor, campaign_id, for_update=True)
        if campaign.status != Campaign.Status.DRAFT:
            raise DomainError(MarketingErrorCode.CAMPAIGN_STATE, _("Only a draft can be submitted."))
        campaign.estimated_size = queries.audience_count(actor, audience=campaign.audience)
        campaign.status = Campaign.Status.PENDING_APPROVAL
        campaign.submitted_at = timezone.now()
        campaign.save()
        audit(actor=actor, action="campaign.submit", obj=campaign, after={"estimated_size": campaign.estimated_size})
        notify_approvers(campaign, actor)
    return campaign


def notify_approvers(campaign: Campaign, actor) -> None:
    """Tell the managers and administrators that a campaign waits for their approval."""
    users = get_user_model().objects.filter(is_active=True).filter(Q(role="manager") | Q(is_superuser=True))
    notices.approval_requested(campaign, actor=actor, approvers=list(users.exclude(pk=getattr(actor, "pk", None))))


def approve_campaign(*, actor, campaign_id, note: str = "") -> Campaign:
    perms.require(actor, APPROVE_CAMPAIGNS)
    with transaction.atomic():
        campaign = queries.get_campaign_for(actor, campaign_id, for_update=True)
        if campaign.status != Campaign.Status.PENDING_APPROVAL:
            raise DomainError(MarketingErrorCode.CAMPAIGN_STATE, _("Only a submitted campaign can be approved."))
        campaign.status = Campaign.Status.APPROVED
        campaign.approved_by, campaign.approved_at = actor, timezone.now()
        campaign.approval_note = (note or "")[:300]
        campaign.save()
        audit(actor=actor, action="campaign.approve", obj=campaign, detail={"note": campaign.approval_note})
    return campaign


def reject_campaign(*, actor, campaign_id, note: str = "") -> Campaign:
    perms.require(actor, APPROVE_CAMPAIGNS)
    with transaction.atomic():
        campaign = queries.get_campaign_for(actor, campaign_id, for_update=True)
        if campaign.status != Campaign.Status.PENDING_APPROVAL:
            raise DomainError(MarketingErrorCode.CAMPAIGN_STATE, _("Only a submitted campaign can be sent back."))
        campaign.status = Campaign.Status.DRAFT
        campaign.approval_note = (note or "")[:300]
        campaign.save()
        audit(actor=actor, action="campaign.reject", obj=campaign, detail={"note": campaign.approval_note})
    return campaign


def _assign(ids: np.ndarray, strata, campaign: Campaign, variants: list[Variant]) -> tuple[np.ndarray, np.ndarray]:
    """(is_control, variant index) per customer: the control group by stats.assign_holdout with the campaign's
    salt (stratified when asked), then the treated split into variants one after another by their shares, each
    split an assign_holdout of its own salt — sticky and reproducible like the holdout."""
    control = stats.assign_holdout(ids, campaign.holdout_salt, campaign.control_share, strata=strata) \
        if campaign.control_share > 0 else np.zeros(len(ids), dtype=bool)
    which = np.full(len(ids), -1, dtype=np.int64)
    left = ~control
    for i, share in enumerate(rules.variant_shares([v.weight for v in variants])):
        if not left.any():
            break
        idx = np.flatnonzero(left)
        take = np.ones(len(idx), dtype=bool) if share >= 1 else \
            stats.assign_holdout(ids[idx], f"{campaign.holdout_salt}:variant:{i}", share)
        which[idx[take]] = i
        left[idx[take]] = False
    return control, which


STRATUM_SQL = {"value_tier": "COALESCE(scores.value_tier, '')", "rfm_segment": "COALESCE(scores.rfm_segment, '')"}


def launch_campaign(*, actor, campaign_id) -> Campaign:
    """Freeze the audience (the customers the launcher may see, now), draw the control group, split the treated
    into variants, write one message per customer (control: not sent, reason control) and check the split for a
    sample-ratio mismatch. Sending starts at `scheduled_at` (or now) in the background.

    Refused: not a draft or approved campaign (409 campaign_state); an empty audience (400 empty_audience); larger
    than MARKETING_APPROVAL_SIZE without a manager's approval (409 approval_required)."""
    perms.require(actor, CHANGE_MARKETING)
    with transaction.atomic():
        campaign = queries.get_campaign_for(actor, campaign_id, for_update=True)
        if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.APPROVED):
            raise DomainError(MarketingErrorCode.CAMPAIGN_STATE, _("This campaign cannot be launched now."))
        columns = (STRATUM_SQL[campaign.stratify_by],) if campaign.stratify_by else ()
        rows = queries.audience_customer_ids(actor, campaign.audience, columns=columns)
        if not rows:
            raise DomainError(MarketingErrorCode.EMPTY_AUDIENCE, _("Nobody you may see is in this audience."))
        if needs_approval(len(rows)) and campaign.status != Campaign.Status.APPROVED:
            raise DomainError(MarketingErrorCode.APPROVAL_REQUIRED, _(
                "%(n)s customers: above %(limit)s a manager approves the campaign first.")
                % {"n": len(rows), "limit": settings.MARKETING_APPROVAL_SIZE})
        variants = list(campaign.variants.order_by("key"))
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        strata = [r[1] for r in rows] if columns else None
        control, which = _assign(ids, strata, campaign, variants)
        now = timezone.now()
        member_rows, message_rows = [], []
        for i, cid in enumerate(ids.tolist()):
            variant = variants[which[i]] if which[i] >= 0 else None
            is_control = bool(control[i])
            member_rows.append((campaign.pk, cid, variant.pk if variant else None, is_control,
                                strata[i] if strata else ""))
            message_rows.append((campaign.pk, cid, variant.pk if variant else None, campaign.channel,
                                 rules.idempotency_key(campaign.pk, cid, variant.pk if variant else None),
                                 Message.State.NOT_SENT if is_control else Message.State.PENDING,
                                 Message.Reason.CONTROL if is_control else ""))
        inserter(CampaignMember, ("campaign_id", "customer_id", "variant_id", "is_control", "stratum")).insert(
            member_rows)
        inserter(Message, ("campaign_id", "customer_id", "variant_id", "channel", "idempotency_key", "state",
                           "reason")).insert(message_rows, now=now)
        n_control = int(control.sum())
        campaign.member_count, campaign.control_count = len(ids), n_control
        campaign.srm_p_value = stats.srm_p_value(len(ids) - n_control, n_control, campaign.control_share) \
            if 0 < campaign.control_share < 1 else None
        campaign.status = Campaign.Status.LAUNCHED
        campaign.launched_by, campaign.launched_at = actor, now
        campaign.save()
        audit(actor=actor, action="campaign.launch", obj=campaign,
              after={"members": len(ids), "control": n_control, "srm_p_value": campaign.srm_p_value})
        transaction.on_commit(lambda: enqueue_send(campaign))
    return campaign


def enqueue_send(campaign: Campaign):
    """Queue the sender for the campaign (at its send time when that is in the future)."""
    run_after = campaign.scheduled_at if campaign.scheduled_at and campaign.scheduled_at > timezone.now() else None
    task = tasks.send_campaign.using(run_after=run_after) if run_after else tasks.send_campaign
    return task.enqueue(campaign_id=campaign.pk)


def cancel_campaign(*, actor, campaign_id) -> Campaign:
    """Stop a campaign: messages not yet sent are marked not sent (reason cancelled); sent ones stay."""
    perms.require(actor, CHANGE_MARKETING)
    with transaction.atomic():
        campaign = queries.get_campaign_for(actor, campaign_id, for_update=True)
        if campaign.status in (Campaign.Status.SENT, Campaign.Status.CANCELLED):
            raise DomainError(MarketingErrorCode.CAMPAIGN_STATE, _("This campaign is over."))
        stopped = Message.objects.filter(campaign=campaign, state__in=(
            Message.State.PENDING, Message.State.DEFERRED)).update(state=Message.State.NOT_SENT,
                                                                   reason=Message.Reason.CANCELLED)
        campaign.status = Campaign.Status.CANCELLED
        campaign.finished_at = timezone.now()
        campaign.save()
        audit(actor=actor, action="campaign.cancel", obj=campaign, detail={"stopped": stopped})
    return campaign


# ----- delivery reports (webhooks) ------------------------------------------------------------------------------

WEBHOOK_MAX_AGE = 300  # seconds a signed webhook stays valid (replays after that are refused)


def verify_webhook(*, timestamp: str, nonce: str, signature: str, path: str, body: bytes,
                   now: float | None = None) -> None:
    """Refuse (401 invalid_signature) a webhook not signed with MARKETING_WEBHOOK_SECRET the way delivery.sign
    signs, or older than five minutes."""
    secret = getattr(settings, "MARKETING_WEBHOOK_SECRET", "")
    if not secret:
        raise DomainError(MarketingErrorCode.PROVIDER_NOT_CONFIGURED, _("Webhooks are not set up (no secret)."))
    try:
        age = abs((now or time.time()) - int(timestamp))
    except (TypeError, ValueError):
        age = WEBHOOK_MAX_AGE + 1
    expected = sign(secret, "POST", path, str(timestamp), str(nonce), body)
    if age > WEBHOOK_MAX_AGE or not hmac.compare_digest(expected, str(signature or "")):
        raise DomainError(MarketingErrorCode.INVALID_SIGNATURE, _("The webhook's signature does not match."))


@dataclass
class WebhookResult:
    accepted: int = 0
    duplicates: int = 0
    unknown: int = 0


def record_provider_events(*, provider: str, events: list[dict]) -> WebhookResult:
    """Delivery receipts, bounces, failures and unsubscribes from a provider (already verified): each event once
    (unique per provider and event id). A bounce marks the contact point bounced (data quality; later sends skip
    it with reason bounced); an unsubscribe records the consent of the message's channel as withdrawn for its
    purpose, with a timeline row. Events naming no message of ours are kept and counted as unknown."""
    result = WebhookResult()
    now = timezone.now()
    with transaction.atomic():
        for ev in events:
            event_id, kind = str(ev.get("id") or "")[:100], ev.get("type")
            if not event_id or kind not in ProviderEvent.Kind.values:
                raise ValidationFailed([_err(ErrorCode.INVALID, _("Each event has an id and a known type."),
                                             "events")])
            if ProviderEvent.objects.filter(provider=provider, event_id=event_id).exists():
                result.duplicates += 1
                continue
            key, pid = str(ev.get("message_key") or ""), str(ev.get("provider_message_id") or "")
            message = None
            if key:
                message = Message.objects.filter(idempotency_key=key).select_related("campaign").first()
            if message is None and pid:
                message = Message.objects.filter(provider=provider, provider_message_id=pid).select_related(
                    "campaign").first()
            ProviderEvent.objects.create(provider=provider, event_id=event_id, kind=kind, message=message,
                                         customer_id=message.customer_id if message else None,
                                         payload=jsonable(ev))
            if message is None:
                result.unknown += 1
                continue
            result.accepted += 1
            _apply_event(message, kind, now)
        if result.accepted or result.unknown:
            audit(actor=None, action="marketing.webhook", object_type="marketing.providerevent",
                  detail={"provider": provider, "accepted": result.accepted, "unknown": result.unknown,
                          "duplicates": result.duplicates})
    return result


def _apply_event(message: Message, kind: str, now) -> None:
    if kind == ProviderEvent.Kind.DELIVERED:
        Message.objects.filter(pk=message.pk).update(delivery=Message.Delivery.DELIVERED, delivered_at=now)
    elif kind == ProviderEvent.Kind.FAILED:
        Message.objects.filter(pk=message.pk).update(delivery=Message.Delivery.FAILED)
    elif kind == ProviderEvent.Kind.BOUNCED:
        Message.objects.filter(pk=message.pk).update(delivery=Message.Delivery.BOUNCED)
        # The contact point the message went to (marketing keeps it in the message's address).
        points = ContactPoint.objects.filter(customer_id=message.customer_id, kind__in=CONTACT_KINDS[message.channel])
        for cp in points:
            if message.address in (cp.value_normalized, cp.value) and cp.status != ContactPoint.Status.BOUNCED:
                ContactPoint.objects.filter(pk=cp.pk).update(status=ContactPoint.Status.BOUNCED, updated_at=now)
                audit(actor=None, action="contact.update", obj=cp, customer_id=message.customer_id,
                      before={"status": cp.status}, after={"status": ContactPoint.Status.BOUNCED},
                      detail={"source": "bounce", "message": message.pk})
    elif kind == ProviderEvent.Kind.UNSUBSCRIBED:
        channel = CONSENT_CHANNEL[message.channel]
        purpose = message.campaign.purpose
        consent = Consent.objects.filter(customer_id=message.customer_id, channel=channel, purpose=purpose).first()
        before = consent.status if consent else None
        if consent is None:
            consent = Consent(customer_id=message.customer_id, channel=channel, purpose=purpose)
        consent.status, consent.decided_at, consent.source = Consent.Status.WITHDRAWN, now, "unsubscribe"
        consent.save()
        audit(actor=None, action="consent.set", obj=consent, customer_id=message.customer_id,
              before={"status": before}, after={"status": consent.status, "source": "unsubscribe"})
        record_event(customer_id=message.customer_id, kind="consent", occurred_at=now,
                     subject=deferred(gettext_noop("Consent %(status)s: %(channel)s / %(purpose)s"),
                                      status=ref("customers.consent.status", consent.status),
                                      channel=ref("customers.consent.channel", channel),
                                      purpose=ref("customers.consent.purpose", purpose)),
                     payload={"channel": channel, "purpose": purpose, "status": consent.status,
                              "source": "unsubscribe", "message_id": message.pk})
