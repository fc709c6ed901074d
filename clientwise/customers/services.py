"""Customer operations. The only code that writes customer rows; pages, API, imports and CLI call these.

Every service takes keyword-only arguments with the acting user, checks the actor's permission and record
visibility, runs in one transaction, writes the audit log and a timeline row.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import DateTimeField, DecimalField, F, IntegerField
from django.db.models.functions import Coalesce, Greatest, Least
from django.db.models.sql.subqueries import UpdateQuery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from clientwise.accounts.models import Team, User
from clientwise.core import extensions, labels
from clientwise.core import permissions as perms
from clientwise.core.audit import audit, diff, jsonable, snapshot
from clientwise.core.bulk import JsonText, column_value, inserter
from clientwise.core.errors import DomainError, ErrorCode, NotFound, PermissionDenied, ValidationFailed
from clientwise.core.labels import deferred, ref, refs
from clientwise.core.models import AuditLog
from clientwise.core.normalize import normalize_email, normalize_phone, parse_date, pinyin_keys
from clientwise.core.ratelimit import count_hit
from clientwise.customers import notices, rules
from clientwise.customers.events import record_event
from clientwise.customers.models import (
    Consent,
    ContactPoint,
    CustomAttribute,
    Customer,
    CustomerShare,
    CustomerStats,
    CustomerTag,
    Interaction,
    Tag,
)
from clientwise.customers.queries import get_customer_for, visible_customers
from clientwise.customers.scope import CustomerScope

# Fields a create/update may set directly (the rest are derived or owned by other services).
PROFILE_FIELDS = (
    "kind", "name", "member_number", "status", "owner_id", "team_id", "organization_id", "gender", "birth_date",
    "occupation", "income_band", "urban_rural", "id_number", "industry", "province", "city", "notes", "custom",
    "customer_since",
)
CHOICE_FIELDS = {
    "kind": Customer.Kind, "status": Customer.Status, "gender": Customer.Gender,
    "income_band": Customer.IncomeBand, "urban_rural": Customer.Area,
}


def _clean_profile(data: dict[str, Any], *, instance: Customer | None = None) -> dict[str, Any]:
    """Validate profile fields; collect every error so forms and the API show them all at once."""
    errors: list[DomainError] = []
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key not in PROFILE_FIELDS:
            continue
        if isinstance(value, str):
            value = value.strip()
        if key in CHOICE_FIELDS:
            value = value or ""
            if value not in CHOICE_FIELDS[key].values:
                errors.append(DomainError(ErrorCode.INVALID, _("“%(value)s” is not a valid choice.") % {"value": value}, key))
                continue
        elif key == "name":
            if not value:
                errors.append(DomainError(ErrorCode.REQUIRED, _("Name is required."), "name"))
                continue
        elif key == "member_number":
            value = value or None
            if value and Customer.objects.filter(member_number=value).exclude(pk=getattr(instance, "pk", None)).exists():
                errors.append(DomainError(ErrorCode.DUPLICATE, _("Member number %(value)s is already used.") % {"value": value}, key))
                continue
        elif key in ("birth_date", "customer_since"):
            if value in (None, ""):
                value = None
            else:
                shown = value if isinstance(value, str) else ""
                try:
                    value = parse_date(value, field=key)
                    value = (rules.birth_date(value, key) if key == "birth_date"
                             else rules.customer_since(value, key, shown=shown))
                except DomainError as exc:
                    errors.append(exc)
                    continue
        elif key in ("owner_id", "team_id", "organization_id"):
            value = value or None
            if value is not None:
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    errors.append(DomainError(ErrorCode.INVALID, _("Not a valid reference."), key))
                    continue
                if not _reference_exists(key, value):
                    errors.append(DomainError(ErrorCode.UNKNOWN_REFERENCE, _("No such record: %(value)s.") % {"value": value}, key))
                    continue
        elif key == "custom":
            try:
                value = clean_custom_attributes(value or {}, previous=getattr(instance, "custom", None) or {})
            except ValidationFailed as exc:
                errors.extend(exc.errors)
                continue
        elif value is None:
            value = ""
        if isinstance(value, str) and (exc := rules.too_long(value, key)) is not None:
            errors.append(exc)  # the column's length (customers/rules.py), as the import checks it
            continue
        clean[key] = value
    if errors:
        raise ValidationFailed(errors)
    return clean


def _reference_exists(key: str, value: int) -> bool:
    if key == "owner_id":
        return User.objects.filter(pk=value, is_active=True).exists()
    if key == "team_id":
        return Team.objects.filter(pk=value).exists()
    return Customer.objects.filter(pk=value, kind=Customer.Kind.ORGANIZATION).exists()


def clean_custom_attributes(values: dict[str, Any], *, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check values against the admin-defined attributes; unknown keys and wrong types are errors."""
    if not isinstance(values, dict):
        raise ValidationFailed([DomainError(ErrorCode.INVALID, _("Custom attributes must be an object."), "custom")])
    defs = {a.key: a for a in CustomAttribute.objects.all()}
    out = dict(previous or {})
    errors: list[DomainError] = []
    for key, raw in values.items():
        field = f"custom.{key}"
        attr = defs.get(key)
        if attr is None:
            errors.append(DomainError(ErrorCode.INVALID, _("Unknown custom attribute “%(key)s”.") % {"key": key}, field))
            continue
        if raw in (None, ""):
            out.pop(key, None)
            continue
        try:
            out[key] = _coerce_attribute(attr, raw, field)
        except DomainError as exc:
            errors.append(exc)
    for attr in defs.values():
        if attr.required and out.get(attr.key) in (None, ""):
            errors.append(DomainError(ErrorCode.REQUIRED, _("%(label)s is required.") % {"label": attr.label}, f"custom.{attr.key}"))
    if errors:
        raise ValidationFailed(errors)
    return out


def _coerce_attribute(attr: CustomAttribute, raw: Any, field: str) -> Any:
    if attr.type == CustomAttribute.Type.NUMBER:
        try:
            return float(decimal.Decimal(str(raw)))
        except (decimal.InvalidOperation, ValueError):
            raise DomainError(ErrorCode.INVALID, _("%(label)s must be a number.") % {"label": attr.label}, field) from None
    if attr.type == CustomAttribute.Type.DATE:
        return parse_date(raw, field=field).isoformat()
    if attr.type == CustomAttribute.Type.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "y", "是", "on"}:
            return True
        if text in {"0", "false", "no", "n", "否", "off"}:
            return False
        raise DomainError(ErrorCode.INVALID, _("%(label)s must be yes or no.") % {"label": attr.label}, field)
    if attr.type == CustomAttribute.Type.CHOICE:
        if str(raw) not in [str(c) for c in attr.choices]:
            raise DomainError(ErrorCode.INVALID, _("%(label)s must be one of: %(choices)s.") % {
                "label": attr.label, "choices": ", ".join(map(str, attr.choices))}, field)
        return str(raw)
    text = str(raw).strip()
    if len(text) > 500:
        raise DomainError(ErrorCode.INVALID, _("%(label)s is too long.") % {"label": attr.label}, field)
    return text


def _apply_name(customer: Customer) -> None:
    customer.name_pinyin, customer.name_initials = pinyin_keys(customer.name)
    customer.name_pinyin = customer.name_pinyin[:200]
    customer.name_initials = customer.name_initials[:60]


def _check_still_visible(actor, customer: Customer) -> None:
    """After a write, the actor must still see the record; otherwise the transaction rolls back."""
    if not CustomerScope.for_user(actor).contains(customer.pk):
        raise DomainError(ErrorCode.PERMISSION_DENIED,
                          _("This change would move the customer out of what you may see."), "owner_id")


def create_customer(*, actor, data: dict[str, Any], mobile: str = "", email: str = "",
                    source: str = "", external_id: str | None = None, tags: list[str] | None = None) -> Customer:
    """Create a customer with optional primary mobile and email (and tags, in the same transaction).

    A sales rep's new customer is owned by them and their team unless they name another owner they can see.
    """
    perms.require(actor, perms.CHANGE_CUSTOMERS)
    data = dict(data)
    if "name" not in data:
        data["name"] = ""
    contact_errors: list[DomainError] = []
    try:
        clean = _clean_profile(data)
    except ValidationFailed as exc:
        # Check the contact fields too, so a form shows every mistake at once.
        clean = {}
        contact_errors.extend(exc.errors)
    phone = em = ""
    if mobile:
        try:
            phone = normalize_phone(mobile, field="mobile")
        except DomainError as exc:
            contact_errors.append(exc)
    if email:
        try:
            em = normalize_email(email, field="email")
        except DomainError as exc:
            contact_errors.append(exc)
    if contact_errors:
        raise ValidationFailed(contact_errors)
    if "custom" not in clean:
        clean["custom"] = clean_custom_attributes({})
    clean.setdefault("owner_id", actor.pk)
    clean.setdefault("team_id", getattr(actor, "team_id", None))
    # Entered here, the customer relationship starts today unless the caller knows an earlier date.
    if clean.get("customer_since") is None:
        clean["customer_since"] = timezone.localdate()
    with transaction.atomic():
        customer = Customer(**clean, source=source, external_id=external_id)
        _apply_name(customer)
        try:
            with transaction.atomic():
                customer.save()
        except IntegrityError:
            raise DomainError(ErrorCode.DUPLICATE, _("A customer with this member number or external id exists."),
                              "member_number") from None
        if phone:
            _add_contact(customer, ContactPoint.Kind.MOBILE, mobile, phone, primary=True)
        if em:
            _add_contact(customer, ContactPoint.Kind.EMAIL, email, em, primary=True)
        _check_still_visible(actor, customer)
        after = snapshot(customer)
        audit(actor=actor, action="customer.create", obj=customer, customer_id=customer.pk, after=after)
        record_event(customer_id=customer.pk, kind=Interaction.Kind.PROFILE, actor=actor,
                     subject=deferred(gettext_noop("Customer created")),
                     payload={"fields": sorted(k for k, v in after.items() if v)})
        if tags:
            set_tags(actor=actor, customer_id=customer.pk, names=tags)
    return customer


def update_customer(*, actor, customer_id: int, data: dict[str, Any], tags: list[str] | None = None) -> Customer:
    """Change profile fields (and, when `tags` is given, replace the tags in the same transaction).
    Only what changed is audited and put on the timeline."""
    perms.require(actor, perms.CHANGE_CUSTOMERS)
    with transaction.atomic():
        customer = _update_profile(actor=actor, customer_id=customer_id, data=data)
        if tags is not None:
            set_tags(actor=actor, customer_id=customer.pk, names=tags)
    return customer


def _update_profile(*, actor, customer_id: int, data: dict[str, Any]) -> Customer:
    with transaction.atomic():
        customer = get_customer_for(actor, customer_id)
        if customer.is_archived:
            raise DomainError(ErrorCode.CONFLICT, _("This customer is archived; restore it first."))
        if data.get("organization_id") and int(data["organization_id"]) == customer.pk:
            raise ValidationFailed([DomainError(ErrorCode.INVALID, _("A customer cannot belong to itself."), "organization_id")])
        clean = _clean_profile(data, instance=customer)
        before = snapshot(customer)
        for key, value in clean.items():
            setattr(customer, key, value)
        if "name" in clean:
            _apply_name(customer)
        after = snapshot(customer)
        old, new = diff(before, after)
        if not new:
            return customer
        customer.save()
        _check_still_visible(actor, customer)
        audit(actor=actor, action="customer.update", obj=customer, customer_id=customer.pk, before=old, after=new)
        if "owner_id" in new:
            notices.owner_changed(customer, actor=actor)
        record_event(customer_id=customer.pk, kind=Interaction.Kind.PROFILE, actor=actor,
                     subject=deferred(gettext_noop("Profile updated: %(fields)s"),
                                      fields=refs("customers.customer.field", sorted(new))),
                     payload={"before": old, "after": new})
    return customer


def archive_customer(*, actor, customer_id: int, restore: bool = False) -> Customer:
    """Archive (hide from lists, keep every fact) or restore a customer."""
    perms.require(actor, perms.ARCHIVE_CUSTOMERS)
    with transaction.atomic():
        customer = get_customer_for(actor, customer_id)
        before = customer.archived_at
        customer.archived_at = None if restore else (customer.archived_at or timezone.now())
        if customer.archived_at == before:
            return customer
        customer.save(update_fields=["archived_at", "updated_at"])
        action = "customer.restore" if restore else "customer.archive"
        audit(actor=actor, action=action, obj=customer, customer_id=customer.pk,
              before={"archived_at": before}, after={"archived_at": customer.archived_at})
        record_event(customer_id=customer.pk, kind=Interaction.Kind.PROFILE, actor=actor,
                     subject=deferred(gettext_noop("Customer restored") if restore
                                      else gettext_noop("Customer archived")))
    return customer


def _normalize_contact(kind: str, value: str) -> str:
    if kind in (ContactPoint.Kind.MOBILE, ContactPoint.Kind.LANDLINE):
        return normalize_phone(value, field="value")
    if kind == ContactPoint.Kind.EMAIL:
        return normalize_email(value, field="value")
    if kind == ContactPoint.Kind.WECHAT:
        text = value.strip()
        if not 2 <= len(text) <= 40:
            raise DomainError(ErrorCode.INVALID, _("A WeChat ID has 2 to 40 characters."), "value")
        return text.lower()
    return ""


def _add_contact(customer: Customer, kind: str, raw: str, normalized: str, *, primary: bool, **address) -> ContactPoint:
    value = normalized if kind in (ContactPoint.Kind.MOBILE, ContactPoint.Kind.LANDLINE, ContactPoint.Kind.EMAIL) else raw.strip()
    cp = ContactPoint.objects.create(customer=customer, kind=kind, value=value, value_normalized=normalized,
                                     is_primary=primary, **address)
    if primary:
        _set_primary(customer, cp)
    return cp


def _set_primary(customer: Customer, cp: ContactPoint) -> None:
    ContactPoint.objects.filter(customer=customer, kind=cp.kind, is_primary=True).exclude(pk=cp.pk).update(is_primary=False)
    fields = []
    if cp.kind == ContactPoint.Kind.MOBILE:
        customer.mobile = cp.value
        fields.append("mobile")
    elif cp.kind == ContactPoint.Kind.EMAIL:
        customer.email = cp.value
        fields.append("email")
    elif cp.kind == ContactPoint.Kind.ADDRESS:
        customer.province, customer.city = cp.province, cp.city
        fields += ["province", "city"]
    if fields:
        customer.save(update_fields=[*fields, "updated_at"])


ADDRESS_FIELDS = ("province", "city", "district", "postal_code")


def add_contact_point(*, actor, customer_id: int, kind: str, value: str, label: str = "", is_primary: bool | None = None,
                      **address: str) -> ContactPoint:
    """Add a phone, email, WeChat ID or address. The first of its kind becomes primary."""
    perms.require(actor, perms.CHANGE_CUSTOMERS)
    if kind not in ContactPoint.Kind.values:
        raise ValidationFailed([DomainError(ErrorCode.INVALID, _("Unknown contact kind."), "kind")])
    if not (value or "").strip():
        raise ValidationFailed([DomainError(ErrorCode.REQUIRED, _("A value is required."), "value")])
    if len(value) > 300:
        raise ValidationFailed([DomainError(ErrorCode.INVALID, _("Value is too long."), "value")])
    address = {k: (address.get(k) or "").strip()[:60] for k in ADDRESS_FIELDS}
    try:
        normalized = _normalize_contact(kind, value)
    except DomainError as exc:
        raise ValidationFailed([exc]) from None
    with transaction.atomic():
        customer = get_customer_for(actor, customer_id)
        if normalized and ContactPoint.objects.filter(customer=customer, kind=kind, value_normalized=normalized).exists():
            raise ValidationFailed([DomainError(ErrorCode.DUPLICATE, _("This customer already has that contact."), "value")])
        first = not ContactPoint.objects.filter(customer=customer, kind=kind).exists()
        primary = first if is_primary is None else (is_primary or first)
        cp = _add_contact(customer, kind, value, normalized, primary=primary, **address)
        if label:
            cp.label = label[:40]
            cp.save(update_fields=["label"])
        audit(actor=actor, action="contact.create", obj=cp, customer_id=customer.pk, after=snapshot(cp))
        record_event(customer_id=customer.pk, kind=Interaction.Kind.PROFILE, actor=actor,
                     subject=deferred(gettext_noop("Contact added: %(kind)s"),
                                      kind=ref("customers.contact.kind", cp.kind)),
                     payload={"contact_point_id": cp.pk, "kind": kind})
    return cp


def update_contact_point(*, actor, customer_id: int, contact_id: int, data: dict[str, Any]) -> ContactPoint:
    """Change a contact point's value, label, status or primary flag."""
    perms.require(actor, perms.CHANGE_CUSTOMERS)
    with transaction.atomic():
        customer = get_customer_for(actor, customer_id)
        cp = ContactPoint.objects.filter(customer=customer, pk=contact_id).first()
        if cp is None:
            raise NotFound()
        before = snapshot(cp)
        if "value" in data and data["value"] is not None:
            try:
                normalized = _normalize_contact(cp.kind, data["value"])
            except DomainError as exc:
                raise ValidationFailed([exc]) from None
            cp.value_normalized = normalized
            cp.value = normalized if cp.kind in ("mobile", "landline", "email") else data["value"].strip()
        if "label" in data and data["label"] is not None:
            cp.label = str(data["label"])[:40]
        if data.get("status"):
            if data["status"] not in ContactPoint.Status.values:
                raise ValidationFailed([DomainError(ErrorCode.INVALID, _("Unknown status."), "status")])
            cp.status = data["status"]
        for k in ADDRESS_FIELDS:
            if k in data and data[k] is not None:
                setattr(cp, k, str(data[k]).strip()[:60])
        if data.get("is_primary"):
            cp.is_primary = True
        cp.save()
        if cp.is_primary:
            _set_primary(customer, cp)
        old, new = diff(before, snapshot(cp))
        if new:
            audit(actor=actor, action="contact.update", obj=cp, customer_id=customer.pk, before=old, after=new)
            record_event(customer_id=customer.pk, kind=Interaction.Kind.PROFILE, actor=actor,
                         subject=deferred(gettext_noop("Contact changed: %(kind)s"),
                                          kind=ref("customers.contact.kind", cp.kind)),
                         payload={"contact_point_id": cp.pk, "fields": sorted(new)})
    return cp


def remove_contact_point(*, actor, customer_id: int, contact_id: int) -> None:
    perms.require(actor, perms.CHANGE_CUSTOMERS)
    with transaction.atomic():
        customer = get_customer_for(actor, customer_id)
        cp = ContactPoint.objects.filter(customer=customer, pk=contact_id).first()
        if cp is None:
            raise NotFound()
        before = snapshot(cp)
        cp.delete()
        if cp.is_primary:
            successor = ContactPoint.objects.filter(customer=customer, kind=cp.kind).order_by("id").first()
            if successor is not None:
                successor.is_primary = True
                successor.save(update_fields=["is_primary"])
                _set_primary(customer, successor)
            elif cp.kind in ("mobile", "email"):
                setattr(customer, cp.kind, "")
                customer.save(update_fields=[cp.kind, "updated_at"])
        audit(actor=actor, action="contact.delete", object_type="customers.contactpoint", object_id=contact_id,
              customer_id=customer.pk, before=before)
        record_event(customer_id=customer.pk, kind=Interaction.Kind.PROFILE, actor=actor,
                     subject=deferred(gettext_noop("Contact removed: %(kind)s"),
                                      kind=ref("customers.contact.kind", cp.kind)))


def set_consent(*, actor, customer_id: int, channel: str, purpose: str, status: str, source: str = "",
                decided_at: dt.datetime | None = None) -> Consent:
    """Record a consent decision for (channel, purpose). The latest decision replaces the previous one;
    the history stays in the timeline and audit log."""
    perms.require(actor, perms.CHANGE_CUSTOMERS)
    errors = []
    if channel not in Consent.Channel.values:
        errors.append(DomainError(ErrorCode.INVALID, _("Unknown channel."), "channel"))
    if purpose not in Consent.Purpose.values:
        errors.append(DomainError(ErrorCode.INVALID, _("Unknown purpose."), "purpose"))
    if status not in Consent.Status.values:
        errors.append(DomainError(ErrorCode.INVALID, _("Status must be granted or withdrawn."), "status"))
    if decided_at is not None and decided_at > timezone.now() + dt.timedelta(minutes=5):
        errors.append(DomainError(ErrorCode.INVALID_DATE, _("A consent decision cannot be in the future."), "decided_at"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        customer = get_customer_for(actor, customer_id)
        consent = Consent.objects.filter(customer=customer, channel=channel, purpose=purpose).first()
        before = snapshot(consent) if consent else None
        if consent is None:
            consent = Consent(customer=customer, channel=channel, purpose=purpose)
        consent.status = status
        consent.source = (source or "")[:60]
        consent.decided_at = decided_at or timezone.now()
        consent.save()
        audit(actor=actor, action="consent.set", obj=consent, customer_id=customer.pk, before=before,
              after=snapshot(consent))
        record_event(customer_id=customer.pk, kind=Interaction.Kind.CONSENT, actor=actor,
                     subject=deferred(gettext_noop("Consent %(status)s: %(channel)s / %(purpose)s"),
                                      status=ref("customers.consent.status", consent.status),
                                      channel=ref("customers.consent.channel", consent.channel),
                                      purpose=ref("customers.consent.purpose", consent.purpose)),
                     payload={"channel": channel, "purpose": purpose, "status": status, "source": source},
                     occurred_at=consent.decided_at)
    return consent


def log_interaction(*, actor, customer_id: int, kind: str, subject: str = "", body: str = "", direction: str = "",
                    occurred_at: dt.datetime | None = None) -> Interaction:
    """Staff log a call, visit, email, SMS, WeChat message or note on the timeline."""
    perms.require(actor, perms.CHANGE_CUSTOMERS)
    errors = []
    if kind not in Interaction.MANUAL_KINDS:
        errors.append(DomainError(ErrorCode.INVALID, _("Kind must be one of: %(kinds)s.") % {
            "kinds": ", ".join(Interaction.MANUAL_KINDS)}, "kind"))
    if direction not in Interaction.Direction.values:
        errors.append(DomainError(ErrorCode.INVALID, _("Direction must be in or out."), "direction"))
    if not (subject or "").strip() and not (body or "").strip():
        errors.append(DomainError(ErrorCode.REQUIRED, _("Write a subject or details."), "subject"))
    if len(subject or "") > 200:
        errors.append(DomainError(ErrorCode.INVALID, _("Subject is longer than 200 characters."), "subject"))
    if occurred_at is not None and occurred_at > timezone.now() + dt.timedelta(days=1):
        errors.append(DomainError(ErrorCode.INVALID_DATE, _("An interaction cannot be in the future."), "occurred_at"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        customer = get_customer_for(actor, customer_id)
        row = record_event(customer_id=customer.pk, kind=kind, actor=actor, subject=subject.strip(), body=body.strip(),
                           occurred_at=occurred_at, direction=direction)
        audit(actor=actor, action="interaction.create", obj=row, customer_id=customer.pk,
              after={"kind": kind, "subject": subject})
        notices.interaction_mentions(row, actor=actor)
    return row


def set_tags(*, actor, customer_id: int, names: list[str]) -> list[Tag]:
    """Replace a customer's tags with `names`, creating tags that do not exist yet."""
    perms.require(actor, perms.CHANGE_CUSTOMERS)
    names = sorted({n.strip()[:50] for n in names if n and n.strip()})
    with transaction.atomic():
        customer = get_customer_for(actor, customer_id)
        before = sorted(customer.tags.values_list("name", flat=True))
        if before == names:
            return list(customer.tags.all())
        tags = []
        for name in names:
            tag, _created = Tag.objects.get_or_create(name=name)
            tags.append(tag)
        CustomerTag.objects.filter(customer=customer).exclude(tag__in=tags).delete()
        existing = set(CustomerTag.objects.filter(customer=customer).values_list("tag_id", flat=True))
        CustomerTag.objects.bulk_create([CustomerTag(customer=customer, tag=t) for t in tags if t.pk not in existing])
        audit(actor=actor, action="customer.tags", obj=customer, customer_id=customer.pk,
              before={"tags": before}, after={"tags": names})
        record_event(customer_id=customer.pk, kind=Interaction.Kind.PROFILE, actor=actor,
                     subject=deferred(gettext_noop("Tags: %(tags)s"), tags=", ".join(names) or "—"),
                     payload={"before": before, "after": names})
    return tags


def share_customer(*, actor, customer_id: int, team_id: int, unshare: bool = False) -> None:
    """Share a customer with a team so its sales reps can see it (or stop sharing)."""
    perms.require(actor, perms.CHANGE_CUSTOMERS)
    with transaction.atomic():
        customer = get_customer_for(actor, customer_id)
        team = Team.objects.filter(pk=team_id).first()
        if team is None:
            raise ValidationFailed([DomainError(ErrorCode.UNKNOWN_REFERENCE, _("No such team."), "team_id")])
        if unshare:
            CustomerShare.objects.filter(customer=customer, team=team).delete()
        else:
            CustomerShare.objects.get_or_create(customer=customer, team=team)
        audit(actor=actor, action="customer.unshare" if unshare else "customer.share", obj=customer,
              customer_id=customer.pk, after={"team_id": team.pk})


def define_attribute(*, actor, key: str, label: str, type: str, choices: list | None = None, required: bool = False,
                     help_text: str = "", position: int = 0, attribute_id: int | None = None) -> CustomAttribute:
    """Create or change an admin-defined custom attribute."""
    perms.require(actor, perms.MANAGE_ATTRIBUTES)
    errors = []
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,49}", key or ""):
        errors.append(DomainError(ErrorCode.INVALID, _("Key: lower-case letters, digits and _, starting with a letter."), "key"))
    if not (label or "").strip():
        errors.append(DomainError(ErrorCode.REQUIRED, _("Label is required."), "label"))
    if type not in CustomAttribute.Type.values:
        errors.append(DomainError(ErrorCode.INVALID, _("Unknown type."), "type"))
    choices = [str(c).strip() for c in (choices or []) if str(c).strip()]
    if type == CustomAttribute.Type.CHOICE and not choices:
        errors.append(DomainError(ErrorCode.REQUIRED, _("A choice attribute needs choices."), "choices"))
    if key and CustomAttribute.objects.filter(key=key).exclude(pk=attribute_id).exists():
        errors.append(DomainError(ErrorCode.DUPLICATE, _("That key is already used."), "key"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        attr = CustomAttribute.objects.filter(pk=attribute_id).first() if attribute_id else CustomAttribute()
        if attribute_id and attr is None:
            raise NotFound()
        before = snapshot(attr) if attr.pk else None
        attr.key, attr.label, attr.type, attr.choices = key, label.strip()[:100], type, choices
        attr.required, attr.help_text, attr.position = bool(required), (help_text or "")[:200], int(position or 0)
        attr.save()
        audit(actor=actor, action="attribute.save", obj=attr, before=before, after=snapshot(attr))
    return attr


def delete_attribute(*, actor, attribute_id: int) -> None:
    perms.require(actor, perms.MANAGE_ATTRIBUTES)
    with transaction.atomic():
        attr = CustomAttribute.objects.filter(pk=attribute_id).first()
        if attr is None:
            raise NotFound()
        audit(actor=actor, action="attribute.delete", obj=attr, before=snapshot(attr))
        attr.delete()


REVEALABLE_KINDS = ("mobile", "landline", "email", "wechat")


def may_reveal_contact(user, customer) -> bool:
    """Whether `user` may see this customer's unmasked phone numbers and e-mails, one at a time and audited,
    without the view-personal-data right: the customer's owner, and users an app names as working with the
    customer now (core.extensions.register_contact_reason: an open call or task of theirs). Everyone else keeps
    the masked form; users with view_pii see everything anyway."""
    if perms.can_view_pii(user):
        return True
    if not perms.has_perm(user, perms.VIEW_CUSTOMERS):
        return False
    if customer.owner_id == user.pk:
        return True
    return any(reason(user, customer.pk) for reason in extensions.CONTACT_REASONS)


def reveal_contact(*, actor, customer_id: int, contact_id: int):
    """One contact point of a visible customer, unmasked for a user who may reveal it (may_reveal_contact).
    Audited as `pii.reveal`; at most settings.PII_REVEALS_PER_HOUR per user and hour (429 `throttled` beyond).
    Returns the ContactPoint."""
    customer = get_customer_for(actor, customer_id)
    contact = ContactPoint.objects.filter(customer_id=customer.pk, pk=contact_id).first()
    if contact is None:
        raise NotFound()
    if contact.kind not in REVEALABLE_KINDS or not may_reveal_contact(actor, customer):
        raise PermissionDenied(_("Only the customer's owner and colleagues working with them now may see this."))
    limit = int(getattr(settings, "PII_REVEALS_PER_HOUR", 60))
    count = count_hit(f"pii-reveal:{actor.pk}:{timezone.now():%Y%m%d%H}", 3700)
    if count > limit:
        raise DomainError(ErrorCode.THROTTLED, _("Too many contacts shown this hour; try again later."))
    audit(actor=actor, action="pii.reveal", object_type="customers.contactpoint", object_id=contact.pk,
          customer_id=customer.pk, detail={"kind": contact.kind, "count_this_hour": count})
    return contact


def audit_pii_view(*, actor, customer_ids: list[int], context: str) -> None:
    """Record that a user with PII rights saw unmasked personal data of these customers.

    A list page is one row per view (which customers, how many). One customer's page is aggregated: one row per
    user, customer, page and local day, whose `views` counts the visits and `last_at` holds the latest, so an
    account manager opening a customer forty times a day leaves one row, not forty. These rows are in the audit
    log; the customer's change history leaves them out (queries.customer_audit)."""
    if not customer_ids or not perms.can_view_pii(actor):
        return
    if len(customer_ids) == 1:
        now = timezone.now()
        start = timezone.make_aware(dt.datetime.combine(timezone.localdate(now), dt.time.min))
        with transaction.atomic():
            # Today's rows of this user and customer are few (one per page kind): pick the page's in Python.
            todays = (AuditLog.objects.select_for_update()
                      .filter(action="pii.view", actor=actor, customer_id=customer_ids[0], at__gte=start)
                      .order_by("-id"))
            row = next((r for r in todays if (r.detail or {}).get("context") == context), None)
            if row is not None:
                row.detail = {**row.detail, "views": int(row.detail.get("views", 1)) + 1, "last_at": now.isoformat()}
                AuditLog.objects.filter(pk=row.pk).update(detail=row.detail)
                return
            audit(actor=actor, action="pii.view", object_type="customers.customer", object_id=customer_ids[0],
                  customer_id=customer_ids[0], detail={"context": context, "count": 1, "customer_ids": customer_ids,
                                                       "views": 1, "last_at": now.isoformat()})
        return
    audit(actor=actor, action="pii.view", object_type="customers.customer", customer_id=None,
          detail={"context": context, "count": len(customer_ids), "customer_ids": customer_ids[:200]})


def apply_purchase_totals(*, customer_id: int, orders: int, revenue: decimal.Decimal,
                          ordered_at: dt.datetime | None = None,
                          purchase_window: tuple[dt.datetime | None, dt.datetime | None] | None = None) -> None:
    """Move a customer's order totals by a delta (commerce services call this inside their transaction).

    `orders` and `revenue` may be negative (cancellations, returns). Counters move with F() so concurrent
    orders never lose an update; with `ordered_at` first/last purchase times only widen. A cancellation
    passes `purchase_window=(first, last)` recomputed from the remaining orders, which replaces both.
    """
    updates: dict[str, Any] = {"order_count": F("order_count") + orders, "revenue": F("revenue") + revenue}
    if ordered_at is not None:
        # Coalesce first: Greatest/Least with NULL differ between SQLite and PostgreSQL.
        updates["first_order_at"] = Least(Coalesce(F("first_order_at"), ordered_at), ordered_at)
        updates["last_order_at"] = Greatest(Coalesce(F("last_order_at"), ordered_at), ordered_at)
    if purchase_window is not None:
        updates["first_order_at"], updates["last_order_at"] = purchase_window
    if not CustomerStats.objects.filter(pk=customer_id).update(**updates):  # one UPDATE when the row is there
        _ensure_stats_rows([customer_id])
        CustomerStats.objects.filter(pk=customer_id).update(**updates)


def _ensure_stats_rows(customer_ids) -> None:
    """Make the totals rows of customers that lack one (every customer gets one when created; a row missing for
    any other reason must not lose an update silently). One INSERT that ignores the rows already there."""
    CustomerStats.objects.bulk_create([CustomerStats(customer_id=cid) for cid in customer_ids], ignore_conflicts=True)


def apply_purchase_totals_bulk(*, deltas: dict[int, tuple[int, decimal.Decimal, dt.datetime, dt.datetime]]) -> None:
    """Set-based `apply_purchase_totals` for many customers at once (imports): {customer_id: (orders, revenue,
    first ordered_at, last ordered_at)}. Same rules: counters move with F(), first/last purchase only widen.
    Call inside the caller's transaction. No reads: on SQLite one UPDATE per customer, on PostgreSQL one UPDATE
    for all of them, of the narrow CustomerStats rows (not the customer rows and their indexes); only when fewer
    rows changed than customers were given are the missing totals rows made (and updated).

    The UPDATE is the one `CustomerStats.objects.filter(pk=…).update(…)` compiles to; it is compiled once per kind of
    values and run for every customer with executemany (PostgreSQL: the same expressions once, over unnest() of
    the customers' values), with each customer's values adapted as Django adapts them (checked against Django's
    own parameters for the first customer; any difference falls back to one ORM update per customer)."""
    def update_values(orders, revenue, first, last) -> dict[str, Any]:
        return {"order_count": F("order_count") + orders, "revenue": F("revenue") + revenue,
                "first_order_at": Least(Coalesce(F("first_order_at"), first), first),
                "last_order_at": Greatest(Coalesce(F("last_order_at"), last), last)}

    db = CustomerStats.objects.db
    connection = connections[db]
    adapt_int, adapt_decimal = (f.get_db_prep_value for f in (IntegerField(), DecimalField()))
    adapt_time = column_value(DateTimeField(), connection)[0]

    def params(customer_id, orders, revenue, first, last) -> tuple:
        first, last = adapt_time(first), adapt_time(last)
        return (adapt_int(orders, connection), adapt_decimal(revenue, connection), first, first, last, last,
                customer_id)

    def apply(deltas) -> int:
        """Run the updates; returns how many totals rows they changed."""
        groups: dict[tuple[type, ...], list[tuple[int, tuple]]] = {}
        for customer_id, delta in deltas.items():
            groups.setdefault(tuple(type(x) for x in (customer_id, *delta)), []).append((customer_id, delta))
        changed = 0
        for items in groups.values():
            customer_id, delta = items[0]
            query = CustomerStats.objects.filter(pk=customer_id).query.chain(UpdateQuery)
            query.add_update_values(update_values(*delta))
            sql, expected = query.get_compiler(db).as_sql()
            mine = params(customer_id, *delta)
            if mine == tuple(expected) and [type(x) for x in mine] == [type(x) for x in expected]:
                with connection.cursor() as cur:
                    if connection.vendor == "postgresql" and len(items) > 1:
                        # One statement for the batch: the same expressions, each customer's values from arrays.
                        rows = [params(cid, *d) for cid, d in items]
                        cur.execute(_TOTALS_FROM_ARRAYS, [[r[6] for r in rows], [r[0] for r in rows],
                                                          [r[1] for r in rows], [r[2] for r in rows],
                                                          [r[4] for r in rows]])
                    else:
                        cur.executemany(sql, [params(cid, *d) for cid, d in items])
                    changed += cur.rowcount
                continue
            for cid, (orders, revenue, first, last) in items:  # values of other kinds: as the ORM writes them
                changed += CustomerStats.objects.filter(pk=cid).update(**update_values(orders, revenue, first, last))
        return changed

    if deltas and apply(deltas) < len(deltas):
        # Some customers had no totals row (every customer gets one when created; one missing for any other
        # reason must not lose its update): make those rows, then apply their updates. Checked by the count of
        # rows the updates changed, so the usual batch costs no extra statement.
        have = set()
        ids = list(deltas)
        for start in range(0, len(ids), 10_000):
            have.update(CustomerStats.objects.filter(pk__in=ids[start:start + 10_000]).values_list("pk", flat=True))
        # The rows that were there took their update above; the missing ones are made and updated now.
        missing = {cid: d for cid, d in deltas.items() if cid not in have}
        _ensure_stats_rows(missing)
        apply(missing)


# apply_purchase_totals_bulk on PostgreSQL: the UPDATE Django compiles for one customer (see above), for every
# customer of a batch at once, joined to unnest() of their values.
_TOTALS_FROM_ARRAYS = (
    'UPDATE "customers_customerstats" SET "order_count" = ("customers_customerstats"."order_count" + v.orders), '
    '"revenue" = ("customers_customerstats"."revenue" + v.revenue), '
    '"first_order_at" = LEAST(COALESCE("customers_customerstats"."first_order_at", v.first), v.first), '
    '"last_order_at" = GREATEST(COALESCE("customers_customerstats"."last_order_at", v.last), v.last) '
    'FROM unnest(%s::bigint[], %s::integer[], %s::numeric[], %s::timestamptz[], %s::timestamptz[]) '
    'AS v(id, orders, revenue, first, last) WHERE "customers_customerstats"."customer_id" = v.id')


def rewrite_event(*, kind: str, ref_type: str, ref_id: int, subject: str, payload) -> bool:
    """Rewrite the subject and payload of the timeline row recording `ref_type` `ref_id` (its first row of
    `kind`), when its record changed after it was written (an imported order completed by replayed lines).
    `payload(old payload) -> new payload`. Returns whether there was a row to rewrite. Call inside the caller's
    transaction."""
    event = Interaction.objects.filter(kind=kind, ref_type=ref_type, ref_id=ref_id).order_by("id").first()
    if event is None:
        return False
    Interaction.objects.filter(pk=event.pk).update(subject=subject[:200], payload=payload(event.payload or {}))
    return True


def record_events_bulk(*, events: list[dict[str, Any]], actor=None) -> int:
    """Write many timeline rows in one INSERT (imports). Each event has the keyword arguments of
    `events.record_event` (customer_id, kind, subject, body, payload, occurred_at, ref_type, ref_id,
    direction). Call inside the caller's transaction. Returns the number of rows written.

    Written through core.bulk (one prepared INSERT / COPY) with the column values bulk_create would write;
    the payload is encoded once, as json.dumps(jsonable(payload)) would encode it (a payload given as JsonText is
    that text already, written as is)."""
    now = timezone.now()
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    dumps = json.dumps

    def encoded(payload, subject) -> JsonText:
        if isinstance(subject, labels.Deferred):  # read in each reader's language (events.record_event)
            stored = subject.stored()
            if type(payload) is JsonText:
                inner = payload.strip()[1:-1].strip()
                key = dumps(labels.DEFERRED_KEY) + ": " + dumps(stored, default=_json_default)
                return JsonText("{" + key + (", " + inner if inner else "") + "}")
            payload = {**(payload or {}), labels.DEFERRED_KEY: stored}
        if type(payload) is JsonText:
            return payload
        return JsonText(dumps(payload or {}, default=_json_default))

    rows = [
        (e["customer_id"], e["kind"], e.get("direction", ""), e.get("occurred_at") or now, actor_id,
         (e.get("subject") or "")[:200], e.get("body", ""), encoded(e.get("payload"), e.get("subject")),
         e.get("ref_type", ""), e.get("ref_id"), e.get("source", ""), e.get("external_id"))
        for e in events
    ]
    return inserter(Interaction, _EVENT_FIELDS).insert(rows, now=now)


_EVENT_FIELDS = ("customer_id", "kind", "direction", "occurred_at", "actor_id", "subject", "body", "payload",
                 "ref_type", "ref_id", "source", "external_id")


def _json_default(value: Any) -> Any:
    """json.dumps(value, default=_json_default) == json.dumps(jsonable(value)): jsonable's conversions for the
    types json does not encode itself."""
    out = jsonable(value)
    if out is value:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
    return out


# ---------------------------------------------------------------------------------------------------------------
# Merging duplicate customers


@dataclass(frozen=True)
class MergeResult:
    """What a merge did. `snapshot` is everything `unmerge_customers` needs to undo it; `moved` counts rows."""

    survivor_id: int
    merged_ids: list[int]
    moved: dict[str, int]
    snapshot: dict[str, Any]
    changed_fields: list[str]


# Profile fields merged by survivorship; the others (owner, team, organization) stay the survivor's.
MERGE_FIELDS = ("name", "gender", "birth_date", "occupation", "income_band", "urban_rural", "id_number", "industry",
                "province", "city", "status")
# Status precedence: a customer active under any record is active.
_STATUS_RANK = {"active": 0, "inactive": 1, "prospect": 2, "lost": 3}
# Other apps' customer-owned rows (orders, tickets, scores, points ...) join a merge by registering functions:
# move(from_ids, to_id) -> JSON-able record of what moved (its optional "counts" {what: n} add to the merge's
# `moved`); restore(record) -> None; refresh(customer_ids) -> None recomputes what the app keeps on the customer
# (commerce: the purchase totals) after a merge or an unmerge.
MERGE_PARTICIPANTS: dict[str, tuple[Any, Any]] = {}
MERGE_REFRESH: dict[str, Any] = {}


def register_merge_participant(name: str, *, move, restore, refresh=None) -> None:
    """Let another app move its customer-owned rows on merge and back on unmerge (call from AppConfig.ready)."""
    MERGE_PARTICIPANTS[name] = (move, restore)
    if refresh is not None:
        MERGE_REFRESH[name] = refresh


def store_purchase_totals(*, customer_id: int, orders: int, revenue: decimal.Decimal, first_order_at,
                          last_order_at) -> None:
    """Set a customer's purchase totals as recomputed from their orders (commerce, after a merge or unmerge)."""
    CustomerStats.objects.update_or_create(customer_id=customer_id, defaults={
        "order_count": orders, "revenue": revenue, "first_order_at": first_order_at, "last_order_at": last_order_at})


def source_trust(source: str) -> int:
    """Rank of a record's source for survivorship: lower is more trusted. Settings IDENTITY_TRUSTED_SOURCES
    lists sources from most to least trusted; unlisted sources come after them."""
    order = list(getattr(settings, "IDENTITY_TRUSTED_SOURCES", ["", "crm", "pos", "import", "demo"]))
    return order.index(source) if source in order else len(order)


def _completeness(customer: Customer) -> int:
    return sum(1 for f in (*MERGE_FIELDS, "mobile", "email") if getattr(customer, f) not in (None, ""))


def survivorship_order(customers: list[Customer]) -> list[Customer]:
    """Records in the order their values win: trusted source first, then the most complete, then the most
    recently updated."""
    return sorted(customers, key=lambda c: (source_trust(c.source), -_completeness(c),
                                            -(c.updated_at.timestamp() if c.updated_at else 0), c.pk))


def _merged_profile(survivor: Customer, others: list[Customer]) -> dict[str, Any]:
    ranked = survivorship_order([survivor, *others])
    values: dict[str, Any] = {}
    for field in MERGE_FIELDS:
        if field == "status":
            values[field] = min((c.status for c in ranked), key=lambda s: _STATUS_RANK.get(s, 9))
            continue
        for c in ranked:
            value = getattr(c, field)
            if value not in (None, ""):
                values[field] = value
                break
    custom: dict[str, Any] = {}
    for c in reversed(ranked):
        custom.update(c.custom or {})
    values["custom"] = custom
    notes = []
    for c in ranked:
        if c.notes and c.notes not in notes:
            notes.append(c.notes)
    values["notes"] = "\n\n".join(notes)
    if not survivor.member_number:
        values["member_number"] = next((c.member_number for c in ranked if c.member_number), None)
    # One customer since the earliest of the records: an imported record often knows the real start.
    since = [c.customer_since for c in ranked if c.customer_since is not None]
    if since:
        values["customer_since"] = min(since)
    return values


def _row(obj) -> dict[str, Any]:
    return snapshot(obj, [f.attname for f in obj._meta.concrete_fields])


def merge_customers(*, survivor, duplicates, actor) -> MergeResult:
    """Merge `duplicates` into `survivor` (customers or ids) and archive them.

    Survivorship for profile fields: values come from the most trusted source, then the most complete record,
    then the most recently updated; status is the most active one. Every order, order line, return,
    interaction, contact point (deduplicated by normalized value), consent (the most recent decision per
    channel × purpose wins), tag, share and organization membership moves to the survivor; other apps' rows
    move through MERGE_PARTICIPANTS. Totals are recomputed. The result's snapshot undoes it
    (`unmerge_customers`). Preconditions: the actor may merge and sees every customer involved; none is
    archived; all are the same kind.
    """
    perms.require(actor, perms.MERGE)
    survivor_id = int(getattr(survivor, "pk", survivor))
    try:
        dup_ids = sorted({int(getattr(d, "pk", d)) for d in duplicates})
    except (TypeError, ValueError):
        raise ValidationFailed([DomainError(ErrorCode.INVALID, _("Not a valid customer id."), "duplicate_ids")]) from None
    if not dup_ids:
        raise ValidationFailed([DomainError(ErrorCode.REQUIRED, _("Choose at least one duplicate."), "duplicate_ids")])
    if survivor_id in dup_ids:
        raise ValidationFailed([DomainError(ErrorCode.INVALID, _("A customer cannot be merged into itself."),
                                            "duplicate_ids")])
    with transaction.atomic():
        found = {c.pk: c for c in visible_customers(actor).select_for_update().filter(pk__in=[survivor_id, *dup_ids])}
        if len(found) != len(dup_ids) + 1:
            raise NotFound()
        keep = found[survivor_id]
        dups = [found[i] for i in dup_ids]
        if any(c.is_archived for c in found.values()):
            raise DomainError(ErrorCode.CONFLICT, _("An archived customer cannot be merged; restore it first."))
        if any(c.kind != keep.kind for c in dups):
            raise ValidationFailed([DomainError(ErrorCode.INVALID, _("A person and an organization cannot be merged."),
                                                "duplicate_ids")])
        snap: dict[str, Any] = {"survivor_id": survivor_id, "merged_ids": dup_ids,
                                "profiles": {str(c.pk): _row(c) for c in found.values()}}
        moved: dict[str, int] = {}

        # Profile.
        values = _merged_profile(keep, dups)
        if values.get("member_number") and keep.member_number is None:
            Customer.objects.filter(pk__in=dup_ids, member_number=values["member_number"]).update(member_number=None)
        before = snapshot(keep)
        for key, value in values.items():
            setattr(keep, key, value)
        _apply_name(keep)

        # Transactions (commerce) and other apps' rows.
        snap["participants"] = {}
        for name, (move, _restore) in MERGE_PARTICIPANTS.items():
            record = snap["participants"][name] = move(dup_ids, survivor_id)
            moved.update(record.get("counts", {}) if isinstance(record, dict) else {})

        # Timeline rows (before this merge's own rows are written).
        snap["interactions"] = {str(i): list(Interaction.objects.filter(customer_id=i).values_list("id", flat=True))
                                for i in dup_ids}
        Interaction.objects.filter(customer_id__in=dup_ids).update(customer_id=survivor_id)
        moved["interactions"] = sum(len(v) for v in snap["interactions"].values())

        # Contact points: a value the survivor already has is dropped; the rest move, primary only if the
        # survivor has none of that kind.
        snap["contacts_moved"], snap["contacts_dropped"], snap["contacts_primary"] = {}, [], []
        have = {(cp.kind, cp.value_normalized or cp.value.strip()) for cp in ContactPoint.objects.filter(customer=keep)}
        primary_kinds = set(ContactPoint.objects.filter(customer=keep, is_primary=True).values_list("kind", flat=True))
        for cp in ContactPoint.objects.filter(customer_id__in=dup_ids).order_by("-is_primary", "id"):
            key = (cp.kind, cp.value_normalized or cp.value.strip())
            if key in have:
                snap["contacts_dropped"].append(_row(cp))
                cp.delete()
                continue
            have.add(key)
            snap["contacts_moved"].setdefault(str(cp.customer_id), []).append(cp.pk)
            if cp.is_primary and cp.kind in primary_kinds:
                snap["contacts_primary"].append(cp.pk)
                cp.is_primary = False
            cp.customer_id = survivor_id
            cp.save(update_fields=["customer", "is_primary"])
            if cp.is_primary:
                primary_kinds.add(cp.kind)
                _set_primary(keep, cp)
        moved["contact_points"] = sum(len(v) for v in snap["contacts_moved"].values())

        # Consent: the most recent decision per channel × purpose.
        snap["consents_moved"], snap["consents_dropped"], snap["consents_replaced"] = {}, [], []
        mine = {(c.channel, c.purpose): c for c in Consent.objects.filter(customer=keep)}
        for c in Consent.objects.filter(customer_id__in=dup_ids).order_by("-decided_at", "-id"):
            key = (c.channel, c.purpose)
            current = mine.get(key)
            if current is None:
                snap["consents_moved"].setdefault(str(c.customer_id), []).append(c.pk)
                c.customer_id = survivor_id
                c.save(update_fields=["customer", "updated_at"])
                mine[key] = c
                continue
            snap["consents_dropped"].append(_row(c))
            c.delete()
            if c.decided_at > current.decided_at:
                snap["consents_replaced"].append(_row(current))
                current.status, current.decided_at, current.source = c.status, c.decided_at, c.source
                current.save(update_fields=["status", "decided_at", "source", "updated_at"])
        moved["consents"] = sum(len(v) for v in snap["consents_moved"].values())

        # Tags and shares: union.
        for model, key_field, name in ((CustomerTag, "tag_id", "tags"), (CustomerShare, "team_id", "shares")):
            mine_keys = set(model.objects.filter(customer_id=survivor_id).values_list(key_field, flat=True))
            snap[f"{name}_moved"], snap[f"{name}_dropped"] = {}, []
            for row in model.objects.filter(customer_id__in=dup_ids).order_by("id"):
                value = getattr(row, key_field)
                if value in mine_keys:
                    snap[f"{name}_dropped"].append(_row(row))
                    row.delete()
                    continue
                mine_keys.add(value)
                snap[f"{name}_moved"].setdefault(str(row.customer_id), []).append(row.pk)
                model.objects.filter(pk=row.pk).update(customer_id=survivor_id)
        # People who belonged to a merged organization now belong to the survivor.
        snap["members"] = list(Customer.objects.filter(organization_id__in=dup_ids).values_list("id", "organization_id"))
        Customer.objects.filter(organization_id__in=dup_ids).update(organization_id=survivor_id)

        now = timezone.now()
        keep.save()
        Customer.objects.filter(pk__in=dup_ids).update(archived_at=now, updated_at=now)
        _refresh_totals([survivor_id, *dup_ids])
        _check_still_visible(actor, keep)

        after = snapshot(keep)
        old, new = diff(before, after)
        audit(actor=actor, action="customer.merge", obj=keep, customer_id=survivor_id, before=old, after=new,
              detail={"merged_ids": dup_ids, "moved": moved})
        record_event(customer_id=survivor_id, kind=Interaction.Kind.MERGE, actor=actor,
                     subject=deferred(gettext_noop("Duplicates merged into this customer: %(count)s"),
                                      count=len(dup_ids)),
                     payload={"merged_ids": dup_ids, "moved": moved, "fields": sorted(new)})
        for d in dups:
            audit(actor=actor, action="customer.merged_into", obj=d, customer_id=d.pk,
                  detail={"survivor_id": survivor_id})
            record_event(customer_id=d.pk, kind=Interaction.Kind.MERGE, actor=actor,
                         subject=deferred(gettext_noop("Merged into customer %(id)s"), id=survivor_id),
                         payload={"survivor_id": survivor_id})
    return MergeResult(survivor_id=survivor_id, merged_ids=dup_ids, moved=moved, snapshot=jsonable(snap),
                       changed_fields=sorted(new))


def _refresh_totals(customer_ids: list[int]) -> None:
    for refresh in MERGE_REFRESH.values():
        refresh(customer_ids)


def _recreate(model, rows: list[dict[str, Any]]) -> None:
    for data in rows:
        obj = model(**{k: v for k, v in data.items() if k not in ("created_at", "updated_at")})
        obj.save(force_insert=True)


def unmerge_customers(*, actor, snapshot: dict[str, Any]) -> list[int]:
    """Undo a merge from the snapshot `merge_customers` returned: the merged customers come back (unarchived)
    with their own profile, orders, interactions, contact points, consents, tags and shares; the survivor gets
    its profile and dropped consent decisions back; totals are recomputed. Rows added after the merge stay with
    the survivor. Returns the restored customer ids."""
    perms.require(actor, perms.MERGE)
    survivor_id = int(snapshot["survivor_id"])
    dup_ids = [int(i) for i in snapshot["merged_ids"]]
    with transaction.atomic():
        found = {c.pk: c for c in visible_customers(actor).select_for_update().filter(pk__in=[survivor_id, *dup_ids])}
        if len(found) != len(dup_ids) + 1:
            raise NotFound()
        profiles = snapshot["profiles"]
        participants = dict(snapshot.get("participants", {}))
        if "commerce" in snapshot:  # merges recorded before commerce joined as a participant
            participants.setdefault("commerce", snapshot["commerce"])
        for name, record in participants.items():
            if name in MERGE_PARTICIPANTS:
                MERGE_PARTICIPANTS[name][1](record)
        for cid, ids in snapshot.get("interactions", {}).items():
            Interaction.objects.filter(pk__in=ids).update(customer_id=int(cid))
        # Contact points, consents, tags, shares: move back what moved, recreate what was dropped.
        for cid, ids in snapshot.get("contacts_moved", {}).items():
            ContactPoint.objects.filter(pk__in=ids).update(customer_id=int(cid))
        ContactPoint.objects.filter(pk__in=snapshot.get("contacts_primary", [])).update(is_primary=True)
        _recreate(ContactPoint, snapshot.get("contacts_dropped", []))
        for cid, ids in snapshot.get("consents_moved", {}).items():
            Consent.objects.filter(pk__in=ids).update(customer_id=int(cid))
        for row in snapshot.get("consents_replaced", []):
            Consent.objects.filter(pk=row["id"]).update(status=row["status"], decided_at=row["decided_at"],
                                                        source=row["source"])
        _recreate(Consent, snapshot.get("consents_dropped", []))
        for model, name in ((CustomerTag, "tags"), (CustomerShare, "shares")):
            for cid, ids in snapshot.get(f"{name}_moved", {}).items():
                model.objects.filter(pk__in=ids).update(customer_id=int(cid))
            _recreate(model, snapshot.get(f"{name}_dropped", []))
        for member_id, org_id in snapshot.get("members", []):
            Customer.objects.filter(pk=member_id, organization_id=survivor_id).update(organization_id=org_id)
        # Profiles last (member numbers move back only after the survivor gives its borrowed one up).
        restorable = (*MERGE_FIELDS, "custom", "notes", "member_number", "name_pinyin", "name_initials", "mobile",
                      "email", "archived_at", "customer_since")
        order = [survivor_id, *dup_ids]
        for cid in order:
            data = profiles[str(cid)]
            customer = found[cid]
            for key in restorable:
                if key in data:
                    value = data[key]
                    if key in ("birth_date", "customer_since") and value:
                        value = dt.date.fromisoformat(value)
                    setattr(customer, key, value)
            customer.save()
        _refresh_totals(order)
        audit(actor=actor, action="customer.unmerge", obj=found[survivor_id], customer_id=survivor_id,
              detail={"restored_ids": dup_ids})
        for cid in order:
            record_event(customer_id=cid, kind=Interaction.Kind.MERGE, actor=actor,
                         subject=deferred(gettext_noop("Merge undone")) if cid == survivor_id
                         else deferred(gettext_noop("Restored from merge into %(id)s"), id=survivor_id),
                         payload={"survivor_id": survivor_id, "restored_ids": dup_ids})
    return dup_ids


# ---------------------------------------------------------------------------------------------------------------
# Handing over a leaving colleague's customers


def reassign_customers(*, actor, from_user, to_users, reason: str = "") -> dict[int, int]:
    """Give every customer `from_user` owns (archived ones too) to `to_users`, in turn by customer id, each with
    the new owner's team. Returns {customer_id: new owner id}. Precondition: the actor may change customers and
    sees every one of them; otherwise nothing moves (a half-done hand-over would leave customers behind)."""
    perms.require(actor, perms.CHANGE_CUSTOMERS)
    targets = [u for u in to_users if u.pk != from_user.pk]
    if not targets:
        raise ValidationFailed([DomainError(ErrorCode.REQUIRED, _("Choose at least one colleague to take over."),
                                            "to_user_ids")])
    with transaction.atomic():
        ids = list(Customer.objects.select_for_update().filter(owner_id=from_user.pk).order_by("pk")
                   .values_list("pk", flat=True))
        if not ids:
            return {}
        if visible_customers(actor).filter(pk__in=ids).count() != len(ids):
            raise DomainError(ErrorCode.PERMISSION_DENIED, _("Some of these customers are outside what you may "
                                                             "see; ask an administrator to hand them over."),
                              "from_user_id")
        mapping = {cid: targets[i % len(targets)].pk for i, cid in enumerate(ids)}
        now = timezone.now()
        for user in targets:
            mine = [cid for cid, uid in mapping.items() if uid == user.pk]
            Customer.objects.filter(pk__in=mine).update(owner_id=user.pk, team_id=user.team_id or None,
                                                        updated_at=now)
        AuditLog.objects.bulk_create([
            AuditLog(actor=actor, action="customer.reassign", object_type="customers.customer", object_id=str(cid),
                     customer_id=cid, before={"owner_id": from_user.pk}, after={"owner_id": uid},
                     detail={"reason": reason} if reason else {})
            for cid, uid in mapping.items()])
        names = {u.pk: str(u) for u in targets}
        record_events_bulk(events=[
            {"customer_id": cid, "kind": Interaction.Kind.PROFILE,
             "subject": _("Owner changed from %(old)s to %(new)s") % {"old": str(from_user), "new": names[uid]},
             "payload": {"before": {"owner_id": from_user.pk}, "after": {"owner_id": uid}, "reason": reason}}
            for cid, uid in mapping.items()], actor=actor)
        notices.customers_handed_over(mapping, actor=actor, from_user=from_user, reason=reason)
    return mapping
