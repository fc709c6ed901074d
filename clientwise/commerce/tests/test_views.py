import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clientwise.commerce.models import Order, Product, Return
from clientwise.commerce.tests.factories import BranchFactory, ProductFactory, StoreFactory
from clientwise.customers.models import Customer

HTMX = {"HX-Request": "true"}


def test_pages_need_login_and_a_role(org, shop, make_order, web_client, client):
    order = make_order()
    urls = [reverse("commerce:order_list"), reverse("commerce:order_detail", args=[order.pk]),
            reverse("commerce:product_list"), reverse("commerce:product_detail", args=[shop.phone.pk]),
            reverse("commerce:store_list"), reverse("commerce:store_detail", args=[shop.store.pk])]
    for url in urls:
        r = client.get(url)
        assert r.status_code == 302 and "/accounts/" in r["Location"], url
        assert web_client(org.norole).get(url).status_code == 403, url
        assert web_client(org.admin).get(url).status_code == 200, url


def test_order_list_full_and_partial(org, shop, make_order, web_client):
    make_order(number="SO-V1", lines=[{"sku": "CS-1", "quantity": 1}])
    make_order(actor=org.rep_b, customer=shop.cust_b, number="SO-V2")
    c = web_client(org.rep_a)
    r = c.get(reverse("commerce:order_list"))
    html = r.content.decode()
    assert r.status_code == 200
    assert "<html" in html and 'id="order-table"' in html
    assert "SO-V1" in html and "SO-V2" not in html  # rep_a does not see rep_b's customer's order
    assert f'href="{reverse("customers:detail", args=[shop.cust_a.pk])}"' in html
    assert "¥49.90" in html
    r = c.get(reverse("commerce:order_list"), {"q": "SO-V"}, headers=HTMX)
    html = r.content.decode()
    assert "<html" not in html and "SO-V1" in html and 'class="cw-table"' in html
    r = c.get(reverse("commerce:order_list"), {"status": "cancelled"}, headers=HTMX)
    assert "No orders match these filters." in r.content.decode()
    # Bad filter values are ignored and named, never a 500.
    r = c.get(reverse("commerce:order_list"), {"date_from": "soon", "store_id": "x", "cursor": "junk"})
    assert r.status_code == 200 and "SO-V1" in r.content.decode()
    assert "date_from" in r.content.decode() and "store_id" in r.content.decode()


def test_order_list_query_count_does_not_grow_with_rows(org, shop, make_order, web_client):
    c = web_client(org.rep_a)

    def count():
        counts = []
        for headers in (HTMX, {}):
            with CaptureQueriesContext(connection) as ctx:
                assert c.get(reverse("commerce:order_list"), headers=headers).status_code == 200
            counts.append(len(ctx.captured_queries))
        return counts

    make_order()
    few = count()
    other_store = StoreFactory()
    for i in range(30):  # more than a page
        make_order(store_id=other_store.pk if i % 2 else shop.store.pk)
    assert count() == few
    assert few[0] <= 6 and few[1] <= 12, few


def test_order_detail_shows_lines_margin_and_actions(org, shop, make_order, web_client):
    order = make_order(lines=[{"sku": "PH-1", "quantity": 1, "discount": "99"}], promoter_id=shop.promoter.pk)
    html = web_client(org.manager_a).get(reverse("commerce:order_detail", args=[order.pk])).content.decode()
    assert order.number in html and "Phone X" in html and "¥3,900.00" in html
    assert "Margin" in html and "¥1,100.00" in html  # a manager sees margins
    assert "138****5678" not in html and "+8613812345678" in html  # manager has view_pii
    assert 'id="cancel-modal"' in html and 'id="return-form"' in html
    assert "小李" in html
    html = web_client(org.rep_a).get(reverse("commerce:order_detail", args=[order.pk])).content.decode()
    assert "Margin" not in html and "¥1,100.00" not in html
    assert "138****5678" in html and "+8613812345678" not in html
    html = web_client(org.analyst).get(reverse("commerce:order_detail", args=[order.pk])).content.decode()
    assert 'id="cancel-modal"' not in html and 'id="return-form"' not in html


def test_order_detail_hidden_from_other_rep(org, shop, make_order, web_client):
    order = make_order()
    assert web_client(org.rep_b).get(reverse("commerce:order_detail", args=[order.pk])).status_code == 404
    assert web_client(org.rep_a).get(reverse("commerce:order_detail", args=[999999])).status_code == 404


def test_cancel_and_return_from_the_page(org, shop, make_order, web_client):
    order = make_order(lines=[{"sku": "CS-1", "quantity": 3, "unit_price": "20"}])
    line = order.lines.get()
    c = web_client(org.rep_a)
    r = c.post(reverse("commerce:order_return", args=[order.pk]), {f"qty_{line.pk}": "2", "reason": "坏"})
    assert r.status_code == 302
    ret = Return.objects.get()
    assert (ret.amount, ret.reason) == (Decimal("40.00"), "坏")
    r = c.post(reverse("commerce:order_return", args=[order.pk]), {f"qty_{line.pk}": "5"}, follow=True)
    assert "Only 1 of Case can still be returned." in r.content.decode()
    assert Return.objects.count() == 1
    r = c.post(reverse("commerce:order_cancel", args=[order.pk]), {"reason": ""}, follow=True)
    assert "Give a reason for the cancellation." in r.content.decode()
    assert Order.objects.get(pk=order.pk).status == "completed"
    c.post(reverse("commerce:order_cancel", args=[order.pk]), {"reason": "客户不要了"})
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    cust = Customer.objects.get(pk=shop.cust_a.pk)
    assert (cust.order_count, cust.revenue) == (0, Decimal("0.00"))
    # Denied: other rep → 404, analyst → 403, GET → 405; nothing changes.
    other = make_order()
    assert web_client(org.rep_b).post(reverse("commerce:order_cancel", args=[other.pk]), {"reason": "x"}).status_code == 404
    assert web_client(org.analyst).post(reverse("commerce:order_cancel", args=[other.pk]), {"reason": "x"}).status_code == 403
    assert c.get(reverse("commerce:order_cancel", args=[other.pk])).status_code == 405
    assert Order.objects.get(pk=other.pk).status == "completed"


def test_product_pages(org, shop, make_order, web_client):
    sold = make_order(lines=[{"sku": "CS-1", "quantity": 4}])
    hidden = make_order(actor=org.rep_b, customer=shop.cust_b, lines=[{"sku": "CS-1", "quantity": 1}])
    c = web_client(org.rep_a)
    html = c.get(reverse("commerce:product_list")).content.decode()
    assert "PH-1" in html and "Unit cost" not in html and "New product" not in html
    html = c.get(reverse("commerce:product_list"), {"active": "0"}, headers=HTMX).content.decode()
    assert "<html" not in html and "OLD-1" in html and "PH-1" not in html
    html = c.get(reverse("commerce:product_detail", args=[shop.case.pk])).content.decode()
    assert "¥199.60" in html  # revenue of the last 30 days in rep_a's scope: 4 × 49.90
    assert sold.number in html and hidden.number not in html
    html = web_client(org.admin).get(reverse("commerce:product_list")).content.decode()
    assert "Unit cost" in html and "New product" in html
    assert c.get(reverse("commerce:product_edit", args=[shop.case.pk])).status_code == 403


def test_product_create_and_edit_form(org, shop, web_client):
    c = web_client(org.admin)
    data = {"sku": "NEW-9", "name": "耳机", "category_id": shop.case.category_id, "list_price": "199",
            "unit_cost": "80", "attributes": "颜色: 黑\nwireless=yes", "active": "on"}
    r = c.post(reverse("commerce:product_create"), data)
    p = Product.objects.get(sku="NEW-9")
    assert r.status_code == 302 and r["Location"] == reverse("commerce:product_detail", args=[p.pk])
    assert (p.list_price, p.attributes, p.active) == (Decimal("199.00"), {"颜色": "黑", "wireless": "yes"}, True)
    r = c.post(reverse("commerce:product_edit", args=[p.pk]), {**data, "list_price": "-3", "active": ""})
    assert r.status_code == 200 and "is-invalid" in r.content.decode()
    assert Product.objects.get(pk=p.pk).list_price == Decimal("199.00")
    r = c.post(reverse("commerce:product_edit", args=[p.pk]), {**data, "sku": "PH-1"})
    assert "SKU PH-1 is already used." in r.content.decode()
    r = c.post(reverse("commerce:product_edit", args=[p.pk]), {**data, "attributes": "no separator"})
    assert r.status_code == 200 and "is not “name: value”" in r.content.decode()
    c.post(reverse("commerce:product_edit", args=[p.pk]), {**data, "active": ""})
    assert Product.objects.get(pk=p.pk).active is False
    assert c.get(reverse("commerce:product_edit", args=[p.pk])).status_code == 200


@pytest.mark.parametrize("user", ["admin", "rep_a"])
def test_store_list_groups_and_month_figures(org, shop, make_order, web_client, user):
    now = timezone.now()
    make_order(ordered_at=now - dt.timedelta(minutes=5), lines=[{"sku": "CS-1", "quantity": 2}])
    make_order(actor=org.rep_b, customer=shop.cust_b, ordered_at=now - dt.timedelta(minutes=5))
    other_branch = BranchFactory(name="杭州分公司", region=shop.store.branch.region)
    StoreFactory(branch=other_branch, name="西湖店", code="HZ001")
    html = web_client(getattr(org, user)).get(reverse("commerce:store_list")).content.decode()
    assert shop.store.branch.region.name in html and "杭州分公司" in html and "西湖店" in html
    # rep_a's scope holds only their own customer's order; admin sees both.
    expected = "¥4,098.80" if user == "admin" else "¥99.80"
    assert expected in html
    r = web_client(org.admin).get(reverse("commerce:store_list"), {"q": "HZ"}, headers=HTMX)
    assert "<html" not in r.content.decode() and "西湖店" in r.content.decode()
    assert "徐汇店" not in r.content.decode()


def test_store_detail(org, shop, make_order, web_client):
    order = make_order()
    html = web_client(org.rep_a).get(reverse("commerce:store_detail", args=[shop.store.pk])).content.decode()
    assert order.number in html and "¥3,999.00" in html and "小李" in html
    html = web_client(org.rep_b).get(reverse("commerce:store_detail", args=[shop.store.pk])).content.decode()
    assert order.number not in html and "No orders from this store in your scope yet." in html
    assert web_client(org.rep_a).get(reverse("commerce:store_detail", args=[999999])).status_code == 404


def test_pages_in_chinese(org, shop, make_order, web_client):
    make_order()
    org.rep_a.language = "zh-hans"
    org.rep_a.save()
    c = web_client(org.rep_a)
    html = c.get(reverse("commerce:order_list")).content.decode()
    assert "今日订单" in html and "已完成" in html and "Orders today" not in html
    assert "全部品牌" in c.get(reverse("commerce:product_list")).content.decode()
    assert "营业中的门店" in c.get(reverse("commerce:store_list")).content.decode()


def test_factories_make_consistent_rows(db):
    p = ProductFactory()
    assert p.category.pk and p.list_price == Decimal("100.00")
    s = StoreFactory()
    assert s.branch.region.pk


def test_order_entry_page(org, shop, web_client):
    c = web_client(org.rep_a)
    url = reverse("commerce:order_create")
    html = c.get(url, {"q": "张"}, headers=HTMX).content.decode()
    assert "张伟" in html and "李娜" not in html and "<html" not in html
    assert "138****5678" in html  # rep_a has no view_pii
    assert web_client(org.rep_b).get(url, {"customer": shop.cust_a.pk}).status_code == 404
    assert web_client(org.analyst).get(url).status_code == 403
    page = c.get(url, {"customer": shop.cust_a.pk})
    assert page.status_code == 200 and "PH-1" in page.content.decode()
    form = {"customer_id": shop.cust_a.pk, "store_id": shop.store.pk, "channel_id": shop.channel.pk,
            "sku_0": "PH-1", "qty_0": "1", "discount_0": "99", "sku_2": "CS-1", "qty_2": "2", "price_2": "45"}
    # An invalid row keeps everything on the page, writes nothing and shows the error next to the row.
    bad = c.post(f"{url}?customer={shop.cust_a.pk}", {**form, "qty_2": "0"})
    assert bad.status_code == 200 and "Quantity must be greater than zero." in bad.content.decode()
    assert 'value="CS-1"' in bad.content.decode()
    assert not Order.objects.exists()
    r = c.post(f"{url}?customer={shop.cust_a.pk}", form)
    order = Order.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("commerce:order_detail", args=[order.pk])
    assert (order.amount, order.line_count, order.sales_rep_id) == (Decimal("3990.00"), 2, org.rep_a.pk)
    cust = Customer.objects.get(pk=shop.cust_a.pk)
    assert (cust.order_count, cust.revenue) == (1, Decimal("3990.00"))
    empty = c.post(f"{url}?customer={shop.cust_a.pk}", {"customer_id": shop.cust_a.pk})
    assert "An order needs at least one line." in empty.content.decode()


def test_order_list_export_menu_carries_the_filters(org, shop, make_order, web_client):
    make_order(number="SO-X1", lines=[{"sku": "CS-1", "quantity": 1}])
    html = web_client(org.admin).get(reverse("commerce:order_list"), {"q": "SO-X", "status": "paid"}).content.decode()
    link = reverse("dataio:export_orders", args=["csv"])
    assert f'href="{link}?q=SO-X&amp;status=paid"' in html
    # The same query string gives the same rows in the file.
    body = web_client(org.admin).get(link, {"q": "SO-X", "status": "paid"})
    rows = b"".join(body.streaming_content).decode("utf-8-sig").splitlines()
    assert len(rows) == 2 and "SO-X1" in rows[1]
    # A sales rep has no export right and sees no menu.
    assert "cw-export-menu" not in web_client(org.rep_a).get(reverse("commerce:order_list")).content.decode()
