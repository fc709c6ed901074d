"""Timeline rows are written once, in the writer's language, and read in the reader's: a rep working in Chinese
records an order, cancels it and changes the customer; a colleague reading in English sees English."""

from __future__ import annotations

import re

from django.urls import reverse
from django.utils import translation

from clientwise.accounts.models import User
from clientwise.core.labels import row_text
from clientwise.customers.models import Interaction

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_subjects_written_in_chinese_read_in_english(org, shop, web_client, make_order):
    from clientwise.commerce.services import cancel_order
    from clientwise.customers.services import add_contact_point, update_customer

    with translation.override("zh-hans"):
        order = make_order()
        cancel_order(actor=org.rep_a, order_id=order.pk, reason="录错了")
        update_customer(actor=org.rep_a, customer_id=shop.cust_a.pk, data={"city": "杭州"})
        add_contact_point(actor=org.rep_a, customer_id=shop.cust_a.pk, kind="email", value="z@example.com")
    rows = list(Interaction.objects.filter(customer_id=shop.cust_a.pk).exclude(kind="profile", subject="")
                .order_by("id"))
    assert any(CJK.search(r.subject) for r in rows)  # written in Chinese
    with translation.override("en"):
        texts = [row_text(r) for r in rows]
    assert f"Order {order.number} · ¥3,999.00" in texts
    assert f"Order {order.number} cancelled · ¥3,999.00" in texts
    assert "Profile updated: City" in texts and "Contact added: Email" in texts
    assert not [t for t in texts if CJK.search(t) and "张伟" not in t], texts

    User.objects.filter(pk=org.admin.pk).update(language="en")
    page = web_client(org.admin).get(reverse("customers:detail", args=[shop.cust_a.pk])).content.decode()
    assert f"Order {order.number} cancelled" in page and f"订单 {order.number}" not in page
    home = web_client(org.admin).get("/").content.decode()
    assert "Contact added: Email" in home and "新增联系方式" not in home


def test_a_row_without_its_parts_shows_what_was_written(org, shop):
    from django.utils import timezone

    row = Interaction.objects.create(customer_id=shop.cust_a.pk, kind="purchase", subject="订单 X", payload={},
                                     occurred_at=timezone.now())
    assert row_text(row) == "订单 X"
    row.payload = {"_subject": {"msgid": "Merge undone", "params": {}}}
    with translation.override("zh-hans"):
        assert row_text(row) == "已撤销合并"
