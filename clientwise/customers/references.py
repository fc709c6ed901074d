"""Customer references of imported rows (an order line's customer by external id, member number or mobile),
resolved set-wise: one query per kind of reference for a whole batch, and one for who of the found customers the
importing user may see. The import engine (dataio.handlers.CustomerRefs) turns the matches into each row's
customer or error; the tables stay the customers app's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from clientwise.customers.models import ContactPoint, Customer
from clientwise.customers.scope import CustomerScope

CHUNK = 5000  # keys per IN list


def _chunks(values: Iterable, size: int = CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


@dataclass
class Matches:
    """What a batch's references found: external id → customer, member number → customer, normalized mobile →
    customers (a mobile may be shared), and for each found customer the importing user may see, its archive time
    (None while active). A customer found but absent from `visible` is, to the importer, not found."""

    by_external_id: dict[str, int] = field(default_factory=dict)
    by_member_number: dict[str, int] = field(default_factory=dict)
    by_mobile: dict[str, set[int]] = field(default_factory=dict)
    visible: dict[int, dt.datetime | None] = field(default_factory=dict)


def match_references(user, *, source: str, external_ids: Iterable[str] = (), member_numbers: Iterable[str] = (),
                     mobiles: Iterable[str] = ()) -> Matches:
    """Customers named by external id (of `source`), member number or normalized mobile, and which of them
    `user` may see (the one customer scope)."""
    out = Matches()
    for chunk in _chunks(set(external_ids)):
        out.by_external_id.update(Customer.objects.filter(source=source, external_id__in=chunk)
                                  .values_list("external_id", "pk"))
    for chunk in _chunks(set(member_numbers)):
        out.by_member_number.update(Customer.objects.filter(member_number__in=chunk)
                                    .values_list("member_number", "pk"))
    for chunk in _chunks(set(mobiles)):
        for value, cid in ContactPoint.objects.filter(kind="mobile", value_normalized__in=chunk).values_list(
                "value_normalized", "customer_id"):
            out.by_mobile.setdefault(value, set()).add(cid)
    found = set(out.by_external_id.values()) | set(out.by_member_number.values())
    found.update(c for ids in out.by_mobile.values() for c in ids)
    scope = CustomerScope.for_user(user)
    for chunk in _chunks(found):
        out.visible.update(scope.customers().filter(pk__in=chunk).values_list("pk", "archived_at"))
    return out
