"""The person a request is about, as every app's section needs them: the customer ids that are this person (the
request's customer and every record merged into it), and the identifiers by which the person appears in stored
rows and files (phones, emails, WeChat ids, ID numbers, member numbers, external ids).

`Matcher` recognises those identifiers in a cell without holding them in the clear: it keeps keyed BLAKE2b hashes
(the key derived from SECRET_KEY), so the work list an erasure leaves for its after-commit file clean-up (which
outlives the database erasure by seconds or, if a worker is down, longer) holds no personal data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings

from clientwise.customers.models import ContactPoint, Customer
from clientwise.privacy import rules

# Member numbers and external ids shorter than this are compared only in the columns mapped to them (an import
# job's key columns): '1001' would otherwise match quantities and prices everywhere.
STRONG_MIN_LENGTH = 6


def _key() -> bytes:
    return hashlib.sha256(b"clientwise.privacy.matcher:" + str(settings.SECRET_KEY).encode()).digest()


def digest(form: str, key: bytes | None = None) -> str:
    return hashlib.blake2b(form.encode(), key=key or _key(), digest_size=16).hexdigest()


@dataclass
class Matcher:
    """Keyed hashes of a person's identifiers. `anywhere`: strong identifiers matched in any cell; `members`: member
    numbers, matched in member-number columns; `external`: {source: hashes} of external ids, matched in key columns
    of rows from that source; `ids`: customer ids (plain: they are not personal data by themselves)."""

    anywhere: set[str] = field(default_factory=set)
    lengths: set[int] = field(default_factory=set)  # of the compared forms in `anywhere`: most cells skip the hash
    members: set[str] = field(default_factory=set)
    external: dict[str, set[str]] = field(default_factory=dict)
    ids: set[int] = field(default_factory=set)
    _base: Any = field(default=None, repr=False)

    def h(self, form: str) -> str:
        if self._base is None:  # keyed once; each hash copies the keyed state (cheaper than keying again)
            self._base = hashlib.blake2b(key=_key(), digest_size=16)
        state = self._base.copy()
        state.update(form.encode())
        return state.hexdigest()

    def cell(self, value: Any) -> bool:
        """Whether a cell holds one of the strong identifiers (any column)."""
        if value is None or isinstance(value, bool):
            return False
        text = value if isinstance(value, str) else str(value)
        if not text or len(text) > 320:
            return False
        for form in rules.cell_forms(text):
            if len(form) in self.lengths and self.h(form) in self.anywhere:
                return True
        return False

    def member(self, value: Any) -> bool:
        text = rules.canon_text("" if value is None else str(value))
        return bool(text) and self.h(f"t:{text}") in self.members

    def external_id(self, source: str, value: Any) -> bool:
        hashes = self.external.get(source or "")
        text = rules.canon_text("" if value is None else str(value))
        return bool(hashes and text) and self.h(f"t:{text}") in hashes

    def row(self, values: Iterable[Any]) -> bool:
        return any(self.cell(v) for v in values)

    def mapped_row(self, row: dict, *, member_cols: Iterable[str] = (), external_cols: Iterable[str] = (),
                   source: str = "") -> bool:
        """Whether an import row ({column: value}) is about the person: a strong identifier in any column, or
        their member number / external id (of the row's source) in the columns mapped to those keys."""
        if any(self.cell(v) for v in row.values()):
            return True
        if any(self.member(row.get(c)) for c in member_cols):
            return True
        return any(self.external_id(source, row.get(c)) for c in external_cols)

    def as_json(self) -> dict:
        return {"anywhere": sorted(self.anywhere), "lengths": sorted(self.lengths), "members": sorted(self.members),
                "external": {s: sorted(v) for s, v in self.external.items()}, "ids": sorted(self.ids)}

    @classmethod
    def from_json(cls, data: dict) -> Matcher:
        return cls(anywhere=set(data.get("anywhere", [])), lengths={int(n) for n in data.get("lengths", [])},
                   members=set(data.get("members", [])),
                   external={s: set(v) for s, v in (data.get("external") or {}).items()},
                   ids={int(i) for i in data.get("ids", [])})

    @property
    def empty(self) -> bool:
        return not (self.anywhere or self.members or self.external or self.ids)


@dataclass
class Subject:
    """One person: `customer_id` (the request's customer) and `customer_ids` (it and every customer merged into
    it), with the identifiers and the other personal values (names, addresses) found on them when the request is
    handled. Sections read these; they never change them."""

    customer_id: int
    customer_ids: tuple[int, ...]
    names: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    wechat: set[str] = field(default_factory=set)
    id_numbers: set[str] = field(default_factory=set)
    member_numbers: set[str] = field(default_factory=set)
    external_ids: set[tuple[str, str]] = field(default_factory=set)  # (source, external id)
    addresses: set[str] = field(default_factory=set)
    _matcher: Matcher | None = field(default=None, repr=False)

    @property
    def matcher(self) -> Matcher:
        if self._matcher is None:
            m = Matcher(ids=set(self.customer_ids))

            def anywhere(form: str) -> None:
                m.anywhere.add(m.h(form))
                m.lengths.add(len(form))

            for phone in self.phones:
                canon = rules.canon_phone(phone)
                if canon:
                    anywhere(f"p:{canon}")
            for text in (*self.emails, *self.wechat, *self.id_numbers):
                if rules.canon_text(text):
                    anywhere(f"t:{rules.canon_text(text)}")
            for number in self.member_numbers:
                form = f"t:{rules.canon_text(number)}"
                m.members.add(m.h(form))
                if len(number.strip()) >= STRONG_MIN_LENGTH:
                    anywhere(form)
            for source, ext in self.external_ids:
                form = f"t:{rules.canon_text(ext)}"
                m.external.setdefault(source or "", set()).add(m.h(form))
                if len(ext.strip()) >= STRONG_MIN_LENGTH:
                    anywhere(form)
            self._matcher = m
        return self._matcher

    def texts(self) -> set[str]:
        """Every personal value of the person as stored, for scrubbing free-form JSON (audit rows): two characters
        at least, so a one-letter name does not erase unrelated text."""
        values = {*self.names, *self.phones, *self.emails, *self.wechat, *self.id_numbers, *self.member_numbers,
                  *self.addresses, *(e for _s, e in self.external_ids if len(e) >= STRONG_MIN_LENGTH)}
        for phone in self.phones:  # '+8613812345678' is also written '13812345678'
            canon = rules.canon_phone(phone)
            if canon:
                values.add(canon)
        return {v.strip() for v in values if v and len(v.strip()) >= 2}


MEMBER_TARGETS = ("member_number", "customer_member_number")


def key_columns(kind: str, mapping: dict) -> tuple[list[str], list[str]]:
    """(member-number columns, external-id columns) of an import job's mapping ({target: column}): the columns
    in which a short member number or external id still identifies a customer."""
    mapping = mapping or {}
    member = [mapping[t] for t in MEMBER_TARGETS if mapping.get(t)]
    external = [mapping["customer_external_id"]] if mapping.get("customer_external_id") else []
    if kind == "customers" and mapping.get("external_id"):
        external.append(mapping["external_id"])
    return member, external


def merged_ids(customer_id: int) -> set[int]:
    """Every customer merged into `customer_id`, directly or through a chain of merges."""
    if not apps.is_installed("clientwise.dataio.identity"):
        return set()
    # Only when the identity app is installed: its models cannot load otherwise.
    from clientwise.dataio.identity.models import MergedCustomer

    found: set[int] = set()
    frontier = {customer_id}
    while frontier:
        rows = set(MergedCustomer.objects.filter(survivor_id__in=frontier).values_list("customer_id", flat=True))
        frontier = rows - found - {customer_id}
        found |= frontier
    return found


def merged_into(customer_id: int) -> int | None:
    """The survivor a merged-away customer points to (None when it was not merged away)."""
    if not apps.is_installed("clientwise.dataio.identity"):
        return None
    # Only when the identity app is installed: its models cannot load otherwise.
    from clientwise.dataio.identity.models import MergedCustomer

    return MergedCustomer.objects.filter(customer_id=customer_id).values_list("survivor_id", flat=True).first()


def collect(customer_id: int) -> Subject:
    """The subject of a request about `customer_id`, read from the customer rows and their contact points."""
    ids = tuple(sorted({customer_id, *merged_ids(customer_id)}))
    subject = Subject(customer_id=customer_id, customer_ids=ids)
    for c in Customer.objects.filter(pk__in=ids).only("name", "mobile", "email", "member_number", "id_number",
                                                      "source", "external_id"):
        subject.names.add(c.name)
        if c.mobile:
            subject.phones.add(c.mobile)
        if c.email:
            subject.emails.add(c.email)
        if c.member_number:
            subject.member_numbers.add(c.member_number)
        if c.id_number:
            subject.id_numbers.add(c.id_number)
        if c.external_id:
            subject.external_ids.add((c.source or "", c.external_id))
    for kind, value, normalized in ContactPoint.objects.filter(customer_id__in=ids).values_list(
            "kind", "value", "value_normalized"):
        if kind in ("mobile", "landline"):
            subject.phones.update(v for v in (value, normalized) if v)
        elif kind == "email":
            subject.emails.update(v for v in (value, normalized) if v)
        elif kind == "wechat":
            subject.wechat.update(v for v in (value, normalized) if v)
        elif kind == "address":
            subject.addresses.add(value)
    return subject


@dataclass
class Erasure:
    """What one erasure did, filled in by each section's `erase` inside the transaction.

    `count(key, n)` records how many rows a section changed ('sales.leads': 2); `touch(label, ids)` names rows whose
    audit history must be scrubbed too (besides every audit row of the subject's customers); `pii_keys` are the
    field names whose values are personal data in audit snapshots; `delete_files` are paths (under VAR_DIR) to
    remove after the commit; `kept` records facts deliberately kept (orders and their total)."""

    subject: Subject
    actor: Any
    now: dt.datetime
    counts: dict[str, int] = field(default_factory=dict)
    kept: dict[str, Any] = field(default_factory=dict)
    touched: dict[str, set[str]] = field(default_factory=dict)
    pii_keys: set[str] = field(default_factory=set)
    delete_files: list[str] = field(default_factory=list)

    def count(self, key: str, n: int) -> None:
        if n:
            self.counts[key] = self.counts.get(key, 0) + int(n)

    def touch(self, label: str, ids: Iterable[Any]) -> None:
        self.touched.setdefault(label, set()).update(str(i) for i in ids)
