"""ContactPoint.phone_tail: the last 8 digits of a phone, kept by the database whoever writes the contact point."""

from __future__ import annotations

import pytest

from clientwise.core.audit import snapshot
from clientwise.core.bulk import inserter
from clientwise.customers import services
from clientwise.customers.models import ContactPoint
from clientwise.customers.queries import find_customers_by_phone_tail
from clientwise.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def tail_of(cp_id: int) -> str:
    return ContactPoint.objects.values_list("phone_tail", flat=True).get(pk=cp_id)


def test_services_write_it_and_keep_it_current(org):
    c = make_customer(org.admin, "张伟", mobile="13812345678", email="z@example.com")
    mobile = ContactPoint.objects.get(customer=c, kind="mobile")
    email = ContactPoint.objects.get(customer=c, kind="email")
    assert tail_of(mobile.pk) == "12345678" and tail_of(email.pk) == ""
    landline = services.add_contact_point(actor=org.admin, customer_id=c.pk, kind="landline", value="021-6234 5678")
    assert tail_of(landline.pk) == "62345678"
    services.update_contact_point(actor=org.admin, customer_id=c.pk, contact_id=mobile.pk,
                                  data={"value": "139 8765 4321"})
    assert tail_of(mobile.pk) == "87654321"
    assert find_customers_by_phone_tail("87654321") == [c.pk]
    assert find_customers_by_phone_tail("12345678") == []


def test_bulk_inserts_get_it_too(org):
    c = make_customer(org.admin, "王芳")
    inserter(ContactPoint, ("customer_id", "kind", "value", "value_normalized", "is_primary")).insert(
        [(c.pk, "mobile", "+8615011112222", "+8615011112222", False),
         (c.pk, "wechat", "wx_abc12345678", "wx_abc12345678", False)])
    assert dict(ContactPoint.objects.filter(customer=c).values_list("kind", "phone_tail")) == {
        "mobile": "11112222", "wechat": ""}
    assert find_customers_by_phone_tail("11112222") == [c.pk]


def test_only_eight_ascii_digits_are_a_tail(org):
    make_customer(org.admin, "李雷", mobile="13812345678")
    for text in ("1234567", "123456789", "1234567a", "１２３４５６７８", ""):
        assert find_customers_by_phone_tail(text) == []


def test_audit_snapshots_leave_the_derived_column_out(org):
    c = make_customer(org.admin, "赵敏", mobile="13812345678")
    cp = ContactPoint.objects.get(customer=c, kind="mobile")
    assert "phone_tail" not in snapshot(cp) and "value_normalized" in snapshot(cp)
