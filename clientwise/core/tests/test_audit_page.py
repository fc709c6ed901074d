"""The audit log page: who may read what, filters, keyset pages, readable diffs, PII masking."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from clientwise.accounts import services as account_services
from clientwise.core.audit import audit
from clientwise.core.models import AuditLog

pytestmark = pytest.mark.django_db


def ids(response):
    return [row.entry.id for row in response.context["rows"]]


@pytest.fixture
def log(org, sales):
    """Known audit rows on top of those the fixtures wrote."""
    from clientwise.customers.services import update_customer

    update_customer(actor=org.rep_b, customer_id=sales.cust_b.pk, data={"name": "李娜娜"})
    update_customer(actor=org.rep_a, customer_id=sales.cust_a.pk, data={"name": "张伟伟"})
    account_services.update_user(actor=org.admin, user=org.rep_b, view_pii=True)
    return AuditLog.objects.all()


@pytest.mark.parametrize("role", ["rep_a", "agent", "marketer", "analyst", "norole"])
def test_only_admins_and_managers_may_open_it(org, web_client, role):
    assert web_client(getattr(org, role)).get(reverse("core:audit")).status_code == 403


def test_admin_sees_every_row(org, log, web_client):
    r = web_client(org.admin).get(reverse("core:audit"))
    assert r.status_code == 200
    assert ids(r) == list(AuditLog.objects.order_by("-id").values_list("id", flat=True)[:50])


def test_manager_sees_team_customers_and_team_actions_only(org, sales, log, web_client):
    from clientwise.accounts.models import User

    team_users = set(User.objects.filter(team_id=org.team_a.pk).values_list("pk", flat=True))
    visible_customers = {sales.cust_a.pk, sales.cust_a2.pk}
    r = web_client(org.manager_a).get(reverse("core:audit"))
    shown = AuditLog.objects.filter(id__in=ids(r))
    expected = [e.id for e in AuditLog.objects.order_by("-id")
                if e.actor_id in team_users or e.customer_id in visible_customers]
    assert ids(r) == expected
    assert not shown.filter(customer_id=sales.cust_b.pk).exists()
    assert not shown.filter(action="user.update").exists()  # the admin changing rep_b (team B)
    assert shown.filter(customer_id=sales.cust_a.pk, action="customer.update").exists()


def test_filters(org, sales, log, web_client):
    c = web_client(org.admin)
    r = c.get(reverse("core:audit"), {"action": "customer.update"})
    assert {AuditLog.objects.get(pk=i).action for i in ids(r)} == {"customer.update"} and len(ids(r)) == 2
    r = c.get(reverse("core:audit"), {"action": "customer."})
    assert {AuditLog.objects.get(pk=i).action.split(".")[0] for i in ids(r)} == {"customer"}
    r = c.get(reverse("core:audit"), {"actor": org.rep_b.pk, "customer": sales.cust_b.pk, "action": "customer.update"})
    assert len(ids(r)) == 1
    r = c.get(reverse("core:audit"), {"object_type": "accounts.user", "object_id": str(org.rep_b.pk)})
    assert [AuditLog.objects.get(pk=i).action for i in ids(r)] == ["user.update", "user.create"]
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert ids(c.get(reverse("core:audit"), {"date_from": tomorrow.isoformat()})) == []
    assert len(ids(c.get(reverse("core:audit"), {"date_to": timezone.localdate().isoformat()}))) == min(
        50, AuditLog.objects.count())


def test_bad_filter_values_are_not_errors(org, log, web_client):
    r = web_client(org.admin).get(reverse("core:audit"), {"date_from": "not-a-date", "actor": "x",
                                                           "cursor": "###"})
    assert r.status_code == 200
    assert "is not a date" in r.content.decode()


def test_diff_is_shown_before_and_after(org, sales, log, web_client):
    r = web_client(org.admin).get(reverse("core:audit"), {"action": "customer.update", "actor": org.rep_b.pk})
    body = r.content.decode()
    assert "<del>李娜</del>" in body and "<ins>李娜娜</ins>" in body


def test_htmx_request_gets_only_the_table(org, log, web_client):
    r = web_client(org.admin).get(reverse("core:audit"), {"action": "user.update"},
                                  headers={"HX-Request": "true", "HX-Target": "cw-audit"})
    body = r.content.decode()
    assert "<html" not in body and "<table" in body and "user.update" in body


def test_keyset_pages(org, web_client):
    for i in range(60):
        audit(actor=org.admin, action="test.row", object_type="x.y", object_id=i)
    c = web_client(org.admin)
    first = c.get(reverse("core:audit"), {"action": "test.row"})
    assert len(ids(first)) == 50
    second = c.get(reverse("core:audit"), {"action": "test.row", "cursor": first.context["page"].next_cursor})
    assert len(ids(second)) == 10
    assert set(ids(first)).isdisjoint(ids(second))
    assert second.context["page"].next_cursor is None


def test_pii_is_masked_for_a_manager_without_the_right(org, sales, web_client):
    from clientwise.customers.services import add_contact_point

    add_contact_point(actor=org.rep_a, customer_id=sales.cust_a.pk, kind="mobile", value="13900001111")
    audit(actor=org.rep_a, action="customer.update", obj=sales.cust_a, customer_id=sales.cust_a.pk,
          before={"mobile": "+8613812345678"}, after={"mobile": "+8613900001111"})
    c = web_client(org.manager_a)
    assert "+8613900001111" in c.get(reverse("core:audit"), {"customer": sales.cust_a.pk}).content.decode()
    account_services.update_user(actor=org.admin, user=org.manager_a, view_pii=False)
    body = c.get(reverse("core:audit"), {"customer": sales.cust_a.pk}).content.decode()
    assert "13900001111" not in body and "139****1111" in body


def test_fields_codes_and_times_read_in_words():
    """Field names come from the model (its translated verbose name), the shared table of the model bases' columns
    or the record a foreign key points to; codes from the label tables by the record's type; times in TIME_ZONE."""
    from django.utils import translation

    from clientwise.core import audit_display as d

    with translation.override("zh-hans"):
        assert d.field_label("service.ticket", "routing_note") == "分派原因"  # its own verbose name
        assert d.field_label("service.ticket", "external_id") == "外部编号"  # a SourcedModel column
        assert d.field_label("service.ticket", "created_by_id") == "创建人"
        assert d.field_label("service.workorderpart", "work_order_id") == "服务单"  # the record it points to
        assert d.field_value("service.ticket", "source", "pos") == "门店收银"
        assert d.field_value("service.ticket", "opened_at", "2026-03-01T16:30:00+00:00") == "2026-03-02 00:30"
        assert d.field_value("service.ticket", "sla_state", "breached") == "已超时"
        assert d.detail_items({"kind": "customers", "source": "pos", "rows": [1, 3]}, "dataio.importjob") == [
            ("类型", "客户"), ("来源", "门店收银"), ("行", [1, 3])]
        assert d.detail_items({"rows": {"commerce": 6, "audit": 1}}, "privacy.subjectrequest") == [
            ("行", "购买记录: 6、审计日志: 1")]
    with translation.override("en"):
        assert d.field_label("customers.customattribute", "position") == "Order on forms"
        assert d.field_label("service.ticket", "source") == "Source"


def test_an_import_upload_reads_without_codes(org, web_client):
    """The upload's entry: its kind and source as words, not 'customers' and 'pos' (issue 15)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from clientwise.accounts.models import User
    from clientwise.dataio.services import create_job

    create_job(actor=org.admin, kind="customers", source="pos",
               upload=SimpleUploadedFile("m.csv", "姓名,手机\n张伟,13812345678\n".encode()))
    User.objects.filter(pk=org.admin.pk).update(language="zh-hans")
    body = web_client(org.admin).get(reverse("core:audit"), {"action": "import.upload"}).content.decode()
    assert "<b>类型</b>: 客户" in body and "<b>来源</b>: 门店收银" in body
    assert ": customers<" not in body and ": pos<" not in body
