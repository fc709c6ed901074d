"""The customers and interactions import kinds: customers' writers on dataio's import engine (registered from
CustomersConfig.ready(); dataio/handlers.py keeps the engine: rows, the handler base, customer references).

Customers are written set-based per batch (one query per lookup, bulk inserts and updates); the rules a
row meets are customers.services' where they exist (custom attributes, purchase totals, timeline events) and the
shared validators of dataio.validation otherwise. Interactions land on the timeline, keyed by external id or a
hash of their content.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import (
    gettext_lazy,  # under its own name, so makemessages finds the kind labels
    gettext_noop,
)

from clientwise.core import permissions as perms
from clientwise.core.bulk import JsonText, inserter, reserve_ids
from clientwise.core.errors import DomainError, ErrorCode, PermissionDenied, ValidationFailed
from clientwise.core.labels import deferred, ref, refs
from clientwise.core.normalize import pinyin_keys
from clientwise.customers import rules
from clientwise.customers.errors import CustomersErrorCode
from clientwise.customers.models import Consent, ContactPoint, Customer, CustomerStats, Interaction
from clientwise.customers.queries import visible_customers
from clientwise.customers.scope import CustomerScope
from clientwise.customers.services import clean_custom_attributes, record_events_bulk
from clientwise.dataio import validation as v
from clientwise.dataio.errors import DataioErrorCode
from clientwise.dataio.handlers import (
    CustomerRefs,
    Handler,
    Row,
    _chunks,
    _cid,
    _email,
    _in,
    _pairs,
    _phone,
    key_for,
    plan_for,
    run_plan,
    settle_repeat,
    signature,
)
from clientwise.dataio.mapping import NATURAL_KEYS, TARGETS
from clientwise.dataio.registry import HANDLERS, ImportKindSpec, register  # noqa: F401  (HANDLERS: the lookup)

PROFILE = ("name", "member_number", "gender", "birth_date", "province", "city", "occupation", "id_number", "status",
           "notes", "customer_since", "source_created_at", "source_updated_at")
NEW_PROFILE = tuple(name for name in PROFILE if name not in ("name", "member_number"))
# Columns of a new customer row, in the order CustomerHandler builds them (then NEW_PROFILE).
NEW_CUSTOMER_FIELDS = ("id", "name", "name_pinyin", "name_initials", "member_number", "source", "external_id",
                       "owner_id", "team_id", "custom", "mobile", "email", *NEW_PROFILE)
# A row's street address and postcode go on the customer's postal-address contact point (with its province and
# city), not on the profile: a customer may have several addresses.
ADDRESS_FIELDS = ("address", "postal_code")
CONSENT_CHANNELS = {"consent_sms": "sms", "consent_email": "email", "consent_phone": "phone",
                    "consent_wechat": "wechat"}


# (field, check, keyword arguments), in the order a row's errors are listed.
CUSTOMER_FIELDS: tuple[tuple[str, Any, dict], ...] = (
    ("name", v.text, {"max_length": rules.max_length("name"), "label": gettext_lazy("Name")}),
    ("external_id", v.text, {"max_length": rules.max_length("external_id")}),
    ("member_number", v.text, {"max_length": rules.max_length("member_number"), "label": gettext_lazy("Member number")}),
    ("mobile", _phone, {}),
    ("email", _email, {}),
    ("gender", v.choice, {"table": v.GENDERS}),
    ("birth_date", v.birth_date, {}),
    *((name, v.text, {"max_length": rules.max_length(name)})
      for name in ("province", "city", "address", "postal_code", "occupation", "id_number")),
    ("status", v.choice, {"table": v.STATUSES}),
    ("notes", v.text, {"max_length": rules.max_length("notes")}),
    ("customer_since", v.since_date, {}),
    ("source_created_at", v.moment, {}),
    ("source_updated_at", v.moment, {}),
    *((name, v.yes_no, {}) for name in CONSENT_CHANNELS),
)


class CustomerHandler(Handler):
    kind = "customers"
    perm = perms.CHANGE_CUSTOMERS

    def __init__(self, *, job, actor):
        super().__init__(job=job, actor=actor)
        self.key = key_for(job.kind, job.mapping, job.options)
        # The per-field checks of the mapped fields only, in CUSTOMER_FIELDS order (the order errors are listed).
        self.plan = plan_for(self.mapping, CUSTOMER_FIELDS)
        # Birth dates and "customer since" are checked against today's date, read once per batch (process() sets it).
        self.today: dict[str, Any] = {}
        self.plan = [(name, fn, self.today if fn in (v.birth_date, v.since_date) else kwargs, max_length)
                     for name, fn, kwargs, max_length in self.plan]

        # Profile fields a new customer takes from its row, else the model's default (as Customer(...) would).
        self.profile_defaults = [(name, Customer._meta.get_field(name).get_default()) for name in NEW_PROFILE]

    def clean_row(self, row: Row) -> None:
        values, clean, errors = row.values, row.clean, row.errors
        if not values.get("name"):
            self.require(row, "name", gettext_lazy("Name"))
        run_plan(self.plan, values, clean, errors)
        if "customer_since" not in clean and "source_created_at" in clean:
            # Without a "customer since" column the record's creation in the source is the best evidence of when
            # the customer arrived; kept aside ("_" keys are not row values) so it fills only an unknown date.
            clean["_since_from_source"] = timezone.localtime(clean["source_created_at"]).date()
        if not errors and not clean.get(self.key):
            errors.append(DomainError(ErrorCode.REQUIRED, _(
                "%(field)s is the key that matches existing customers; it cannot be empty.") % {"field": self.key},
                self.key))

    def _existing(self, keys: set[str]) -> dict[str, list]:
        found: dict[str, list] = {}
        if not keys:
            return found
        if self.key == "external_id":
            for cust in _in(Customer.objects.filter(source=self.source), "external_id", keys):
                found.setdefault(cust.external_id, []).append(cust)
        elif self.key == "member_number":
            for cust in _in(Customer.objects.all(), "member_number", keys):
                found.setdefault(cust.member_number, []).append(cust)
        else:
            pairs = []
            for chunk in _chunks(keys):
                pairs += list(ContactPoint.objects.filter(kind="mobile", value_normalized__in=chunk)
                              .values_list("value_normalized", "customer_id").distinct())
            ids = {cid for _k, cid in pairs}
            by_id = {c.pk: c for c in _in(Customer.objects.all(), "pk", ids)}
            for key, cid in pairs:
                found.setdefault(key, []).append(by_id[cid])
        return found

    def process(self, rows: list[Row]) -> None:
        self.today["today"] = timezone.localdate()
        for row in rows:
            if row.ok:
                self.clean_row(row)
            if row.errors:
                row.outcome = "rejected"
        ok = [r for r in rows if r.ok]
        existing = self._existing({r.clean[self.key] for r in ok})
        matched = {c.pk: c for cs in existing.values() for c in cs}
        visible = set()
        for chunk in _chunks(matched):
            visible.update(visible_customers(self.actor).filter(pk__in=chunk).values_list("pk", flat=True))
        # Unique values other customers may already hold.
        member_numbers = {r.clean["member_number"] for r in ok if r.clean.get("member_number")}
        holders = dict(_pairs(Customer.objects.all(), "member_number", member_numbers, "pk"))
        ext_holders = {}
        if self.key != "external_id":
            ext_ids = {r.clean["external_id"] for r in ok if r.clean.get("external_id")}
            ext_holders = dict(_pairs(Customer.objects.filter(source=self.source), "external_id", ext_ids, "pk"))
        contacts: dict[int, set[tuple[str, str]]] = {}
        addresses: dict[int, set[tuple[str, str]]] = {}  # customer -> (street address, postcode) held
        consents: dict[tuple[int, str], Any] = {}
        for chunk in _chunks(matched):
            for cid, kind, value in ContactPoint.objects.filter(customer_id__in=chunk, kind__in=["mobile", "email"]) \
                    .values_list("customer_id", "kind", "value_normalized"):
                contacts.setdefault(cid, set()).add((kind, value))
            if any(n in self.mapping for n in ADDRESS_FIELDS):
                for cid, value, postal_code in ContactPoint.objects.filter(customer_id__in=chunk, kind="address") \
                        .values_list("customer_id", "value", "postal_code"):
                    addresses.setdefault(cid, set()).add((value, postal_code))
            if any(n in self.mapping for n in CONSENT_CHANNELS):
                for consent in Consent.objects.filter(customer_id__in=chunk, purpose="marketing"):
                    consents[(consent.customer_id, consent.channel)] = consent
        custom_default: dict | DomainError
        try:
            custom_default = clean_custom_attributes({})
        except ValidationFailed as exc:
            custom_default = exc

        owner_id = self.options.get("owner_id") or self.actor.pk
        team_id = self.options.get("team_id") or getattr(self.actor, "team_id", None)
        seen: dict[str, Row] = {}  # key -> the first row with it (signatures only compared when a key repeats)
        claimed_mn: dict[str, str] = {}  # member number -> key that claimed it in this batch
        new_rows: list[Row] = []
        updates: dict[int, tuple[Any, dict, dict]] = {}
        new_contacts: list[tuple[Any, str, str, bool]] = []  # (customer or row, kind, value, primary)
        new_addresses: list[tuple[Any, dict, bool]] = []  # (customer or row, clean values, primary)
        consent_changes: list[tuple[Any, str, str]] = []  # (customer or row, channel, status)
        for row in ok:
            key = row.clean[self.key]
            if key in seen:
                settle_repeat(row, signature(seen[key].clean), self.key, key)
                continue
            matches = existing.get(key, [])
            if len(matches) > 1:
                row.reject(DomainError(DataioErrorCode.AMBIGUOUS, _(
                    "%(n)s customers have this %(field)s; merge them first.") % {"n": len(matches), "field": self.key},
                    self.key))
                continue
            customer = matches[0] if matches else None
            mn = row.clean.get("member_number")
            if mn and (holders.get(mn, customer.pk if customer else None) != (customer.pk if customer else None)
                       or claimed_mn.get(mn, key) != key):
                row.reject(DomainError(ErrorCode.DUPLICATE, _("Member number %(value)s is already used.") % {
                    "value": mn}, "member_number"))
                continue
            ext = row.clean.get("external_id")
            if customer is None and ext and ext in ext_holders:
                row.reject(DomainError(ErrorCode.DUPLICATE, _(
                    "External id %(value)s belongs to another customer of this source.") % {"value": ext},
                    "external_id"))
                continue
            if customer is not None and customer.pk not in visible:
                row.reject(DomainError(ErrorCode.PERMISSION_DENIED, _(
                    "This row matches a customer outside what you may see."), self.key))
                continue
            if customer is not None and customer.archived_at is not None:
                row.reject(DomainError(CustomersErrorCode.CUSTOMER_ARCHIVED, _(
                    "This row matches an archived customer; restore it first."), self.key))
                continue
            if customer is None and isinstance(custom_default, DomainError):
                row.reject(custom_default)
                continue
            if mn:
                claimed_mn[mn] = key
            seen[key] = row
            if customer is None:
                new_rows.append(row)
                row.outcome = "created"
                for kind in ("mobile", "email"):
                    if row.clean.get(kind):
                        new_contacts.append((row, kind, row.clean[kind], True))
                if any(row.clean.get(n) for n in ADDRESS_FIELDS):
                    new_addresses.append((row, row.clean, True))
                for name, channel in CONSENT_CHANNELS.items():
                    if name in row.clean:
                        consent_changes.append((row, channel, "granted" if row.clean[name] else "withdrawn"))
                continue
            before, after = {}, {}
            for name in PROFILE:
                if name in row.clean and getattr(customer, name) != row.clean[name]:
                    before[name], after[name] = getattr(customer, name), row.clean[name]
            if "_since_from_source" in row.clean and customer.customer_since is None:
                before["customer_since"], after["customer_since"] = None, row.clean["_since_from_source"]
            have = contacts.get(customer.pk, set())
            for kind in ("mobile", "email"):
                value = row.clean.get(kind)
                if value and (kind, value) not in have:
                    primary = not getattr(customer, kind)
                    new_contacts.append((customer, kind, value, primary))
                    after[kind] = value
                    before[kind] = getattr(customer, kind)
            address = (row.clean.get("address", ""), row.clean.get("postal_code", ""))
            held = addresses.get(customer.pk, set())
            if any(address) and address not in held:
                new_addresses.append((customer, row.clean, not held))
                before["address"] = sorted(held)[0] if held else None
                after["address"] = list(address)
            for name, channel in CONSENT_CHANNELS.items():
                if name in row.clean:
                    status = "granted" if row.clean[name] else "withdrawn"
                    current = consents.get((customer.pk, channel))
                    if current is None or current.status != status:
                        consent_changes.append((customer, channel, status))
                        before[name] = current.status if current else None
                        after[name] = status
            if after:
                updates[customer.pk] = (customer, before, after)
                row.outcome = "updated"
            else:
                row.outcome = "unchanged"

        # --- writes ---
        ids = reserve_ids(Customer, len(new_rows))
        custom_json = JsonText(json.dumps(custom_default)) if isinstance(custom_default, dict) else None
        source = self.source
        values = []
        for row, pk in zip(new_rows, ids, strict=True):
            clean = row.clean
            clean["_customer_id"] = pk
            if "_since_from_source" in clean:
                clean["customer_since"] = clean["_since_from_source"]
            full, initials = pinyin_keys(clean["name"])
            values.append((pk, clean["name"], full[:200], initials[:60], clean.get("member_number") or None,
                           source, clean.get("external_id") or None, owner_id, team_id, custom_json,
                           clean.get("mobile") or "", clean.get("email") or "",
                           *[clean.get(name, default) for name, default in self.profile_defaults]))
        inserter(Customer, NEW_CUSTOMER_FIELDS).insert(values)
        inserter(CustomerStats, ("customer_id",)).insert([(pk,) for pk in ids])  # each customer's totals row
        scope = CustomerScope.for_user(self.actor)
        if new_rows and not scope.everything:
            seen_ids = sum(scope.customers().filter(pk__in=ch).count() for ch in _chunks(ids))
            if seen_ids != len(ids):
                raise PermissionDenied(_("The owner or team chosen for new customers is outside what you may see."))
        changed_fields: set[str] = set()
        for customer, _before, after in updates.values():
            for name in PROFILE:
                if name in after:
                    setattr(customer, name, after[name])
                    changed_fields.add(name)
            if "name" in after:
                customer.name_pinyin, customer.name_initials = pinyin_keys(customer.name)
                changed_fields |= {"name_pinyin", "name_initials"}
            customer.updated_at = self.now
        for target, kind, value, primary in new_contacts:
            if primary and not isinstance(target, Row):
                setattr(target, kind, value)
                changed_fields.add(kind)
        if updates:
            Customer.objects.bulk_update([u[0] for u in updates.values()], sorted(changed_fields | {"updated_at"}),
                                         batch_size=500)
        inserter(ContactPoint, ("customer_id", "kind", "value", "value_normalized", "is_primary")).insert(
            [(_cid(t), kind, value, value, primary) for t, kind, value, primary in new_contacts])
        inserter(ContactPoint, ("customer_id", "kind", "value", "value_normalized", "is_primary", "province", "city",
                                "postal_code")).insert(
            [(_cid(t), "address", clean.get("address", ""), "", primary, clean.get("province", ""),
              clean.get("city", ""), clean.get("postal_code", "")) for t, clean, primary in new_addresses])
        self._write_consents(consent_changes, consents)
        created_subject = deferred(gettext_noop("Customer created"))
        events = [{"customer_id": row.clean["_customer_id"], "kind": Interaction.Kind.PROFILE,
                   "subject": created_subject,
                   "payload": {"import_job": self.job.pk, "row": row.number,
                               "fields": sorted(k for k in row.clean if not k.startswith("_"))}}
                  for row in new_rows]
        for customer, before, after in updates.values():
            events.append({"customer_id": customer.pk, "kind": Interaction.Kind.PROFILE,
                           "subject": deferred(gettext_noop("Profile updated: %(fields)s"),
                                               fields=refs("customers.customer.field", sorted(after))),
                           "payload": {"import_job": self.job.pk, "before": before, "after": after}})
        for target, channel, status in consent_changes:
            events.append({"customer_id": _cid(target), "kind": Interaction.Kind.CONSENT,
                           "subject": deferred(gettext_noop("Consent %(status)s: %(channel)s / %(purpose)s"),
                                               status=ref("customers.consent.status", status),
                                               channel=ref("customers.consent.channel", channel),
                                               purpose=ref("customers.consent.purpose", "marketing")),
                           "payload": {"channel": channel, "purpose": "marketing", "status": status,
                                       "source": f"import:{self.source}"}})
        record_events_bulk(events=events, actor=self.actor)
        self.summary["created_ids"] = list(ids)
        self.summary["updated_ids"] = list(updates)

    def _write_consents(self, changes, existing) -> None:
        to_create, to_update = [], []
        for target, channel, status in changes:
            current = existing.get((_cid(target), channel)) if not isinstance(target, Row) else None
            if current is None:
                to_create.append((_cid(target), channel, "marketing", status, self.now, f"import:{self.source}"[:60]))
            else:
                current.status, current.decided_at, current.updated_at = status, self.now, self.now
                current.source = f"import:{self.source}"[:60]
                to_update.append(current)
        inserter(Consent, ("customer_id", "channel", "purpose", "status", "decided_at", "source")).insert(to_create)
        if to_update:
            Consent.objects.bulk_update(to_update, ["status", "decided_at", "source", "updated_at"])


class InteractionHandler(Handler):
    """Calls, visits, feedback forms... onto the timeline. Without an external id column, the key is a hash of
    the row's content (customer, kind, time, subject, details), so re-importing the same file adds nothing."""

    kind = "interactions"
    perm = perms.CHANGE_CUSTOMERS

    def __init__(self, *, job, actor):
        super().__init__(job=job, actor=actor)
        self.refs = CustomerRefs(self)

    def clean_row(self, row: Row) -> None:
        c = self.clean_field
        self.require(row, "kind", gettext_lazy("Kind"))
        self.require(row, "occurred_at", gettext_lazy("When"))
        self.refs.clean(row)
        c(row, "external_id", v.text, max_length=100)
        c(row, "kind", v.choice, v.INTERACTION_KINDS)
        c(row, "direction", v.choice, v.DIRECTIONS)
        c(row, "occurred_at", v.moment)
        c(row, "subject", v.text, max_length=200)
        c(row, "body", v.text, max_length=20000)
        if not row.values.get("subject") and not row.values.get("body"):
            row.errors.append(DomainError(ErrorCode.REQUIRED, _("Write a subject or details."), "subject"))

    def process(self, rows: list[Row]) -> None:
        for row in rows:
            if row.ok:
                self.clean_row(row)
        self.refs.resolve([r for r in rows if r.ok])
        ok = [r for r in rows if r.ok]
        for row in ok:
            if not row.clean.get("external_id"):
                content = signature({k: row.clean.get(k) for k in (
                    "customer_id", "kind", "direction", "occurred_at", "subject", "body")})
                row.clean["external_id"] = "h:" + hashlib.sha1(content.encode()).hexdigest()[:32]
        existing = {i.external_id: i for i in _in(Interaction.objects.filter(source=self.source), "external_id",
                                                   {r.clean["external_id"] for r in ok})}
        seen: dict[str, str] = {}
        events = []
        for row in ok:
            key = row.clean["external_id"]
            sig = signature({k: row.clean.get(k) for k in ("customer_id", "kind", "direction", "occurred_at",
                                                            "subject", "body")})
            if key in seen or key in existing:
                stored = seen.get(key) or signature({
                    "customer_id": existing[key].customer_id, "kind": existing[key].kind,
                    "direction": existing[key].direction or None, "occurred_at": existing[key].occurred_at,
                    "subject": existing[key].subject or None, "body": existing[key].body or None})
                if stored == sig:
                    row.outcome = "unchanged"
                else:
                    row.reject(DomainError(ErrorCode.DUPLICATE, _(
                        "An interaction with external id %(value)s already exists with other values.") % {
                        "value": key}, "external_id"))
                continue
            seen[key] = sig
            row.outcome = "created"
            events.append({"customer_id": row.clean["customer_id"], "kind": row.clean["kind"],
                           "direction": row.clean.get("direction", ""), "occurred_at": row.clean["occurred_at"],
                           "subject": row.clean.get("subject", ""), "body": row.clean.get("body", ""),
                           "payload": {"import_job": self.job.pk, "row": row.number}, "source": self.source,
                           "external_id": key})
        record_events_bulk(events=events, actor=self.actor)


def register_kinds() -> None:
    register(ImportKindSpec(name="customers", label=gettext_lazy("Customers"), handler=CustomerHandler,
                            targets=TARGETS["customers"], natural_keys=NATURAL_KEYS["customers"], order=0))
    register(ImportKindSpec(name="interactions", label=gettext_lazy("Interactions"), handler=InteractionHandler,
                            targets=TARGETS["interactions"], natural_keys=NATURAL_KEYS["interactions"], order=4))
