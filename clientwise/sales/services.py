"""Sales operations: the only code that writes sales rows. Pages, the API, the public web form, the lead import
and the demo call these.

Every service takes keyword-only arguments with the acting user, checks the permission and the record's
visibility (a record the actor may not see is NotFound), runs in one transaction, writes the audit log, and puts
a row on the customer's timeline when a customer is concerned.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext, pgettext_lazy

from clientwise.analytics.dashboards import customer_score
from clientwise.core import permissions as perms
from clientwise.core.audit import audit, diff, snapshot
from clientwise.core.errors import DomainError, ErrorCode, NotFound, PermissionDenied, ValidationFailed
from clientwise.core.labels import deferred, ref
from clientwise.core.normalize import normalize_email, normalize_phone, parse_date
from clientwise.core.ratelimit import count_hit
from clientwise.customers import queries as customer_queries
from clientwise.customers import services as customer_services
from clientwise.customers.events import record_event
from clientwise.customers.scope import TEAM, CustomerScope
from clientwise.notifications.services import mentioned_users
from clientwise.sales import notices, queries
from clientwise.sales.errors import SalesErrorCode
from clientwise.sales.models import (
    AccountContact,
    AccountGoal,
    Activity,
    AssignmentRule,
    CostToServe,
    KeyAccount,
    Lead,
    Mention,
    Note,
    Opportunity,
    OwnershipTransfer,
    Pipeline,
    ProductLine,
    Quota,
    RelationshipChange,
    ScoringRule,
    Stage,
    StageVisit,
    WalletShare,
    WebForm,
)
from clientwise.sales.perms import CHANGE_SALES, MANAGE_SALES

CENT = Decimal("0.01")
LEAD_IMPORT_MAX_ROWS = 5000
# Public web form: this many submissions per address and form per window, then 429.
FORM_RATE_LIMIT = 5
FORM_RATE_WINDOW = 600  # seconds
HONEYPOT_FIELD = "website"


# Default stages of the sales process (case study: call → meeting → inspection → signing → delivery).
DEFAULT_STAGES = (
    (pgettext_lazy("pipeline stage", "First call"), 10, Stage.Kind.OPEN),
    (pgettext_lazy("pipeline stage", "Meeting"), 20, Stage.Kind.OPEN),
    (pgettext_lazy("pipeline stage", "Demo or site inspection"), 40, Stage.Kind.OPEN),
    (pgettext_lazy("pipeline stage", "Proposal / quote"), 60, Stage.Kind.OPEN),
    (pgettext_lazy("pipeline stage", "Signed"), 90, Stage.Kind.OPEN),
    (pgettext_lazy("pipeline stage", "Delivered (won)"), 100, Stage.Kind.WON),
    (pgettext_lazy("pipeline stage", "Lost"), 0, Stage.Kind.LOST),
)
# Analytics bonus when a lead matches an existing customer with a value tier.
TIER_POINTS = {"A": 30, "B": 20, "C": 10, "D": 0}


# --- small helpers ---------------------------------------------------------------------------------------------------


def _err(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(code, message, field)


def _text(data: dict, key: str, errors: list, *, max_length: int, required: bool = False, label: str = "") -> str:
    value = data.get(key)
    value = "" if value is None else str(value).strip()
    if required and not value:
        errors.append(_err(ErrorCode.REQUIRED, _("%(label)s is required.") % {"label": label or key}, key))
    elif len(value) > max_length:
        errors.append(_err(ErrorCode.INVALID, _("At most %(n)d characters.") % {"n": max_length}, key))
    return value[:max_length]


def _amount(data: dict, key: str, errors: list, *, required: bool = False) -> Decimal | None:
    raw = data.get(key)
    if raw in (None, ""):
        if required:
            errors.append(_err(ErrorCode.REQUIRED, _("Enter an amount."), key))
        return None
    try:
        value = Decimal(str(raw).replace(",", "").replace("¥", "").strip())
    except InvalidOperation:
        errors.append(_err(ErrorCode.INVALID_AMOUNT, _("Not a valid amount."), key))
        return None
    if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
        errors.append(_err(ErrorCode.INVALID_AMOUNT, _("Enter an amount of zero or more."), key))
        return None
    return value.quantize(CENT)


def _date(data: dict, key: str, errors: list, *, required: bool = False) -> dt.date | None:
    raw = data.get(key)
    if raw in (None, ""):
        if required:
            errors.append(_err(ErrorCode.REQUIRED, _("Enter a date."), key))
        return None
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    try:
        return parse_date(raw, field=key)
    except DomainError as exc:
        errors.append(exc)
        return None


def _moment(data: dict, key: str, errors: list) -> dt.datetime | None:
    raw = data.get(key)
    if raw in (None, ""):
        return None
    if isinstance(raw, dt.datetime):
        value = raw
    else:
        text = str(raw).strip().replace(" ", "T")
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            try:
                day = parse_date(text, field=key)
            except DomainError:
                errors.append(_err(ErrorCode.INVALID_DATE, _("Not a valid date and time."), key))
                return None
            value = dt.datetime.combine(day, dt.time(9, 0))
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _choice(data: dict, key: str, choices, errors: list, *, required: bool = False, default: str = "") -> str:
    value = str(data.get(key) or "").strip()
    if not value:
        if required:
            errors.append(_err(ErrorCode.REQUIRED, _("Choose a value."), key))
        return default
    if value not in choices.values:
        errors.append(_err(ErrorCode.INVALID, _("Not one of the allowed values."), key))
        return default
    return value


def _int(value: Any, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed([_err(ErrorCode.INVALID, _("Not a valid id."), field)]) from None


def _user(user_id: Any, field: str):
    """An active user with a role, or a validation error."""
    User = get_user_model()
    user = User.objects.filter(pk=_int(user_id, field), is_active=True).exclude(role="").first()
    if user is None:
        raise ValidationFailed([_err(ErrorCode.UNKNOWN_REFERENCE, _("No such active colleague."), field)])
    return user


def _check_owner_allowed(actor, owner, field: str = "owner_id") -> None:
    """A rep may own things themselves only; a manager may give them to anyone in their team subtree."""
    if owner.pk == actor.pk:
        return
    scope = CustomerScope.for_user(actor)
    if scope.everything or (scope.kind == TEAM and perms.has_perm(actor, MANAGE_SALES) and scope.reaches_user(owner)):
        return
    # A permission problem, not a malformed field: 403 like every other refusal (field says which input).
    raise PermissionDenied(_("You may not give this to that colleague."), field)


def _product_lines(data: dict, errors: list) -> list[str]:
    raw = data.get("product_lines") or []
    if isinstance(raw, str):
        raw = [p.strip() for p in raw.split(",") if p.strip()]
    bad = [p for p in raw if p not in ProductLine.values]
    if bad:
        errors.append(_err(ErrorCode.INVALID, _("Unknown product line: %(value)s") % {"value": ", ".join(bad)},
                           "product_lines"))
    return [p for p in dict.fromkeys(raw) if p in ProductLine.values]


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


# --- Leads -----------------------------------------------------------------------------------------------------------


def _clean_lead(data: dict, *, partial: bool = False) -> dict[str, Any]:
    errors: list[DomainError] = []
    clean: dict[str, Any] = {}
    for key, n in (("name", 200), ("company", 200), ("province", 40), ("city", 60), ("message", 5000)):
        if not partial or key in data:
            clean[key] = _text(data, key, errors, max_length=n)
    if (not partial or "name" in data) and not clean.get("name") and not clean.get("company"):
        errors.append(_err(ErrorCode.REQUIRED, _("Enter a contact name or a company."), "name"))
    if not partial or "mobile" in data:
        raw = str(data.get("mobile") or "").strip()
        clean["mobile"] = ""
        if raw:
            try:
                clean["mobile"] = normalize_phone(raw, field="mobile")
            except DomainError as exc:
                errors.append(exc)
    if not partial or "email" in data:
        raw = str(data.get("email") or "").strip()
        clean["email"] = ""
        if raw:
            try:
                clean["email"] = normalize_email(raw, field="email")
            except DomainError as exc:
                errors.append(exc)
    if not partial or "product_line" in data:
        clean["product_line"] = _choice(data, "product_line", ProductLine, errors)
    if not partial or "estimated_amount" in data:
        clean["estimated_amount"] = _amount(data, "estimated_amount", errors)
    if errors:
        raise ValidationFailed(errors)
    if not clean.get("name") and "name" in clean:
        clean["name"] = clean.get("company", "")
    return clean


def score_lead(lead: Lead) -> tuple[int, list[dict]]:
    """The lead's score from the active scoring rules, plus the analytics value tier of a matching existing
    customer when scores exist. Returns (score 0..100, reasons [{rule, points}])."""
    facts = {
        "channel": lead.channel, "product_line": lead.product_line, "province": lead.province, "city": lead.city,
        "has_company": bool(lead.company), "has_email": bool(lead.email), "has_mobile": bool(lead.mobile),
    }
    total, reasons = 0, []
    for rule in ScoringRule.objects.filter(active=True):
        if rule.field == ScoringRule.Field.MIN_AMOUNT:
            try:
                hit = lead.estimated_amount is not None and lead.estimated_amount >= Decimal(rule.value or "0")
            except InvalidOperation:
                hit = False
        elif rule.field.startswith("has_"):
            hit = bool(facts[rule.field])
        else:
            hit = bool(rule.value) and str(facts.get(rule.field, "")).lower() == rule.value.lower()
        if hit:
            total += rule.points
            reasons.append({"rule": f"{rule.get_field_display()} {rule.value}".strip(), "points": rule.points})
    tier = _matching_customer_tier(lead)
    if tier:
        points = TIER_POINTS.get(tier, 0)
        if points:
            total += points
            reasons.append({"rule": _("Existing customer, value tier %(tier)s") % {"tier": tier}, "points": points})
    return max(0, min(100, total)), reasons


def _matching_customer_tier(lead: Lead) -> str:
    """The analytics value tier of the best existing customer this lead looks like, if scores exist."""
    ids = [d["customer_id"] for d in lead.possible_duplicates or []]
    if not ids:
        return ""

    tiers = []
    for cid in ids[:3]:
        card = customer_score(cid)
        if card is not None and card.value_tier:
            tiers.append(card.value_tier)
    return min(tiers) if tiers else ""


def _rule_matches(rule: AssignmentRule, lead: Lead) -> bool:
    if rule.condition == AssignmentRule.Condition.ANY:
        return True
    if rule.condition == AssignmentRule.Condition.REGION:
        want = rule.value.strip()
        return bool(want) and want in (lead.province, lead.city)
    return bool(rule.value) and rule.value == lead.product_line


def assign_lead(lead: Lead) -> None:
    """Give the lead an owner by the first matching rule with members (round robin inside the rule). Call inside
    a transaction: the rule row is locked so two leads arriving together go to two people."""
    for rule in AssignmentRule.objects.filter(active=True).order_by("position", "id"):
        if not _rule_matches(rule, lead):
            continue
        locked = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
        pool = list(locked.members.filter(is_active=True).order_by("pk"))
        if not pool:
            continue
        owner = pool[locked.assigned % len(pool)]
        AssignmentRule.objects.filter(pk=rule.pk).update(assigned=F("assigned") + 1)
        lead.owner, lead.team_id, lead.assigned_by_rule = owner, owner.team_id, locked
        return


def create_lead(*, actor, data: dict[str, Any], channel: str = Lead.Channel.MANUAL, web_form: WebForm | None = None,
                source: str = "", external_id: str | None = None) -> Lead:
    """Create a lead: validate, check for a likely existing customer, score, assign (an explicit owner wins, then
    the assignment rules, then the creating rep). `actor` is None for the public web form."""
    if actor is not None:
        perms.require(actor, CHANGE_SALES)
    clean = _clean_lead(data)
    owner = None
    if actor is not None and data.get("owner_id"):
        owner = _user(data["owner_id"], "owner_id")
        _check_owner_allowed(actor, owner)
    with transaction.atomic():
        lead = Lead(**clean, channel=channel, web_form=web_form, source=source, external_id=external_id)
        lead.possible_duplicates = [
            {"customer_id": d.customer_id, "name": d.name, "reasons": d.reasons}
            for d in customer_queries.likely_duplicates(name=lead.name, mobile=lead.mobile, email=lead.email)]
        lead.score, lead.score_reasons = score_lead(lead)
        if owner is not None:
            lead.owner, lead.team_id = owner, owner.team_id
        else:
            assign_lead(lead)
            if lead.owner_id is None and actor is not None and perms.user_role(actor) is perms.Role.SALES_REP:
                lead.owner, lead.team_id = actor, actor.team_id
            elif lead.owner_id is None and lead.team_id is None and actor is not None and actor.team_id:
                # Unassigned, it waits in its creator's team (a manager's import stays in what they can see).
                lead.team_id = actor.team_id
        try:
            with transaction.atomic():
                lead.save()
        except IntegrityError:
            raise DomainError(ErrorCode.DUPLICATE, _("A lead with this external id exists."), "external_id") from None
        audit(actor=actor, action="lead.create", obj=lead, after=snapshot(lead),
              detail={"channel": channel, "web_form": web_form.pk if web_form else None})
        notices.lead_owner(lead, actor=actor, routed=owner is None and lead.assigned_by_rule_id is not None)
    return lead


def update_lead(*, actor, lead_id: int, data: dict[str, Any]) -> Lead:
    perms.require(actor, CHANGE_SALES)
    with transaction.atomic():
        lead = queries.get_lead_for(actor, lead_id, for_update=True)
        if lead.status == Lead.Status.CONVERTED:
            raise DomainError(SalesErrorCode.LEAD_CONVERTED, _("This lead was converted; change the customer."))
        clean = _clean_lead(data, partial=True)
        if "status" in data:
            status = str(data["status"])
            if status not in (Lead.Status.NEW, Lead.Status.WORKING, Lead.Status.DISQUALIFIED):
                raise ValidationFailed([_err(ErrorCode.INVALID, _("Not one of the allowed values."), "status")])
            clean["status"] = status
            clean["disqualified_reason"] = str(data.get("disqualified_reason") or "")[:200]
        if data.get("owner_id"):
            owner = _user(data["owner_id"], "owner_id")
            _check_owner_allowed(actor, owner)
            clean["owner_id"], clean["team_id"] = owner.pk, owner.team_id
        before = snapshot(lead)
        for key, value in clean.items():
            setattr(lead, key, value)
        lead.score, lead.score_reasons = score_lead(lead)
        old, new = diff(before, snapshot(lead))
        if new:
            lead.save()
            queries.get_lead_for(actor, lead.pk)  # still visible after the change, or roll back
            audit(actor=actor, action="lead.update", obj=lead, before=old, after=new)
            if "owner_id" in new:
                notices.lead_owner(lead, actor=actor)
    return lead


def convert_lead(*, actor, lead_id: int, customer_id: int | None = None, create_opportunity: bool = True,
                 opportunity: dict[str, Any] | None = None) -> Lead:
    """Turn a lead into a customer (a new one, or the existing `customer_id`) and, optionally, an opportunity in
    one step. The lead's activities and notes move to the customer, the lead stays (status converted) as history,
    and the customer's timeline gets a "lead" row with where it came from."""
    perms.require(actor, CHANGE_SALES)
    perms.require(actor, perms.CHANGE_CUSTOMERS)
    opportunity = dict(opportunity or {})
    with transaction.atomic():
        lead = queries.get_lead_for(actor, lead_id, for_update=True)
        if lead.status == Lead.Status.CONVERTED:
            raise DomainError(SalesErrorCode.LEAD_CONVERTED, _("This lead was already converted."))
        owner = lead.owner or actor
        if customer_id:
            customer = customer_queries.get_customer_for(actor, customer_id)
        else:
            base = {"province": lead.province, "city": lead.city, "owner_id": owner.pk, "team_id": owner.team_id,
                    "status": "prospect"}
            if lead.company:
                customer = customer_services.create_customer(
                    actor=actor, data={**base, "kind": "organization", "name": lead.company}, email=lead.email)
                if lead.name and lead.name != lead.company:
                    customer_services.create_customer(
                        actor=actor, data={**base, "kind": "person", "name": lead.name,
                                           "organization_id": customer.pk}, mobile=lead.mobile, email=lead.email)
            else:
                customer = customer_services.create_customer(
                    actor=actor, data={**base, "kind": "person", "name": lead.name}, mobile=lead.mobile,
                    email=lead.email)
        lead.customer_id = customer.pk
        lead.status = Lead.Status.CONVERTED
        lead.converted_at = timezone.now()
        record_event(customer_id=customer.pk, kind="lead", actor=actor,
                     subject=deferred(gettext_noop("Converted from lead: %(name)s"), name=str(lead)),
                     body=lead.message, ref_type="sales.lead", ref_id=lead.pk,
                     payload={"channel": lead.channel, "score": lead.score, "lead_created": lead.created_at,
                              "product_line": lead.product_line})
        Activity.objects.filter(lead=lead).update(customer_id=customer.pk)
        Note.objects.filter(lead=lead).update(customer_id=customer.pk)
        if create_opportunity:
            data = {"customer_id": customer.pk, "owner_id": owner.pk,
                    "name": opportunity.get("name") or str(lead),
                    "amount": opportunity.get("amount", lead.estimated_amount or 0),
                    "expected_close": opportunity.get("expected_close")
                    or (timezone.localdate() + dt.timedelta(days=30)),
                    "product_lines": opportunity.get("product_lines") or ([lead.product_line]
                                                                          if lead.product_line else []),
                    "pipeline_id": opportunity.get("pipeline_id")}
            opp = create_opportunity_record(actor=actor, data=data, lead=lead)
            lead.opportunity = opp
        lead.save()
        audit(actor=actor, action="lead.convert", obj=lead, customer_id=customer.pk,
              detail={"customer_id": customer.pk, "opportunity_id": lead.opportunity_id})
    return lead


def import_lead_row(*, actor, row: dict[str, Any], source: str) -> tuple[str, Lead]:
    """One imported lead: a row with `external_id` updates the lead with that (source, external_id) instead of
    adding a second one (empty cells keep the stored values); otherwise a new lead of channel "import". Returns
    ("created" | "updated", lead). The rule of the API's import_leads and of the "leads" import kind (imports.py)."""
    external_id = str(row.get("external_id") or "").strip()[:100] or None
    with transaction.atomic():
        existing = Lead.objects.filter(source=source, external_id=external_id).first() if external_id else None
        if existing is not None:
            lead = update_lead(actor=actor, lead_id=existing.pk,
                               data={k: v for k, v in row.items() if k != "external_id" and v not in (None, "")})
            return "updated", lead
        return "created", create_lead(actor=actor, data=row, channel=Lead.Channel.IMPORT, source=source,
                                      external_id=external_id)


def import_leads(*, actor, rows: list[dict[str, Any]], source: str = "import") -> dict[str, Any]:
    """Load leads from rows (the API). Every row is checked (import_lead_row); bad rows are returned with their
    errors and the good ones are kept. Files go through the import engine's "leads" kind (sales/imports.py)."""
    perms.require(actor, CHANGE_SALES)
    if len(rows) > LEAD_IMPORT_MAX_ROWS:
        raise ValidationFailed([_err(ErrorCode.INVALID, _("At most %(n)d rows at a time.")
                                     % {"n": LEAD_IMPORT_MAX_ROWS}, "rows")])
    source = (source or "import")[:40]
    out: dict[str, Any] = {"created": 0, "updated": 0, "rejected": []}
    for number, row in enumerate(rows, start=1):
        try:
            outcome, _lead = import_lead_row(actor=actor, row=row, source=source)
            out[outcome] += 1
        except DomainError as exc:
            errors = exc.errors if isinstance(exc, ValidationFailed) else [exc]
            out["rejected"].append({"row": number, "errors": [e.as_dict() for e in errors]})
    return out


# --- Public web form -------------------------------------------------------------------------------------------------


def create_web_form(*, actor, name: str, product_line: str = "", thank_you: str = "") -> WebForm:
    perms.require(actor, MANAGE_SALES)
    errors: list = []
    data = {"name": name, "product_line": product_line, "thank_you": thank_you}
    name = _text(data, "name", errors, max_length=100, required=True, label=pgettext("object", "Name"))
    product_line = _choice(data, "product_line", ProductLine, errors)
    thank_you = _text(data, "thank_you", errors, max_length=300)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        form = WebForm.objects.create(name=name, product_line=product_line, thank_you=thank_you,
                                      token=secrets.token_urlsafe(24))
        audit(actor=actor, action="webform.create", obj=form, after={"name": name})
    return form


def submit_web_form(*, token: str, data: dict[str, Any], client: str) -> Lead | None:
    """A visitor's submission: no login, the form's token instead of CSRF, a per-address limit, and a honeypot
    field people do not see (a bot that fills it gets a normal answer and no lead). Returns the lead, or None for
    a bot."""
    form = WebForm.objects.filter(token=str(token or "")[:40], active=True).first()
    if form is None:
        raise NotFound()
    if count_hit(f"sales:webform:{form.pk}:{client}", FORM_RATE_WINDOW) > FORM_RATE_LIMIT:
        raise DomainError(ErrorCode.THROTTLED, _("Too many submissions; please try again later."))
    if str(data.get(HONEYPOT_FIELD) or "").strip():
        return None
    fields = {k: data.get(k) for k in ("name", "company", "mobile", "email", "province", "city", "message",
                                       "product_line")}
    if not fields.get("product_line"):
        fields["product_line"] = form.product_line
    return create_lead(actor=None, data=fields, channel=Lead.Channel.WEB_FORM, web_form=form)


# --- Assignment and scoring rules -------------------------------------------------------------------------------------


def save_assignment_rule(*, actor, data: dict[str, Any], rule_id: int | None = None) -> AssignmentRule:
    perms.require(actor, MANAGE_SALES)
    errors: list = []
    name = _text(data, "name", errors, max_length=100, required=True, label=pgettext("object", "Name"))
    condition = _choice(data, "condition", AssignmentRule.Condition, errors, default=AssignmentRule.Condition.ANY)
    value = _text(data, "value", errors, max_length=60)
    if condition != AssignmentRule.Condition.ANY and not value:
        errors.append(_err(ErrorCode.REQUIRED, _("Enter the value the rule matches."), "value"))
    if condition == AssignmentRule.Condition.PRODUCT_LINE and value and value not in ProductLine.values:
        errors.append(_err(ErrorCode.INVALID, _("Unknown product line: %(value)s") % {"value": value}, "value"))
    member_ids = data.get("member_ids") or []
    members = []
    for mid in member_ids:
        try:
            members.append(_user(mid, "member_ids"))
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if not members:
        errors.append(_err(ErrorCode.REQUIRED, _("Choose at least one colleague."), "member_ids"))
    try:
        position = int(data.get("position") or 0)
    except (TypeError, ValueError):
        errors.append(_err(ErrorCode.INVALID, _("Not a whole number."), "position"))
        position = 0
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        rule = AssignmentRule.objects.get(pk=rule_id) if rule_id else AssignmentRule()
        rule.name, rule.condition, rule.value, rule.position = name, condition, value, position
        rule.active = bool(data.get("active", True))
        rule.save()
        rule.members.set(members)
        audit(actor=actor, action="assignment_rule.save", obj=rule,
              after={"name": name, "condition": condition, "value": value, "members": [m.pk for m in members]})
    return rule


def save_scoring_rule(*, actor, data: dict[str, Any]) -> ScoringRule:
    perms.require(actor, MANAGE_SALES)
    errors: list = []
    field = _choice(data, "field", ScoringRule.Field, errors, required=True)
    value = _text(data, "value", errors, max_length=60)
    try:
        points = int(data.get("points"))
        if not -100 <= points <= 100:
            raise ValueError
    except (TypeError, ValueError):
        errors.append(_err(ErrorCode.INVALID, _("Points must be a whole number from -100 to 100."), "points"))
        points = 0
    if field == ScoringRule.Field.MIN_AMOUNT:
        _amount({"value": value}, "value", errors, required=True)
    elif field and not field.startswith("has_") and not value:
        errors.append(_err(ErrorCode.REQUIRED, _("Enter the value the rule matches."), "value"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        rule = ScoringRule.objects.create(field=field, value=value, points=points)
        audit(actor=actor, action="scoring_rule.create", obj=rule, after=snapshot(rule))
    return rule


# --- Pipelines and opportunities ------------------------------------------------------------------------------------


def default_pipeline() -> Pipeline:
    """The default pipeline, created with the default stages the first time it is needed."""
    pipeline = Pipeline.objects.filter(is_default=True).first()
    if pipeline is not None:
        return pipeline

    # Stage names are data: written once, in the installation's language, whoever happens to ask first.
    with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        pipeline, created = Pipeline.objects.get_or_create(is_default=True, defaults={"name": str(_("Sales"))})
        if created:
            Stage.objects.bulk_create([Stage(pipeline=pipeline, name=str(name), position=i, probability=p, kind=k)
                                       for i, (name, p, k) in enumerate(DEFAULT_STAGES)])
    return pipeline


def _clean_stages(stages: list[dict[str, Any]], errors: list, *, with_ids: bool = False) -> list[tuple]:
    """[(id or None, name, probability, kind)] in pipeline order — open stages in the given order, then won, then
    lost (the funnel reads positions in this order); one won and one lost stage are required."""
    clean = []
    for i, s in enumerate(stages or []):
        stage_name = _text(s, "name", errors, max_length=60, required=True, label=_("Stage"))
        kind = _choice(s, "kind", Stage.Kind, errors, default=Stage.Kind.OPEN)
        try:
            probability = int(s.get("probability", 0))
            if not 0 <= probability <= 100:
                raise ValueError
        except (TypeError, ValueError):
            errors.append(_err(ErrorCode.INVALID, _("Probability is a whole number from 0 to 100."),
                               f"stages.{i}.probability"))
            probability = 0
        if kind == Stage.Kind.WON:
            probability = 100
        elif kind == Stage.Kind.LOST:
            probability = 0
        clean.append((s.get("id") if with_ids else None, stage_name, probability, kind))
    kinds = [c[3] for c in clean]
    if kinds.count(Stage.Kind.WON) != 1 or kinds.count(Stage.Kind.LOST) != 1 or Stage.Kind.OPEN not in kinds:
        errors.append(_err(ErrorCode.INVALID, _("A pipeline needs open stages, one won and one lost stage."),
                           "stages"))
    names = [c[1].casefold() for c in clean if c[1]]
    if len(names) != len(set(names)):
        errors.append(_err(ErrorCode.DUPLICATE, _("Two stages have the same name."), "stages"))
    return [c for c in clean if c[3] == Stage.Kind.OPEN] + [c for c in clean if c[3] == Stage.Kind.WON] + \
        [c for c in clean if c[3] == Stage.Kind.LOST]


def create_pipeline(*, actor, name: str, stages: list[dict[str, Any]]) -> Pipeline:
    """A pipeline with its stages in order; one won and one lost stage are required, open stages in between."""
    perms.require(actor, MANAGE_SALES)
    errors: list = []
    name = _text({"name": name}, "name", errors, max_length=100, required=True, label=pgettext("object", "Name"))
    ordered = _clean_stages(stages, errors)
    if Pipeline.objects.filter(name=name).exists():
        errors.append(_err(ErrorCode.DUPLICATE, _("A pipeline with this name exists."), "name"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        pipeline = Pipeline.objects.create(name=name)
        Stage.objects.bulk_create([Stage(pipeline=pipeline, name=n, position=i, probability=p, kind=k)
                                   for i, (_id, n, p, k) in enumerate(ordered)])
        audit(actor=actor, action="pipeline.create", obj=pipeline,
              after={"name": name, "stages": [c[1:] for c in ordered]})
    return pipeline


def update_pipeline(*, actor, pipeline_id: int, name: str, stages: list[dict[str, Any]]) -> Pipeline:
    """Rename a pipeline and edit its stages: rename them, change their probability, put the open stages in a new
    order, add stages (no `id`) and remove stages (left out). A stage keeps its kind (an opportunity's status
    follows it); a stage that holds or has held an opportunity cannot be removed. Open opportunities keep their
    own probability (set when they entered their stage)."""
    perms.require(actor, MANAGE_SALES)
    errors: list = []
    name = _text({"name": name}, "name", errors, max_length=100, required=True, label=pgettext("object", "Name"))
    ordered = _clean_stages(stages, errors, with_ids=True)
    with transaction.atomic():
        pipeline = Pipeline.objects.select_for_update().filter(pk=pipeline_id).first()
        if pipeline is None:
            raise NotFound()
        existing = {st.pk: st for st in pipeline.stages.all()}
        kept = set()
        for sid, stage_name, _p, kind in ordered:
            if sid is None:
                continue
            st = existing.get(sid) if isinstance(sid, int) else None
            if st is None:
                errors.append(_err(ErrorCode.UNKNOWN_REFERENCE, _("“%(s)s” is not a stage of this pipeline.")
                                   % {"s": stage_name}, "stages"))
            elif st.kind != kind:
                errors.append(_err(ErrorCode.INVALID, _("A stage keeps its kind (“%(s)s” is %(k)s).")
                                   % {"s": st.name, "k": st.get_kind_display()}, "stages"))
            else:
                kept.add(sid)
        dropped = [st for pk, st in existing.items() if pk not in kept]
        for st in dropped:
            used = Opportunity.objects.filter(stage_id=st.pk).exists() or StageVisit.objects.filter(
                Q(stage_id=st.pk) | Q(from_stage_id=st.pk)).exists()
            if used:
                errors.append(_err(ErrorCode.CONFLICT, _("“%(s)s” has or had opportunities: it cannot be removed.")
                                   % {"s": st.name}, "stages"))
        if Pipeline.objects.filter(name=name).exclude(pk=pipeline.pk).exists():
            errors.append(_err(ErrorCode.DUPLICATE, _("A pipeline with this name exists."), "name"))
        if errors:
            raise ValidationFailed(errors)
        before = {"name": pipeline.name, "stages": [(st.pk, st.name, st.probability, st.kind)
                                                   for st in existing.values()]}
        # Positions are unique per pipeline: move every stage out of the way, then write the new order.
        Stage.objects.filter(pipeline=pipeline).update(position=F("position") + 1000)
        Stage.objects.filter(pk__in=[st.pk for st in dropped]).delete()
        for i, (sid, stage_name, probability, kind) in enumerate(ordered):
            if sid is None:
                Stage.objects.create(pipeline=pipeline, name=stage_name, position=i, probability=probability,
                                     kind=kind)
            else:
                Stage.objects.filter(pk=sid).update(name=stage_name, position=i, probability=probability)
        if [pk for pk, st in sorted(existing.items(), key=lambda kv: kv[1].position) if pk in kept] != \
                [c[0] for c in ordered if c[0] is not None]:
            # The funnel counts "reached stage i" as furthest_position >= i: positions moved, so each deal's
            # furthest position is read again from its stage history (lost stages do not count as progress).
            furthest = (StageVisit.objects.filter(opportunity=OuterRef("pk")).exclude(stage__kind=Stage.Kind.LOST)
                        .values("opportunity").annotate(m=Max("stage__position")).values("m"))
            Opportunity.objects.filter(pipeline=pipeline).update(
                furthest_position=Coalesce(Subquery(furthest), Value(0)))
        pipeline.name = name
        pipeline.save(update_fields=["name"])
        audit(actor=actor, action="pipeline.update", obj=pipeline, before=before,
              after={"name": name, "stages": [list(c) for c in ordered]})
    return pipeline


def _clean_opportunity(data: dict, *, instance: Opportunity | None, errors: list) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    new = instance is None
    if new or "name" in data:
        clean["name"] = _text(data, "name", errors, max_length=200, required=True, label=pgettext("object", "Name"))
    if new or "amount" in data:
        clean["amount"] = _amount(data, "amount", errors, required=True)
    if new or "expected_close" in data:
        clean["expected_close"] = _date(data, "expected_close", errors, required=True)
    if "product_lines" in data or new:
        clean["product_lines"] = _product_lines(data, errors)
    if "next_step" in data:
        clean["next_step"] = _text(data, "next_step", errors, max_length=200)
    if "next_step_date" in data:
        clean["next_step_date"] = _date(data, "next_step_date", errors)
    if data.get("probability") not in (None, ""):
        try:
            p = int(data["probability"])
            if not 0 <= p <= 100:
                raise ValueError
            clean["probability"] = p
        except (TypeError, ValueError):
            errors.append(_err(ErrorCode.INVALID, _("Probability is a whole number from 0 to 100."), "probability"))
    return {k: v for k, v in clean.items() if v is not None or k in ("next_step_date",)}


def create_opportunity_record(*, actor, data: dict[str, Any], lead: Lead | None = None) -> Opportunity:
    """Create an opportunity for a customer the actor may see, in the first open stage of its pipeline (or the
    stage given), owned by the owner given, else the customer's owner, else the actor."""
    perms.require(actor, CHANGE_SALES)
    errors: list = []
    if not data.get("customer_id"):
        errors.append(_err(ErrorCode.REQUIRED, _("Choose a customer."), "customer_id"))
    clean = _clean_opportunity(data, instance=None, errors=errors)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        customer = customer_queries.get_customer_for(actor, data["customer_id"])
        pipeline = default_pipeline()
        if data.get("pipeline_id"):
            pipeline = Pipeline.objects.filter(pk=_int(data["pipeline_id"], "pipeline_id"), active=True).first()
            if pipeline is None:
                raise ValidationFailed([_err(ErrorCode.UNKNOWN_REFERENCE, _("No such pipeline."), "pipeline_id")])
        stages = list(pipeline.stages.all())
        stage = next(s for s in stages if s.kind == Stage.Kind.OPEN)
        if data.get("stage_id"):
            stage = next((s for s in stages if s.pk == _int(data["stage_id"], "stage_id")), None)
            if stage is None or stage.kind != Stage.Kind.OPEN:
                raise ValidationFailed([_err(SalesErrorCode.STAGE_NOT_IN_PIPELINE,
                                             _("Choose an open stage of this pipeline."), "stage_id")])
        if data.get("owner_id"):
            owner = _user(data["owner_id"], "owner_id")
            _check_owner_allowed(actor, owner)
        else:
            owner = customer.owner if customer.owner_id and customer.owner.is_active else actor
        now = timezone.now()
        clean.setdefault("probability", stage.probability)
        opp = Opportunity(**clean, customer_id=customer.pk, pipeline=pipeline, stage=stage, owner=owner,
                          team_id=owner.team_id, stage_entered_at=now, furthest_position=stage.position, lead=lead,
                          source=str(data.get("source") or "")[:40],
                          external_id=(str(data["external_id"])[:100] if data.get("external_id") else None))
        try:
            with transaction.atomic():
                opp.save()
        except IntegrityError:
            raise DomainError(ErrorCode.DUPLICATE, _("An opportunity with this external id exists."),
                              "external_id") from None
        StageVisit.objects.create(opportunity=opp, customer_id=customer.pk, stage=stage, entered_at=now, actor=actor)
        audit(actor=actor, action="opportunity.create", obj=opp, customer_id=customer.pk, after=snapshot(opp))
        notices.opportunity_owner(opp, actor=actor)
        record_event(customer_id=customer.pk, kind="opp", actor=actor,
                     subject=deferred(gettext_noop("Opportunity opened: %(name)s"), name=opp.name),
                     ref_type="sales.opportunity", ref_id=opp.pk,
                     payload={"amount": opp.amount, "stage": stage.name, "expected_close": opp.expected_close})
    return opp


def create_opportunity(*, actor, data: dict[str, Any]) -> Opportunity:
    return create_opportunity_record(actor=actor, data=data)


def update_opportunity(*, actor, opportunity_id: int, data: dict[str, Any]) -> Opportunity:
    """Change amount, close date, probability, product lines, next step, name or owner."""
    perms.require(actor, CHANGE_SALES)
    errors: list = []
    with transaction.atomic():
        opp = queries.get_opportunity_for(actor, opportunity_id, for_update=True)
        clean = _clean_opportunity(data, instance=opp, errors=errors)
        if data.get("owner_id"):
            try:
                owner = _user(data["owner_id"], "owner_id")
                _check_owner_allowed(actor, owner)
                clean["owner_id"], clean["team_id"] = owner.pk, owner.team_id
            except ValidationFailed as exc:
                errors.extend(exc.errors)
        if errors:
            raise ValidationFailed(errors)
        before = snapshot(opp)
        for key, value in clean.items():
            setattr(opp, key, value)
        old, new = diff(before, snapshot(opp))
        if not new:
            return opp
        opp.save()
        audit(actor=actor, action="opportunity.update", obj=opp, customer_id=opp.customer_id, before=old, after=new)
        if "owner_id" in new:
            notices.opportunity_owner(opp, actor=actor)
    return opp


def move_opportunity(*, actor, opportunity_id: int, stage_id: int, lost_reason: str = "",
                     lost_note: str = "") -> Opportunity:
    """Move an opportunity to another stage of its pipeline (forward, back, won, lost or reopened). The stay in
    the old stage is closed and one in the new stage opened, so the history shows the time spent in each stage.
    Lost needs a reason. Probability follows the stage."""
    perms.require(actor, CHANGE_SALES)
    with transaction.atomic():
        opp = queries.get_opportunity_for(actor, opportunity_id, for_update=True)
        stage = Stage.objects.filter(pk=_int(stage_id, "stage_id"), pipeline_id=opp.pipeline_id).first()
        if stage is None:
            raise ValidationFailed([_err(SalesErrorCode.STAGE_NOT_IN_PIPELINE,
                                         _("This stage is not in the opportunity's pipeline."), "stage_id")])
        if stage.pk == opp.stage_id:
            return opp
        if stage.kind == Stage.Kind.LOST and lost_reason not in Opportunity.LostReason.values:
            raise ValidationFailed([_err(SalesErrorCode.LOST_REASON_REQUIRED, _("Say why it was lost."),
                                         "lost_reason")])
        now = timezone.now()
        old_stage = opp.stage
        for visit in StageVisit.objects.filter(opportunity=opp, left_at__isnull=True):
            visit.left_at = now
            visit.seconds_in_stage = int((now - visit.entered_at).total_seconds())
            visit.save(update_fields=["left_at", "seconds_in_stage"])
        StageVisit.objects.create(opportunity=opp, customer_id=opp.customer_id, stage=stage, from_stage=old_stage,
                                  entered_at=now, actor=actor)
        before = snapshot(opp)
        opp.stage, opp.stage_entered_at, opp.probability = stage, now, stage.probability
        if stage.kind != Stage.Kind.LOST:
            opp.furthest_position = max(opp.furthest_position, stage.position)
        opp.status = {Stage.Kind.OPEN: Opportunity.Status.OPEN, Stage.Kind.WON: Opportunity.Status.WON,
                      Stage.Kind.LOST: Opportunity.Status.LOST}[stage.kind]
        opp.closed_at = now if stage.kind != Stage.Kind.OPEN else None
        opp.lost_reason = lost_reason if stage.kind == Stage.Kind.LOST else ""
        opp.lost_note = (lost_note or "")[:300] if stage.kind == Stage.Kind.LOST else ""
        opp.save()
        old, new = diff(before, snapshot(opp))
        audit(actor=actor, action="opportunity.move", obj=opp, customer_id=opp.customer_id, before=old, after=new)
        # Written once, read in each reader's language (core.labels.deferred): a stage name through "sales.stage"
        # (a default stage left as it was reads in the reader's language), the reason through its label.
        if stage.kind == Stage.Kind.WON:
            subject = deferred(gettext_noop("Opportunity won: %(name)s"), name=opp.name)
        elif stage.kind == Stage.Kind.LOST:
            subject = deferred(gettext_noop("Opportunity lost: %(name)s (%(reason)s)"), name=opp.name,
                               reason=ref("sales.lost_reason", opp.lost_reason))
        else:
            subject = deferred(gettext_noop("Opportunity %(name)s moved to %(stage)s"), name=opp.name,
                               stage=ref("sales.stage", stage.name))
        record_event(customer_id=opp.customer_id, kind="opp", actor=actor, subject=subject,
                     ref_type="sales.opportunity", ref_id=opp.pk,
                     payload={"from_stage": old_stage.name, "to_stage": stage.name, "amount": opp.amount,
                              "status": opp.status, "lost_reason": opp.lost_reason})
    return opp


# --- Activities and notes ----------------------------------------------------------------------------------------------


def _subject_refs(actor, data: dict) -> dict[str, Any]:
    """customer / lead / opportunity ids the actor may see (an opportunity implies its customer)."""
    refs: dict[str, Any] = {"customer_id": None, "lead_id": None, "opportunity_id": None}
    if data.get("opportunity_id"):
        opp = queries.get_opportunity_for(actor, data["opportunity_id"])
        refs["opportunity_id"], refs["customer_id"] = opp.pk, opp.customer_id
    if data.get("lead_id"):
        lead = queries.get_lead_for(actor, data["lead_id"])
        refs["lead_id"] = lead.pk
        refs["customer_id"] = refs["customer_id"] or lead.customer_id
    if data.get("customer_id") and not refs["customer_id"]:
        refs["customer_id"] = customer_queries.get_customer_for(actor, data["customer_id"]).pk
    return refs


TIMELINE_KIND = {Activity.Kind.CALL: "call", Activity.Kind.MEETING: "visit", Activity.Kind.TASK: "task"}


def create_activity(*, actor, data: dict[str, Any]) -> Activity:
    """A task or meeting with a due date (and reminder), or a call logged with its outcome (done at once).
    `follow_up_at` on a logged call also creates the follow-up task."""
    perms.require(actor, CHANGE_SALES)
    errors: list = []
    kind = _choice(data, "kind", Activity.Kind, errors, default=Activity.Kind.TASK)
    subject = _text(data, "subject", errors, max_length=200, required=True, label=_("Subject"))
    notes = _text(data, "notes", errors, max_length=5000)
    due_at = _moment(data, "due_at", errors)
    remind_at = _moment(data, "remind_at", errors)
    follow_up_at = _moment(data, "follow_up_at", errors)
    outcome = _choice(data, "outcome", Activity.Outcome, errors)
    if kind == Activity.Kind.CALL and not outcome and not due_at:
        errors.append(_err(ErrorCode.REQUIRED, _("Log the call's outcome, or plan it with a due date."), "outcome"))
    if kind != Activity.Kind.CALL and outcome and outcome != Activity.Outcome.DONE:
        errors.append(_err(ErrorCode.INVALID, _("Only calls have this outcome."), "outcome"))
    if remind_at and due_at and remind_at > due_at:
        errors.append(_err(ErrorCode.INVALID, _("The reminder must come before the due time."), "remind_at"))
    assignee = actor
    if data.get("assignee_id"):
        try:
            assignee = _user(data["assignee_id"], "assignee_id")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        refs = _subject_refs(actor, data)
        now = timezone.now()
        act = Activity.objects.create(kind=kind, subject=subject, notes=notes, assignee=assignee, created_by=actor,
                                      due_at=due_at, remind_at=remind_at, outcome=outcome,
                                      done_at=now if outcome else None, **refs)
        audit(actor=actor, action="activity.create", obj=act, customer_id=act.customer_id, after=snapshot(act))
        notices.activity_assigned(act, actor=actor)
        if act.customer_id:
            _activity_event(actor, act, logged=bool(outcome))
        if follow_up_at:
            nxt = Activity.objects.create(kind=Activity.Kind.TASK, assignee=assignee, created_by=actor,
                                          subject=_("Follow up: %(subject)s") % {"subject": subject},
                                          due_at=follow_up_at, follow_up_of=act, **refs)
            audit(actor=actor, action="activity.create", obj=nxt, customer_id=nxt.customer_id, after=snapshot(nxt))
    return act


def _activity_event(actor, act: Activity, *, logged: bool) -> None:
    if logged:
        subject = f"{act.subject} · {act.get_outcome_display()}" if act.outcome else act.subject
    else:
        subject = _("Planned: %(subject)s") % {"subject": act.subject}
    record_event(customer_id=act.customer_id, kind=TIMELINE_KIND[act.kind], actor=actor, subject=subject,
                 body=act.notes, ref_type="sales.activity", ref_id=act.pk, direction="out" if logged else "",
                 payload={"due_at": act.due_at, "outcome": act.outcome, "assignee_id": act.assignee_id})


def complete_activity(*, actor, activity_id: int, outcome: str = "", notes: str = "",
                      follow_up_at=None) -> Activity:
    """Mark a task, meeting or planned call done (with an outcome for calls); optionally plan the follow-up."""
    perms.require(actor, CHANGE_SALES)
    errors: list = []
    outcome = _choice({"outcome": outcome}, "outcome", Activity.Outcome, errors)
    follow = _moment({"follow_up_at": follow_up_at}, "follow_up_at", errors)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        act = queries.get_activity_for(actor, activity_id, for_update=True)
        if act.done_at is not None:
            raise DomainError(ErrorCode.CONFLICT, _("This is done already."))
        act.done_at = timezone.now()
        act.outcome = outcome or (Activity.Outcome.DONE if act.kind != Activity.Kind.CALL else "")
        if act.kind == Activity.Kind.CALL and not act.outcome:
            raise ValidationFailed([_err(ErrorCode.REQUIRED, _("Log the call's outcome."), "outcome")])
        if notes:
            act.notes = (act.notes + "\n" + notes).strip()[:5000]
        act.save()
        audit(actor=actor, action="activity.complete", obj=act, customer_id=act.customer_id,
              after={"done_at": act.done_at, "outcome": act.outcome})
        if act.customer_id:
            _activity_event(actor, act, logged=True)
        if follow:
            nxt = Activity.objects.create(kind=Activity.Kind.TASK, assignee=act.assignee, created_by=actor,
                                          subject=_("Follow up: %(subject)s") % {"subject": act.subject},
                                          due_at=follow, follow_up_of=act, customer_id=act.customer_id,
                                          lead_id=act.lead_id, opportunity_id=act.opportunity_id)
            audit(actor=actor, action="activity.create", obj=nxt, customer_id=nxt.customer_id, after=snapshot(nxt))
    return act


def add_note(*, actor, body: str, customer_id: int | None = None, lead_id: int | None = None,
             opportunity_id: int | None = None) -> Note:
    """A shared note on a record the actor may see. @username mentions colleagues: each named active user who
    may see the record is told on their "my day" page."""
    perms.require(actor, CHANGE_SALES)
    errors: list = []
    body = _text({"body": body}, "body", errors, max_length=10000, required=True, label=_("Note"))
    if not (customer_id or lead_id or opportunity_id):
        errors.append(_err(ErrorCode.REQUIRED, _("Say what the note is about."), "customer_id"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        refs = _subject_refs(actor, {"customer_id": customer_id, "lead_id": lead_id, "opportunity_id": opportunity_id})
        note = Note.objects.create(author=actor, body=body, **refs)
        mentioned = mentioned_users(body, author=actor, may_see=lambda user: queries.note_visible_to(user, note))
        Mention.objects.bulk_create([Mention(note=note, user=u) for u in mentioned])
        notices.note_mentions(note, mentioned, actor=actor)
        audit(actor=actor, action="note.create", obj=note, customer_id=note.customer_id,
              detail={"mentions": [u.pk for u in mentioned]})
        if note.customer_id:
            record_event(customer_id=note.customer_id, kind="note", actor=actor, subject=body[:80], body=body,
                         ref_type="sales.note", ref_id=note.pk, payload={"mentions": [u.username for u in mentioned]})
    return note


def mark_mentions_read(*, actor, mention_ids: list[int] | None = None) -> int:
    qs = Mention.objects.filter(user=actor, read_at__isnull=True)
    if mention_ids is not None:
        qs = qs.filter(pk__in=mention_ids)
    return qs.update(read_at=timezone.now())


# --- Ownership transfer ----------------------------------------------------------------------------------------------


def transfer_ownership(*, actor, from_user_id: int, to_user_ids: list[int], reason: str = "") -> OwnershipTransfer:
    """Hand everything of a (leaving) colleague to one or several others in one action: customers (through
    customers.services.reassign_customers), leads, opportunities, key accounts and open tasks, and their places in
    assignment rules. Records that belong to a customer go with the customer's new owner, so an account stays in
    one pair of hands. Nothing is left with the old owner; the transfer row keeps who got what."""
    perms.require(actor, MANAGE_SALES)
    perms.require(actor, perms.CHANGE_CUSTOMERS)
    from_user = _user_any(from_user_id, "from_user_id")
    if not to_user_ids:
        raise ValidationFailed([_err(ErrorCode.REQUIRED, _("Choose at least one colleague to take over."),
                                     "to_user_ids")])
    to_users = []
    for uid in dict.fromkeys(to_user_ids):
        user = _user(uid, "to_user_ids")
        if user.pk == from_user.pk:
            raise ValidationFailed([_err(ErrorCode.INVALID, _("Choose colleagues other than the one leaving."),
                                         "to_user_ids")])
        _check_owner_allowed(actor, user, "to_user_ids")
        to_users.append(user)
    _check_owner_allowed(actor, from_user, "from_user_id")
    teams = {u.pk: u.team_id for u in to_users}
    with transaction.atomic():
        moved: dict[str, dict[str, int]] = {}
        customers = customer_services.reassign_customers(actor=actor, from_user=from_user, to_users=to_users,
                                                         reason=reason)
        moved["customers"] = {str(k): v for k, v in customers.items()}
        turn = iter(range(10**9))

        def next_owner(customer_id: int | None = None) -> int:
            if customer_id is not None and customer_id in customers:
                return customers[customer_id]
            return to_users[next(turn) % len(to_users)].pk

        def move(qs, field: str, name: str, customer_attr: str | None = "customer_id") -> None:
            out: dict[str, int] = {}
            for obj in qs.select_for_update().order_by("pk"):
                cid = getattr(obj, customer_attr) if customer_attr else None
                out[str(obj.pk)] = next_owner(cid)
            for uid in set(out.values()):
                ids = [int(k) for k, v in out.items() if v == uid]
                updates = {field: uid}
                if name in ("leads", "opportunities"):
                    updates["team_id"] = teams[uid]
                qs.model.objects.filter(pk__in=ids).update(**updates)
            moved[name] = out

        move(Lead.objects.filter(owner_id=from_user.pk), "owner_id", "leads")
        move(Opportunity.objects.filter(owner_id=from_user.pk), "owner_id", "opportunities")
        move(KeyAccount.objects.filter(owner_id=from_user.pk), "owner_id", "key_accounts")
        move(Activity.objects.filter(assignee_id=from_user.pk, done_at__isnull=True), "assignee_id", "activities")
        rules = list(AssignmentRule.objects.filter(members=from_user))
        for rule in rules:
            rule.members.remove(from_user)
            if not rule.members.exists():
                rule.members.add(*to_users)
        moved["assignment_rules"] = {str(r.pk): 0 for r in rules}
        counts = {k: len(v) for k, v in moved.items()}
        transfer = OwnershipTransfer.objects.create(actor=actor, from_user=from_user, to_user_ids=list(teams),
                                                    counts=counts, moved=moved, reason=(reason or "")[:200])
        audit(actor=actor, action="sales.transfer", obj=transfer,
              detail={"from_user_id": from_user.pk, "to_user_ids": list(teams), "counts": counts})
    return transfer


def _user_any(user_id: Any, field: str):
    """Any user (the leaving colleague may already be deactivated)."""
    User = get_user_model()
    user = User.objects.filter(pk=_int(user_id, field)).first()
    if user is None:
        raise ValidationFailed([_err(ErrorCode.UNKNOWN_REFERENCE, _("No such colleague."), field)])
    return user


# --- Quotas -----------------------------------------------------------------------------------------------------------


def set_quota(*, actor, user_id: int, month, amount) -> Quota:
    """Set a rep's quota (won amount) for a month; setting it again replaces it."""
    perms.require(actor, MANAGE_SALES)
    errors: list = []
    day = _date({"month": month}, "month", errors, required=True)
    value = _amount({"amount": amount}, "amount", errors, required=True)
    if errors:
        raise ValidationFailed(errors)
    user = _user(user_id, "user_id")
    _check_owner_allowed(actor, user, "user_id")
    with transaction.atomic():
        quota, _created = Quota.objects.update_or_create(user=user, month=month_start(day),
                                                         defaults={"amount": value})
        audit(actor=actor, action="quota.set", obj=quota, after={"user_id": user.pk, "month": quota.month,
                                                                 "amount": value})
    return quota


# --- Key accounts ----------------------------------------------------------------------------------------------------


def create_key_account(*, actor, customer_id: int, owner_id: int | None = None,
                       relationship_stage: str = KeyAccount.RelationshipStage.VENDOR) -> KeyAccount:
    perms.require(actor, CHANGE_SALES)
    errors: list = []
    stage = _choice({"s": relationship_stage}, "s", KeyAccount.RelationshipStage, errors,
                    default=KeyAccount.RelationshipStage.VENDOR)
    if errors:
        raise ValidationFailed([_err(ErrorCode.INVALID, _("Not one of the allowed values."), "relationship_stage")])
    with transaction.atomic():
        customer = customer_queries.get_customer_for(actor, customer_id)
        if KeyAccount.objects.filter(customer_id=customer.pk).exists():
            raise DomainError(ErrorCode.DUPLICATE, _("This customer is a key account already."), "customer_id")
        owner = actor
        if owner_id:
            owner = _user(owner_id, "owner_id")
            _check_owner_allowed(actor, owner)
        today = timezone.localdate()
        account = KeyAccount.objects.create(customer_id=customer.pk, owner=owner, relationship_stage=stage,
                                            stage_since=today)
        RelationshipChange.objects.create(account=account, to_stage=stage, changed_on=today, actor=actor)
        audit(actor=actor, action="key_account.create", obj=account, customer_id=customer.pk, after=snapshot(account))
        record_event(customer_id=customer.pk, kind="account", actor=actor,
                     subject=deferred(gettext_noop("Managed as a key account (%(stage)s)"),
                                      stage=ref("sales.keyaccount.stage", account.relationship_stage)),
                     ref_type="sales.keyaccount", ref_id=account.pk)
    return account


def change_relationship_stage(*, actor, account_id: int, stage: str, note: str = "", on=None) -> KeyAccount:
    """Vendor → preferred supplier → strategic partner (or back), with the date and why."""
    perms.require(actor, CHANGE_SALES)
    errors: list = []
    stage = _choice({"stage": stage}, "stage", KeyAccount.RelationshipStage, errors, required=True)
    day = _date({"on": on}, "on", errors) or timezone.localdate()
    note = _text({"note": note}, "note", errors, max_length=300)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        account = queries.get_key_account_for(actor, account_id, for_update=True)
        if account.relationship_stage == stage:
            return account
        if day < account.stage_since or day > timezone.localdate():
            raise ValidationFailed([_err(ErrorCode.INVALID_DATE, _("The date must lie between the current stage's "
                                                                   "start and today."), "on")])
        old = account.relationship_stage
        RelationshipChange.objects.create(account=account, from_stage=old, to_stage=stage, changed_on=day,
                                          actor=actor, note=note)
        account.relationship_stage, account.stage_since = stage, day
        account.save()
        audit(actor=actor, action="key_account.stage", obj=account, customer_id=account.customer_id,
              before={"relationship_stage": old}, after={"relationship_stage": stage}, detail={"note": note})
        record_event(customer_id=account.customer_id, kind="account", actor=actor,
                     subject=deferred(gettext_noop("Relationship: %(old)s → %(new)s"),
                                      old=ref("sales.keyaccount.stage", old),
                                      new=ref("sales.keyaccount.stage", account.relationship_stage)),
                     body=note, ref_type="sales.keyaccount", ref_id=account.pk)
    return account


def record_wallet_share(*, actor, account_id: int, period, our_volume, total_demand, source: str = "",
                        external_id: str | None = None) -> WalletShare:
    """Our volume and the account's total demand for a period (entered, or imported with source/external id);
    the same period again replaces the figures."""
    perms.require(actor, CHANGE_SALES)
    errors: list = []
    day = _date({"period": period}, "period", errors, required=True)
    ours = _amount({"our_volume": our_volume}, "our_volume", errors, required=True)
    total = _amount({"total_demand": total_demand}, "total_demand", errors, required=True)
    if ours is not None and total is not None and ours > total:
        errors.append(_err(ErrorCode.INVALID, _("Our volume cannot exceed the account's total demand."),
                           "our_volume"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        account = queries.get_key_account_for(actor, account_id)
        row, created = WalletShare.objects.update_or_create(
            account=account, period=month_start(day),
            # A blank external id is no id: two entered months must not collide on (source, external_id).
            defaults={"our_volume": ours, "total_demand": total, "source": (source or "")[:40],
                      "external_id": (external_id or "").strip() or None})
        audit(actor=actor, action="key_account.wallet", obj=row, customer_id=account.customer_id,
              after={"period": row.period, "our_volume": ours, "total_demand": total})
    return row


def add_cost_to_serve(*, actor, account_id: int, period, category: str, amount) -> CostToServe:
    perms.require(actor, CHANGE_SALES)
    errors: list = []
    day = _date({"period": period}, "period", errors, required=True)
    category = _choice({"category": category}, "category", CostToServe.Category, errors, required=True)
    value = _amount({"amount": amount}, "amount", errors, required=True)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        account = queries.get_key_account_for(actor, account_id)
        row = CostToServe.objects.create(account=account, period=month_start(day), category=category, amount=value)
        audit(actor=actor, action="key_account.cost", obj=row, customer_id=account.customer_id, after=snapshot(row))
    return row


def add_account_goal(*, actor, account_id: int, data: dict[str, Any]) -> AccountGoal:
    perms.require(actor, CHANGE_SALES)
    errors: list = []
    title = _text(data, "title", errors, max_length=200, required=True, label=_("Goal"))
    target = _amount(data, "target", errors)
    due = _date(data, "due", errors)
    plan_note = _text(data, "plan_note", errors, max_length=5000)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        account = queries.get_key_account_for(actor, account_id)
        goal = AccountGoal.objects.create(account=account, title=title, target=target, due=due, plan_note=plan_note)
        audit(actor=actor, action="key_account.goal", obj=goal, customer_id=account.customer_id, after=snapshot(goal))
    return goal


def set_goal_status(*, actor, goal_id: int, status: str) -> AccountGoal:
    perms.require(actor, CHANGE_SALES)
    errors: list = []
    status = _choice({"status": status}, "status", AccountGoal.Status, errors, required=True)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        goal = AccountGoal.objects.select_related("account").filter(pk=_int(goal_id, "goal_id")).first()
        if goal is None:
            raise NotFound()
        queries.get_key_account_for(actor, goal.account_id)
        old = goal.status
        goal.status = status
        goal.save(update_fields=["status", "updated_at"])
        audit(actor=actor, action="key_account.goal_status", obj=goal, customer_id=goal.account.customer_id,
              before={"status": old}, after={"status": status})
    return goal


def add_account_contact(*, actor, account_id: int, data: dict[str, Any]) -> AccountContact:
    """A person in the account's org chart: role in the buying decision, influence, and whom they report to."""
    perms.require(actor, CHANGE_SALES)
    errors: list = []
    name = _text(data, "name", errors, max_length=100, required=True, label=pgettext("object", "Name"))
    title = _text(data, "title", errors, max_length=100)
    role = _choice(data, "role", AccountContact.Role, errors, required=True)
    influence = _choice(data, "influence", AccountContact.Influence, errors, default=AccountContact.Influence.MEDIUM)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        account = queries.get_key_account_for(actor, account_id)
        reports_to = None
        if data.get("reports_to_id"):
            reports_to = AccountContact.objects.filter(pk=_int(data["reports_to_id"], "reports_to_id"),
                                                       account=account).first()
            if reports_to is None:
                raise ValidationFailed([_err(ErrorCode.UNKNOWN_REFERENCE, _("Not a contact of this account."),
                                             "reports_to_id")])
        contact_id = None
        if data.get("contact_id"):
            contact_id = customer_queries.get_customer_for(actor, data["contact_id"]).pk
        row = AccountContact.objects.create(account=account, name=name, title=title, role=role, influence=influence,
                                            reports_to=reports_to, contact_id=contact_id)
        audit(actor=actor, action="key_account.contact", obj=row, customer_id=account.customer_id,
              after=snapshot(row))
    return row


# --- Customer merge -----------------------------------------------------------------------------------------------------


def merge_move(from_ids: list[int], to_id: int) -> dict[str, Any]:
    """Move sales rows of merged customers to the survivor (customers.services MERGE_PARTICIPANTS). A merged
    customer's key account moves only when the survivor has none."""
    record: dict[str, Any] = {"to_id": to_id}
    for name, model, column in (("opportunities", Opportunity, "customer_id"), ("visits", StageVisit, "customer_id"),
                                ("activities", Activity, "customer_id"), ("notes", Note, "customer_id"),
                                ("leads", Lead, "customer_id"), ("contacts", AccountContact, "contact_id")):
        rows = list(model.objects.filter(**{f"{column}__in": from_ids}).values_list("pk", column))
        record[name] = [[pk, cid] for pk, cid in rows]
        model.objects.filter(pk__in=[pk for pk, _c in rows]).update(**{column: to_id})
    record["key_accounts"] = []
    if not KeyAccount.objects.filter(customer_id=to_id).exists():
        moving = KeyAccount.objects.filter(customer_id__in=from_ids).order_by("pk").first()
        if moving is not None:
            record["key_accounts"] = [[moving.pk, moving.customer_id]]
            KeyAccount.objects.filter(pk=moving.pk).update(customer_id=to_id)
    return record


def merge_restore(record: dict[str, Any]) -> None:
    for name, model, column in (("opportunities", Opportunity, "customer_id"), ("visits", StageVisit, "customer_id"),
                                ("activities", Activity, "customer_id"), ("notes", Note, "customer_id"),
                                ("leads", Lead, "customer_id"), ("contacts", AccountContact, "contact_id"),
                                ("key_accounts", KeyAccount, "customer_id")):
        for pk, cid in record.get(name, []):
            model.objects.filter(pk=pk).update(**{column: cid})



# --- Calls planned for others (marketing call lists) -------------------------------------------------------------------


def plan_calls(*, calls: list[dict[str, Any]]) -> list[int | None]:
    """Plan one call task per entry — {customer_id, assignee_id, subject, notes} — for the customer's owner (the
    assignee), due now, with its timeline row and one audit row for all of them. Returns each entry's activity id
    (None when it names no assignee). Called by background senders after their own right was checked (a
    marketing call-list campaign, launched by a holder of marketing.change): no user acts here."""
    made: list[int | None] = []
    now = timezone.now()
    with transaction.atomic():
        for call in calls:
            if not call.get("assignee_id") or not call.get("customer_id"):
                made.append(None)
                continue
            act = Activity.objects.create(kind=Activity.Kind.CALL, subject=str(call.get("subject") or "")[:200],
                                          notes=str(call.get("notes") or "")[:5000], assignee_id=call["assignee_id"],
                                          customer_id=call["customer_id"], due_at=now)
            _activity_event(None, act, logged=False)
            made.append(act.pk)
        if any(made):
            audit(actor=None, action="activity.create", object_type="sales.activity",
                  detail={"planned_calls": [pk for pk in made if pk]})
    return made
