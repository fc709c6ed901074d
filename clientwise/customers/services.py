"""Customer operations. The only code that writes customer rows; pages, API, imports and CLI call these.

Every service takes keyword-only arguments with the acting user, checks the actor's permission and record
visibility, runs in one transaction, writes the audit log and a timeline row.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clientwise.core import permissions as perms
from clientwise.core.audit import audit, diff, snapshot
from clientwise.core.errors import DomainError, ErrorCode, NotFound, ValidationFailed
from clientwise.core.normalize import normalize_email, normalize_phone, parse_date, pinyin_keys
from clientwise.customers.events import record_event
from clientwise.customers.models import (
    Consent,
    ContactPoint,
    CustomAttribute,
    Customer,
    CustomerShare,
    CustomerTag,
    Interaction,
    Tag,
)
from clientwise.customers.queries import get_customer_for, visible_customers

# Fields a create/update may set directly (the rest are derived or owned by other services).
PROFILE_FIELDS = (
    "kind", "name", "member_number", "status", "owner_id", "team_id", "organization_id", "gender", "birth_date",
    "occupation", "income_band", "urban_rural", "id_number", "industry", "province", "city", "notes", "custom",
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
            if len(value) > 200:
                errors.append(DomainError(ErrorCode.INVALID, _("Name is longer than 200 characters."), "name"))
                continue
        elif key == "member_number":
            value = value or None
            if value and len(value) > 40:
                errors.append(DomainError(ErrorCode.INVALID, _("Member number is longer than 40 characters."), key))
                continue
            if value and Customer.objects.filter(member_number=value).exclude(pk=getattr(instance, "pk", None)).exists():
                errors.append(DomainError(ErrorCode.DUPLICATE, _("Member number %(value)s is already used.") % {"value": value}, key))
                continue
        elif key == "birth_date":
            if value in (None, ""):
                value = None
            else:
                try:
                    value = parse_date(value, field=key)
                except DomainError as exc:
                    errors.append(exc)
                    continue
                if value > timezone.localdate() or value.year < 1900:
                    errors.append(DomainError(ErrorCode.INVALID_DATE, _("Birth date is out of range."), key))
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
        if isinstance(value, str) and key not in ("name", "notes") and len(value) > 100:
            errors.append(DomainError(ErrorCode.INVALID, _("Value is too long."), key))
            continue
        clean[key] = value
    if errors:
        raise ValidationFailed(errors)
    return clean


def _reference_exists(key: str, value: int) -> bool:
    from clientwise.accounts.models import Team, User

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
    if not visible_customers(actor).filter(pk=customer.pk).exists():
        raise DomainError(ErrorCode.PERMISSION_DENIED,
                          _("This change would move the customer out of what you may see."), "owner_id", status=403)


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
    with transaction.atomic():
        customer = Customer(**clean, source=source, external_id=external_id)
        _apply_name(customer)
        try:
            with transaction.atomic():
                customer.save()
        except IntegrityError:
            raise DomainError(ErrorCode.DUPLICATE, _("A customer with this member number or external id exists."),
                              "member_number", status=409) from None
        if phone:
            _add_contact(customer, ContactPoint.Kind.MOBILE, mobile, phone, primary=True)
        if em:
            _add_contact(customer, ContactPoint.Kind.EMAIL, email, em, primary=True)
        _check_still_visible(actor, customer)
        after = snapshot(customer)
        audit(actor=actor, action="customer.create", obj=customer, customer_id=customer.pk, after=after)
        record_event(customer_id=customer.pk, kind=Interaction.Kind.PROFILE, actor=actor,
                     subject=_("Customer created"), payload={"fields": sorted(k for k, v in after.items() if v)})
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
            raise DomainError(ErrorCode.CONFLICT, _("This customer is archived; restore it first."), status=409)
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
        record_event(customer_id=customer.pk, kind=Interaction.Kind.PROFILE, actor=actor,
                     subject=_("Profile updated: %(fields)s") % {"fields": ", ".join(sorted(new))},
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
                     subject=_("Customer restored") if restore else _("Customer archived"))
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
                     subject=_("Contact added: %(kind)s") % {"kind": cp.get_kind_display()},
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
                         subject=_("Contact changed: %(kind)s") % {"kind": cp.get_kind_display()},
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
                     subject=_("Contact removed: %(kind)s") % {"kind": cp.get_kind_display()})


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
                     subject=_("Consent %(status)s: %(channel)s / %(purpose)s") % {
                         "status": consent.get_status_display(), "channel": consent.get_channel_display(),
                         "purpose": consent.get_purpose_display()},
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
                     subject=_("Tags: %(tags)s") % {"tags": ", ".join(names) or "—"},
                     payload={"before": before, "after": names})
    return tags


def share_customer(*, actor, customer_id: int, team_id: int, unshare: bool = False) -> None:
    """Share a customer with a team so its sales reps can see it (or stop sharing)."""
    from clientwise.accounts.models import Team

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
    import re

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


def audit_pii_view(*, actor, customer_ids: list[int], context: str) -> None:
    """Record that a user with PII rights saw unmasked personal data of these customers in bulk."""
    if not customer_ids or not perms.can_view_pii(actor):
        return
    audit(actor=actor, action="pii.view", object_type="customers.customer",
          customer_id=customer_ids[0] if len(customer_ids) == 1 else None,
          detail={"context": context, "count": len(customer_ids), "customer_ids": customer_ids[:200]})


def audit_export(*, actor, filters: dict[str, Any], count: int, masked: bool) -> None:
    """Record a customer export (who, which filter, how many rows, whether PII was masked)."""
    perms.require(actor, perms.EXPORT)
    audit(actor=actor, action="export.customers", object_type="customers.customer",
          detail={"filters": filters, "count": count, "masked": masked})


def apply_purchase_totals(*, customer_id: int, orders: int, revenue: decimal.Decimal,
                          ordered_at: dt.datetime | None = None,
                          purchase_window: tuple[dt.datetime | None, dt.datetime | None] | None = None) -> None:
    """Move a customer's order totals by a delta (commerce services call this inside their transaction).

    `orders` and `revenue` may be negative (cancellations, returns). Counters move with F() so concurrent
    orders never lose an update; with `ordered_at` first/last purchase times only widen. A cancellation
    passes `purchase_window=(first, last)` recomputed from the remaining orders, which replaces both.
    """
    from django.db.models import F
    from django.db.models.functions import Greatest, Least

    updates: dict[str, Any] = {"order_count": F("order_count") + orders, "revenue": F("revenue") + revenue}
    if ordered_at is not None:
        # Coalesce first: Greatest/Least with NULL differ between SQLite and PostgreSQL.
        from django.db.models.functions import Coalesce

        updates["first_order_at"] = Least(Coalesce(F("first_order_at"), ordered_at), ordered_at)
        updates["last_order_at"] = Greatest(Coalesce(F("last_order_at"), ordered_at), ordered_at)
    if purchase_window is not None:
        updates["first_order_at"], updates["last_order_at"] = purchase_window
    Customer.objects.filter(pk=customer_id).update(**updates)
