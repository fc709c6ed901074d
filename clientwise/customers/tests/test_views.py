import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from clientwise.core.models import AuditLog
from clientwise.customers import services
from clientwise.customers.models import ContactPoint, CustomAttribute, Customer, Interaction
from clientwise.customers.tests.factories import make_customer

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def cust(org):
    return make_customer(org.rep_a, "张伟", mobile="13812345678", member_number="M001")


def test_list_full_page_and_htmx_partial(web_client, org, cust):
    w = web_client(org.rep_a)
    full = w.get(reverse("customers:list"))
    assert full.status_code == 200
    html = full.content.decode()
    assert "<html" in html and 'id="customer-table"' in html and "张伟" in html
    part = w.get(reverse("customers:list"), {"q": "zw"}, **HX)
    body = part.content.decode()
    assert part.status_code == 200 and "<html" not in body and "cust-filters" not in body
    assert "张伟" in body and reverse("customers:detail", args=[cust.pk]) in body
    empty = w.get(reverse("customers:list"), {"q": "nobody"}, **HX).content.decode()
    assert "No customers match these filters." in empty
    # The list says how many it stands for (issue 15), in the partial too, so filters update it.
    assert 'id="customer-count">1 customer</p>' in html and 'id="customer-count">1 customer</p>' in body
    make_customer(org.rep_a, "李娜")
    assert 'id="customer-count">2 customers</p>' in w.get(reverse("customers:list")).content.decode()
    # A rep picks no owner: the only one they could pick is themselves.
    assert 'id="f-owner"' not in html and 'id="f-owner"' in web_client(org.admin).get(
        reverse("customers:list")).content.decode()


def test_list_masks_for_rep_and_shows_full_for_admin_with_audit(web_client, org, cust):
    rep_html = web_client(org.rep_a).get(reverse("customers:list")).content.decode()
    assert "138****5678" in rep_html and "13812345678" not in rep_html and "1234 5678" not in rep_html
    assert not AuditLog.objects.filter(action="pii.view").exists()
    admin_html = web_client(org.admin).get(reverse("customers:list")).content.decode()
    assert "138 1234 5678" in admin_html
    log = AuditLog.objects.get(action="pii.view")
    assert log.actor == org.admin and log.detail["context"] == "customer_list" and log.detail["customer_ids"] == [
        cust.pk]


def test_list_does_not_show_invisible_and_norole_is_forbidden(web_client, org, cust):
    assert "张伟" not in web_client(org.rep_b).get(reverse("customers:list")).content.decode()
    assert web_client(org.norole).get(reverse("customers:list")).status_code == 403
    assert web_client(org.rep_b).get(reverse("customers:detail", args=[cust.pk])).status_code == 404


def test_list_bad_params_do_not_fail(web_client, org, cust):
    r = web_client(org.admin).get(reverse("customers:list"), {"status": "x", "sort": "zzz", "cursor": "%%", "size": "0"})
    assert r.status_code == 200 and "张伟" in r.content.decode()


def test_detail_page_and_pii_audit(web_client, org, cust):
    services.log_interaction(actor=org.rep_a, customer_id=cust.pk, kind="call", subject="回访电话")
    services.set_consent(actor=org.rep_a, customer_id=cust.pk, channel="sms", purpose="marketing", status="granted")
    r = web_client(org.rep_a).get(reverse("customers:detail", args=[cust.pk]))
    html = r.content.decode()
    assert r.status_code == 200 and "回访电话" in html and "138****5678" in html and "13812345678" not in html
    assert "Change history" not in html  # reps do not have audit.view
    assert not AuditLog.objects.filter(action="pii.view").exists()
    r = web_client(org.admin).get(reverse("customers:detail", args=[cust.pk]))
    html = r.content.decode()
    assert "Change history" in html and "customer.create" in html and "138 1234 5678" in html
    assert AuditLog.objects.filter(action="pii.view", customer_id=cust.pk, actor=org.admin).count() == 1


def test_detail_query_count_does_not_grow(web_client, org, cust, django_assert_max_num_queries):
    w = web_client(org.admin)
    url = reverse("customers:detail", args=[cust.pk])
    w.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        w.get(url)
    for i in range(30):
        services.log_interaction(actor=org.rep_a, customer_id=cust.pk, kind="note", subject=f"n{i}")
        services.add_contact_point(actor=org.rep_a, customer_id=cust.pk, kind="email", value=f"a{i}@example.com")
    with django_assert_max_num_queries(len(small.captured_queries)):
        r = w.get(url)
    assert r.content.decode().count("cust-event") == 20  # the first page of the timeline


def test_detail_shows_recent_orders(web_client, org, cust):
    from clientwise.commerce.models import Order

    Order.objects.create(number="SO-1001", customer=cust, ordered_at=timezone.now() - dt.timedelta(days=2),
                         amount=Decimal("199.00"))
    html = web_client(org.rep_a).get(reverse("customers:detail", args=[cust.pk])).content.decode()
    assert "SO-1001" in html and reverse("commerce:order_detail", kwargs={"pk": Order.objects.get().pk}) in html


def test_timeline_load_more_and_filter(web_client, org, cust):
    base = timezone.now() - dt.timedelta(days=1)
    for i in range(25):
        services.log_interaction(actor=org.rep_a, customer_id=cust.pk, kind="note", subject=f"note-{i:02d}",
                                 occurred_at=base + dt.timedelta(minutes=i))
    w = web_client(org.rep_a)
    card = w.get(reverse("customers:timeline", args=[cust.pk]), {"kind": "note"}, **HX).content.decode()
    assert card.count("cust-event") == 20 and "note-24" in card and "note-04" not in card
    import re

    more_url = re.search(r'hx-get="([^"]*cursor=[^"]*)"', card).group(1).replace("&amp;", "&")
    more = w.get(more_url, **HX).content.decode()
    assert more.count("cust-event") == 5 and "note-04" in more and "note-00" in more and "Load more" not in more
    calls = w.get(reverse("customers:timeline", args=[cust.pk]), {"kind": "call"}, **HX).content.decode()
    assert "Nothing of this kind yet." in calls


def test_log_interaction_form(web_client, org, cust):
    w = web_client(org.rep_a)
    url = reverse("customers:interaction_add", args=[cust.pk])
    r = w.post(url, {"kind": "note", "subject": "", "body": ""}, **HX)
    assert "Write a subject or details." in r.content.decode()
    assert not Interaction.objects.filter(customer=cust, kind="note").exists()
    r = w.post(url, {"kind": "visit", "subject": "到店试穿", "direction": "in"}, **HX)
    assert r.status_code == 200 and "到店试穿" in r.content.decode()
    assert Interaction.objects.filter(customer=cust, kind="visit", subject="到店试穿", actor=org.rep_a).count() == 1
    assert web_client(org.marketer).post(url, {"kind": "call", "subject": "x"}, **HX).status_code == 403


def test_contact_htmx_add_edit_primary_delete(web_client, org, cust):
    w = web_client(org.rep_a)
    r = w.post(reverse("customers:contact_add", args=[cust.pk]), {"kind": "mobile", "value": "12"}, **HX)
    assert "is not a" in r.content.decode() and ContactPoint.objects.filter(customer=cust).count() == 1
    r = w.post(reverse("customers:contact_add", args=[cust.pk]), {"kind": "mobile", "value": "13900001111"}, **HX)
    assert r.status_code == 200 and "139****1111" in r.content.decode()
    cp = ContactPoint.objects.get(customer=cust, value="+8613900001111")
    r = w.get(reverse("customers:contact_edit", args=[cust.pk, cp.pk]), **HX)
    assert 'name="label"' in r.content.decode()
    w.post(reverse("customers:contact_edit", args=[cust.pk, cp.pk]), {"value": "", "label": "工作", "status": "valid"},
           **HX)
    cp.refresh_from_db()
    assert (cp.label, cp.value) == ("工作", "+8613900001111")
    w.post(reverse("customers:contact_primary", args=[cust.pk, cp.pk]), **HX)
    cust.refresh_from_db()
    assert cust.mobile == "+8613900001111"
    w.post(reverse("customers:contact_delete", args=[cust.pk, cp.pk]), **HX)
    cust.refresh_from_db()
    assert cust.mobile == "+8613812345678" and not ContactPoint.objects.filter(pk=cp.pk).exists()


def test_consent_toggle(web_client, org, cust):
    w = web_client(org.rep_a)
    url = reverse("customers:consent_set", args=[cust.pk])
    r = w.post(url, {"channel": "email", "purpose": "service", "status": "granted"}, **HX)
    assert r.status_code == 200 and 'id="consents-card"' in r.content.decode()
    assert list(cust.consents.values_list("channel", "purpose", "status")) == [("email", "service", "granted")]
    r = w.post(url, {"channel": "fax", "purpose": "service", "status": "granted"}, **HX)
    assert "Choose a channel" in r.content.decode() and cust.consents.count() == 1


def test_create_form_shows_errors_and_keeps_input(web_client, org):
    w = web_client(org.rep_a)
    r = w.post(reverse("customers:create"), {"kind": "person", "status": "active", "name": "",
                                             "mobile": "12345", "city": "苏州", "owner": org.rep_a.pk})
    html = r.content.decode()
    assert r.status_code == 200 and "Name is required." in html and "“12345” is not a valid phone number." in html
    assert 'value="苏州"' in html and 'value="12345"' in html
    assert Customer.objects.count() == 0
    r = w.post(reverse("customers:create"), {"kind": "person", "status": "active", "name": "王芳",
                                             "mobile": "13812345678", "tags": "VIP，新客", "owner": org.rep_a.pk,
                                             "team": org.team_a.pk})
    c = Customer.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("customers:detail", args=[c.pk])
    assert sorted(c.tags.values_list("name", flat=True)) == ["VIP", "新客"] and c.mobile == "+8613812345678"


def test_edit_form_custom_attributes(web_client, org, cust):
    services.define_attribute(actor=org.admin, key="shoe_size", label="鞋码", type="number")
    services.define_attribute(actor=org.admin, key="vip", label="VIP", type="boolean")
    w = web_client(org.rep_a)
    url = reverse("customers:edit", args=[cust.pk])
    assert 'name="custom_shoe_size"' in w.get(url).content.decode()
    data = {"kind": "person", "status": "active", "name": "张伟", "owner": org.rep_a.pk, "team": org.team_a.pk,
            "custom_shoe_size": "big", "custom_vip": "true"}
    r = w.post(url, data)
    assert "鞋码 must be a number." in r.content.decode() and 'value="big"' in r.content.decode()
    r = w.post(url, {**data, "custom_shoe_size": "42"})
    assert r.status_code == 302
    cust.refresh_from_db()
    assert cust.custom == {"shoe_size": 42.0, "vip": True}


def test_edit_owner_out_of_scope_error_on_field(web_client, org, cust):
    r = web_client(org.rep_a).post(reverse("customers:edit", args=[cust.pk]), {
        "kind": "person", "status": "active", "name": "张伟", "owner": "", "team": org.team_a.pk})
    assert "This change would move the customer out of what you may see." in r.content.decode()
    cust.refresh_from_db()
    assert cust.owner_id == org.rep_a.pk


def test_archive_restore_and_share(web_client, org, cust):
    assert web_client(org.rep_a).post(reverse("customers:archive", args=[cust.pk])).status_code == 403
    w = web_client(org.manager_a)
    assert w.post(reverse("customers:archive", args=[cust.pk])).status_code == 302
    assert Customer.objects.get(pk=cust.pk).archived_at is not None
    w.post(reverse("customers:restore", args=[cust.pk]))
    assert Customer.objects.get(pk=cust.pk).archived_at is None
    web_client(org.rep_a).post(reverse("customers:share", args=[cust.pk]), {"team": org.team_b.pk})
    assert web_client(org.rep_b).get(reverse("customers:detail", args=[cust.pk])).status_code == 200


def test_export_masked_audited_and_visible_only(web_client, org, cust):
    make_customer(org.rep_b, "王芳", mobile="13900001111")
    assert web_client(org.rep_a).get(reverse("dataio:export_customers", args=["csv"])).status_code == 403
    assert not AuditLog.objects.filter(action="export.customers").exists()
    r = web_client(org.analyst).get(reverse("dataio:export_customers", args=["csv"]), {"q": "张", "headers": "codes"})
    text = b"".join(r.streaming_content).decode("utf-8")
    assert r["Content-Type"] == "text/csv; charset=utf-8" and text.startswith("\ufeffid,name,")
    assert "张伟" in text and "138****5678" in text and "13812345678" not in text and "王芳" not in text
    log = AuditLog.objects.get(action="export.customers")
    assert log.actor == org.analyst
    assert (log.detail["format"], log.detail["count"], log.detail["masked"]) == ("csv", 1, True)
    assert log.detail["filters"]["q"] == "张"
    manager_csv = b"".join(web_client(org.manager_a).get(reverse("dataio:export_customers", args=["csv"])).streaming_content).decode()
    assert "+8613812345678" in manager_csv and "王芳" not in manager_csv


def test_attribute_admin(web_client, org):
    assert web_client(org.manager_a).get(reverse("customers:attribute_list")).status_code == 403
    w = web_client(org.admin)
    r = w.post(reverse("customers:attribute_create"), {"key": "Bad Key", "label": "", "type": "text"})
    html = r.content.decode()
    assert "Key: lower-case letters" in html and "Label is required." in html
    r = w.post(reverse("customers:attribute_create"), {"key": "store", "label": "门店", "type": "choice",
                                                       "choices": "南京西路\n徐家汇\n"})
    assert r.status_code == 302
    attr = CustomAttribute.objects.get()
    assert attr.choices == ["南京西路", "徐家汇"]
    assert "门店" in w.get(reverse("customers:attribute_list")).content.decode()
    w.post(reverse("customers:attribute_edit", args=[attr.pk]), {"key": "store", "label": "常去门店", "type": "choice",
                                                                 "choices": "A"})
    attr.refresh_from_db()
    assert (attr.label, attr.choices) == ("常去门店", ["A"])
    w.post(reverse("customers:attribute_delete", args=[attr.pk]))
    assert not CustomAttribute.objects.exists()


def test_edit_without_pii_keeps_id_number(web_client, org):
    c = make_customer(org.rep_a, "张伟", id_number="110105199001011234")
    w = web_client(org.rep_a)
    form = w.get(reverse("customers:edit", args=[c.pk])).content.decode()
    assert "110105199001011234" not in form and "110***********1234" in form
    r = w.post(reverse("customers:edit", args=[c.pk]), {"kind": "person", "status": "active", "name": "张伟",
                                                        "owner": org.rep_a.pk, "team": org.team_a.pk,
                                                        "id_number": "", "city": "上海"})
    assert r.status_code == 302
    c.refresh_from_db()
    assert (c.id_number, c.city) == ("110105199001011234", "上海")


def test_create_warns_about_a_likely_existing_customer(web_client, org):
    existing = make_customer(org.rep_a, "张伟", mobile="13812345678")
    other_team = make_customer(org.rep_b, "王芳", email="wang@example.com")
    w = web_client(org.rep_a)
    form = {"kind": "person", "name": "张 伟", "status": "active", "mobile": "138-1234-5678", "owner": org.rep_a.pk,
            "team": org.team_a.pk}
    r = w.post(reverse("customers:create"), form)
    assert r.status_code == 200 and Customer.objects.count() == 2
    html = r.content.decode()
    assert 'id="likely-duplicates"' in html and reverse("customers:detail", args=[existing.pk]) in html
    assert "same mobile" in html and 'value="张 伟"' in html
    # A customer the rep may not see is never revealed by the warning.
    r = w.post(reverse("customers:create"), {**form, "mobile": "", "email": "wang@example.com", "name": "王芳"})
    assert r.status_code == 302 and reverse("customers:detail", args=[other_team.pk]) not in r.content.decode()
    # Confirming creates the second record.
    r = w.post(reverse("customers:create"), {**form, "confirm_duplicates": "1"})
    assert r.status_code == 302 and Customer.objects.filter(name="张 伟").count() == 1


def test_detail_shows_data_quality_after_a_run(web_client, org, cust):
    from clientwise.dataio.quality.services import run_quality

    url = reverse("customers:detail", args=[cust.pk])
    assert 'id="data-quality"' not in web_client(org.rep_a).get(url).content.decode()
    run_quality(actor=org.admin)
    html = web_client(org.rep_a).get(url).content.decode()
    assert 'id="data-quality"' in html and "Completeness" in html and "Validity" in html


def test_archived_duplicate_points_to_its_survivor(web_client, org, cust):
    from clientwise.dataio.identity.services import merge

    dup = make_customer(org.rep_a, "张伟", mobile="13812345678")
    merge(actor=org.admin, survivor_id=cust.pk, duplicate_ids=[dup.pk])
    w = web_client(org.admin)
    html = w.get(reverse("customers:detail", args=[dup.pk])).content.decode()
    assert 'id="merged-into"' in html and reverse("customers:detail", args=[cust.pk]) in html
    assert 'id="merged-into"' not in w.get(reverse("customers:detail", args=[cust.pk])).content.decode()


def test_detail_points_to_a_pending_duplicate_pair_for_mergers_only(web_client, org, cust):
    from clientwise.dataio.identity.models import DuplicateCandidate

    other = make_customer(org.rep_a, "张 伟", mobile="13812345678")
    pair = DuplicateCandidate.objects.create(customer_a_id=cust.pk, customer_b_id=other.pk, probability=0.99,
                                             evidence={})
    url = reverse("customers:detail", args=[cust.pk])
    html = web_client(org.admin).get(url).content.decode()
    assert 'id="possible-duplicate"' in html and reverse("identity:pair", args=[pair.pk]) in html
    assert 'id="possible-duplicate"' not in web_client(org.rep_a).get(url).content.decode()  # may not merge


def test_forms_on_the_360_page_are_fetched_when_opened(web_client, org, cust):
    """The 360 page does not render the "log interaction" and "add contact" forms (they cost more than the rest of
    the cards); the buttons fetch them, and a form with errors comes back open."""
    w = web_client(org.rep_a)
    page = w.get(reverse("customers:detail", args=[cust.pk])).content.decode()
    assert 'name="subject"' not in page and 'name="postal_code"' not in page
    assert f'hx-get="{reverse("customers:interaction_form", args=[cust.pk])}"' in page
    assert f'hx-get="{reverse("customers:contact_form", args=[cust.pk])}"' in page
    form = w.get(reverse("customers:interaction_form", args=[cust.pk]), **HX).content.decode()
    assert 'name="subject"' in form and reverse("customers:interaction_add", args=[cust.pk]) in form
    form = w.get(reverse("customers:contact_form", args=[cust.pk]), **HX).content.decode()
    assert 'name="value"' in form and reverse("customers:contact_add", args=[cust.pk]) in form
    bad = w.post(reverse("customers:interaction_add", args=[cust.pk]), {"kind": "note"}, **HX).content.decode()
    assert 'name="subject"' in bad and "collapse show" in bad
    # Reading the forms needs the change right and the customer's visibility.
    assert web_client(org.marketer).get(reverse("customers:interaction_form", args=[cust.pk])).status_code == 403
    assert web_client(org.rep_b).get(reverse("customers:contact_form", args=[cust.pk])).status_code == 404


def test_every_timeline_kind_has_its_icon():
    from clientwise.customers.templatetags.customers_extras import KIND_ICONS

    assert set(Interaction.Kind.values) <= set(KIND_ICONS)


def test_pii_views_are_one_row_a_day_in_the_audit_log_and_not_in_the_change_history(web_client, org, cust):
    w = web_client(org.admin)
    for _ in range(3):
        html = w.get(reverse("customers:detail", args=[cust.pk])).content.decode()
    log = AuditLog.objects.get(action="pii.view", customer_id=cust.pk, actor=org.admin)
    assert (log.detail["views"], log.detail["context"]) == (3, "customer_360")
    history = html.split("Change history")[1]
    assert "customer.create" in history and "pii.view" not in history
    # Another user's views are their own row; the audit log page lists the views.
    web_client(org.manager_a).get(reverse("customers:detail", args=[cust.pk]))
    assert AuditLog.objects.filter(action="pii.view", customer_id=cust.pk).count() == 2
    assert "pii.view" in w.get(reverse("core:audit"), {"action": "pii.view"}).content.decode()


def test_owner_without_the_pii_right_reveals_a_phone_on_click_audited_and_rate_limited(web_client, org, cust,
                                                                                      settings):
    """A sales rep can call their own customer: the masked number has a Show button; showing it is audited and
    limited per hour. A user who is neither owner nor working with the customer cannot."""
    from django.core.cache import cache

    from clientwise.customers.models import ContactPoint

    cache.clear()
    settings.PII_REVEALS_PER_HOUR = 2
    mobile = ContactPoint.objects.get(customer=cust, kind="mobile")
    rep = web_client(org.rep_a)
    html = rep.get(reverse("customers:detail", args=[cust.pk])).content.decode()
    url = reverse("customers:contact_reveal", args=[cust.pk, mobile.pk])
    assert "138****5678" in html and url in html
    r = rep.post(url, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and 'href="tel:+8613812345678"' in r.content.decode()
    log = AuditLog.objects.get(action="pii.reveal")
    assert (log.actor, log.customer_id, log.detail["kind"]) == (org.rep_a, cust.pk, "mobile")
    assert rep.post(url).status_code == 200
    assert rep.post(url).status_code == 429  # the third this hour
    assert AuditLog.objects.filter(action="pii.reveal").count() == 2
    # The analyst sees the customer masked and may not reveal it: no button, 403, nothing audited.
    analyst = web_client(org.analyst)
    assert url not in analyst.get(reverse("customers:detail", args=[cust.pk])).content.decode()
    assert analyst.post(url).status_code == 403
    assert AuditLog.objects.filter(action="pii.reveal").count() == 2
    # A user with the right sees the number as a tel: link at once.
    assert 'href="tel:+8613812345678"' in web_client(org.admin).get(
        reverse("customers:detail", args=[cust.pk])).content.decode()


def test_an_open_call_task_lets_a_colleague_reveal_the_phone(web_client, org, cust):
    from django.core.cache import cache

    from clientwise.customers import services as customer_services
    from clientwise.customers.models import ContactPoint
    from clientwise.sales.models import Activity

    cache.clear()
    assert not customer_services.may_reveal_contact(org.analyst, cust)
    Activity.objects.create(kind="call", subject="回访", assignee=org.analyst, customer=cust)
    assert customer_services.may_reveal_contact(org.analyst, cust)
    mobile = ContactPoint.objects.get(customer=cust, kind="mobile")
    assert web_client(org.analyst).post(reverse("customers:contact_reveal", args=[cust.pk, mobile.pk])
                                        ).status_code == 200
