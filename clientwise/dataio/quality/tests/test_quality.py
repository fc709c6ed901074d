"""Data quality: exact scores and flags on crafted customers, the run's bookkeeping, visibility of the
drill-down, the page, the API, the command and the permission to recompute."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from clientwise.core.errors import PermissionDenied
from clientwise.core.models import AuditLog
from clientwise.core.testing import assert_error
from clientwise.customers import services as cs
from clientwise.customers.models import ContactPoint, Customer, Interaction
from clientwise.dataio.quality import queries, services
from clientwise.dataio.quality.models import CustomerQuality, QualityRun


@dataclass
class Crafted:
    full: Customer  # rep_a's, every key field, consent → 100 / 100
    sparse: Customer  # admin's, only a name, untouched for two years → 14 / 100, stale
    broken: Customer  # rep_a's, bad mobile, bad email, birth in the future, bounced email → 86 / 0
    org: Customer  # rep_b's organization, invalid landline → 83 / 50
    archived: Customer  # not scored


def backdate(customer: Customer, when: dt.datetime) -> None:
    Customer.objects.filter(pk=customer.pk).update(updated_at=when, created_at=when)
    Interaction.objects.filter(customer_id=customer.pk).update(occurred_at=when)


@pytest.fixture
def crafted(org) -> Crafted:
    full = cs.create_customer(actor=org.rep_a, mobile="13812345678", email="zhang.wei@example.com",
                              data={"name": "张伟", "gender": "f", "birth_date": dt.date(1990, 1, 1), "city": "上海"})
    cs.set_consent(actor=org.rep_a, customer_id=full.pk, channel="sms", purpose="marketing", status="granted")

    sparse = cs.create_customer(actor=org.admin, data={"name": "无名"})
    Customer.objects.filter(pk=sparse.pk).update(owner=None)  # the admin became its owner; an import might not
    backdate(sparse, timezone.now() - dt.timedelta(days=800))

    broken = cs.create_customer(actor=org.rep_a, data={"name": "错号", "gender": "m", "city": "北京"})
    cs.add_contact_point(actor=org.rep_a, customer_id=broken.pk, kind="email", value="bounce@example.com")
    ContactPoint.objects.filter(customer_id=broken.pk).update(status=ContactPoint.Status.BOUNCED)
    # Values the services would refuse, as an old import might have left them.
    Customer.objects.filter(pk=broken.pk).update(mobile="+86123", email="not-an-email",
                                                 birth_date=dt.date(2100, 1, 1))

    org_c = cs.create_customer(actor=org.rep_b, mobile="13900001111",
                               data={"name": "星河商贸", "kind": "organization", "industry": "零售", "city": "深圳"})
    cs.add_contact_point(actor=org.rep_b, customer_id=org_c.pk, kind="landline", value="021-64381234")
    ContactPoint.objects.filter(customer_id=org_c.pk, kind="landline").update(status=ContactPoint.Status.INVALID)

    archived = cs.create_customer(actor=org.rep_a, data={"name": "已归档"})
    cs.archive_customer(actor=org.manager_a, customer_id=archived.pk)
    return Crafted(full=full, sparse=sparse, broken=broken, org=org_c, archived=archived)


def scores() -> dict[str, tuple]:
    return {row.customer.name: (row.filled, row.fields, row.completeness, row.passed, row.checks, row.validity,
                                tuple(row.problems))
            for row in CustomerQuality.objects.select_related("customer")}


def test_scores_and_flags_are_exact(org, crafted):
    run = services.run_quality()
    assert scores() == {
        "张伟": (7, 7, 100, 4, 4, 100, ()),
        "无名": (1, 7, 14, 0, 0, 100, ("stale", "no_contact", "missing_consent", "no_owner")),
        "错号": (6, 7, 86, 0, 4, 0, ("invalid_phone", "invalid_email", "bounced_email", "missing_consent",
                                     "bad_birth_date")),
        "星河商贸": (5, 6, 83, 1, 2, 50, ("invalid_phone", "missing_consent")),
    }
    assert (run.status, run.customers, run.stale_months, run.actor) == ("done", 4, 12, None)
    assert run.counts == {"stale": 1, "no_contact": 1, "invalid_phone": 2, "invalid_email": 1, "bounced_email": 1,
                          "missing_consent": 3, "no_owner": 1, "bad_birth_date": 1}
    assert (run.avg_completeness, run.avg_validity) == (70.8, 62.5)  # (100+14+86+83)/4, (100+100+0+50)/4
    assert set(CustomerQuality.objects.values_list("run_id", flat=True)) == {run.pk}


def test_stale_window_is_configurable_and_activity_counts(org, crafted):
    # Three months quiet: stale with a two-month window, not with the default twelve.
    backdate(crafted.full, timezone.now() - dt.timedelta(days=92))
    services.run_quality(stale_months=2)
    assert CustomerQuality.objects.get(customer=crafted.full).stale is True
    services.run_quality()
    assert CustomerQuality.objects.get(customer=crafted.full).stale is False
    # A recent interaction makes a quiet record fresh again.
    cs.log_interaction(actor=org.admin, customer_id=crafted.sparse.pk, kind="call", subject="回访")
    Customer.objects.filter(pk=crafted.sparse.pk).update(updated_at=timezone.now() - dt.timedelta(days=800))
    services.run_quality()
    assert CustomerQuality.objects.get(customer=crafted.sparse).stale is False


def test_rerun_upserts_and_drops_archived_customers(org, crafted):
    first = services.run_quality()
    ids = dict(CustomerQuality.objects.values_list("customer_id", "id"))
    cs.set_consent(actor=org.rep_a, customer_id=crafted.broken.pk, channel="sms", purpose="service",
                   status="granted")
    cs.archive_customer(actor=org.admin, customer_id=crafted.org.pk)
    second = services.run_quality()
    assert second.pk != first.pk and second.customers == 3
    row = CustomerQuality.objects.get(customer=crafted.broken)
    assert (row.filled, row.completeness, row.missing_consent, row.run_id) == (7, 100, False, second.pk)
    assert row.id == ids[crafted.broken.pk]  # updated in place
    assert not CustomerQuality.objects.filter(customer=crafted.org).exists()


def test_only_admins_may_run(org, crafted):
    for user in (org.manager_a, org.analyst, org.rep_a):
        with pytest.raises(PermissionDenied):
            services.run_quality(actor=user)
        with pytest.raises(PermissionDenied):
            services.request_run(actor=user)
    assert not QualityRun.objects.exists() and not CustomerQuality.objects.exists()
    run = services.run_quality(actor=org.admin)
    log = AuditLog.objects.get(action="quality.run")
    assert (log.actor, log.object_id, log.detail["customers"]) == (org.admin, str(run.pk), 4)


def test_a_failed_run_is_recorded(org, crafted, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "indicators", boom)
    with pytest.raises(RuntimeError):
        services.run_quality()
    run = QualityRun.objects.get()
    assert (run.status, run.error) == ("failed", "disk full")


def test_months_before_clamps_the_day():
    assert services.months_before(dt.date(2026, 5, 31), 3) == dt.date(2026, 2, 28)
    assert services.months_before(dt.date(2026, 1, 15), 12) == dt.date(2025, 1, 15)
    assert services.months_before(dt.date(2026, 3, 31), 13) == dt.date(2025, 2, 28)


def test_summary_distribution_and_drill_down_follow_visibility(org, crafted):
    services.run_quality()
    # rep_a owns 张伟 and 错号; rep_b the organization; the admin sees all four (无名 has no owner).
    assert queries.summary(org.rep_a)["total"] == 2
    assert queries.summary(org.rep_a)["counts"]["missing_consent"] == 1
    assert queries.summary(org.admin)["counts"] == {
        "incomplete": 1, "stale": 1, "no_contact": 1, "invalid_phone": 2, "invalid_email": 1, "bounced_email": 1,
        "missing_consent": 3, "no_owner": 1, "bad_birth_date": 1}
    # 无名 has nothing to check (no phone, e-mail or ID): no validity score, so not in the 90–100 band (issue 15).
    assert queries.distribution(org.admin) == {"completeness": [0, 1, 0, 0, 0, 0, 0, 0, 2, 1],
                                               "validity": [1, 0, 0, 0, 0, 1, 0, 0, 0, 1]}
    assert queries.affected_page(org.admin, queries.parse_filter(None, "validity", "9")).items and all(
        r.checks for r in queries.affected_page(org.admin, queries.parse_filter(None, "validity", "9")).items)
    page = queries.affected_page(org.rep_b, queries.parse_filter("invalid_phone"))
    assert [r.customer.name for r in page.items] == ["星河商贸"]
    page = queries.affected_page(org.admin, queries.parse_filter("invalid_phone"))
    assert [r.customer.name for r in page.items] == ["星河商贸", "错号"]  # least complete first
    page = queries.affected_page(org.admin, queries.parse_filter(None, "completeness", "8"))
    assert sorted(r.customer.name for r in page.items) == ["星河商贸", "错号"]
    assert queries.affected_page(org.norole, queries.parse_filter("")).items == []


def test_customer_quality_for_the_360(org, crafted):
    assert queries.customer_quality(crafted.broken.pk) is None
    services.run_quality()
    info = queries.customer_quality(crafted.sparse.pk)
    assert (info.completeness, info.validity, info.filled, info.fields) == (14, 100, 1, 7)
    assert [k for k, _label in info.problems] == ["incomplete", "stale", "no_contact", "missing_consent", "no_owner"]
    assert info.problems[0][1] == "Incomplete profile"


# ----- page -----------------------------------------------------------------------------------------------------


def test_page_renders_cards_chart_and_visible_drill_down(web_client, org, crafted):
    services.run_quality()
    r = web_client(org.rep_a).get(reverse("quality:index"), {"problem": "missing_consent"})
    html = r.content.decode()
    assert r.status_code == 200
    assert 'data-dq-problem="bounced_email"' in html and "echarts.min.js" in html and 'id="dq-distribution"' in html
    assert "错号" in html and "星河商贸" not in html and "无名" not in html
    assert reverse("customers:edit", args=[crafted.broken.pk]) in html
    assert reverse("quality:recompute") not in html  # no button for a sales rep
    # The HTMX request gets only the table.
    r = web_client(org.admin).get(reverse("quality:index"), {"problem": "no_owner"}, headers={"HX-Request": "true"})
    html = r.content.decode()
    assert "<html" not in html and "无名" in html and "张伟" not in html
    # 无名 has nothing to check: its validity reads "no checks", not a perfect "100 0/0" (issue 15).
    assert "0/0" not in html and "no checks" in html
    assert reverse("quality:recompute") in web_client(org.admin).get(reverse("quality:index")).content.decode()


def test_page_before_any_run_and_with_bad_parameters(web_client, org, crafted):
    r = web_client(org.admin).get(reverse("quality:index"), {"problem": "nope", "band": "x", "cursor": "garbage"})
    assert r.status_code == 200 and "Not computed yet." in r.content.decode()


def test_page_permissions(client, web_client, org, crafted):
    r = client.get(reverse("quality:index"))
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
    assert web_client(org.norole).get(reverse("quality:index")).status_code == 403
    assert web_client(org.manager_a).post(reverse("quality:recompute")).status_code == 403
    assert not QualityRun.objects.exists()
    r = web_client(org.admin).post(reverse("quality:recompute"))
    assert r.status_code == 302
    assert QualityRun.objects.get().status == "done" and CustomerQuality.objects.count() == 4


# ----- API and command --------------------------------------------------------------------------------------------


def test_api(api_client, org, crafted):
    assert_error(api_client(org.analyst).post("quality/runs", {}), 403, "permission_denied")
    assert not QualityRun.objects.exists()
    r = api_client(org.admin).post("quality/runs", {"stale_months": 6})
    assert r.status_code == 202 and r.json()["run"]["customers"] == 4 and r.json()["run"]["stale_months"] == 6

    body = api_client(org.rep_a).get("quality/summary").json()
    assert (body["total"], body["counts"]["invalid_email"], body["completeness_bands"][8]) == (2, 1, 1)
    body = api_client(org.admin).get("quality/customers", {"problem": "bounced_email"}).json()
    assert [(i["name"], i["validity"], i["problems"]) for i in body["items"]] == [
        ("错号", 0, ["invalid_phone", "invalid_email", "bounced_email", "missing_consent", "bad_birth_date"])]
    assert api_client(org.rep_b).get(f"customers/{crafted.org.pk}/quality").json()["completeness"] == 83
    assert_error(api_client(org.rep_b).get(f"customers/{crafted.full.pk}/quality"), 404)
    assert_error(api_client(org.admin).get("quality/customers", {"problem": "nope"}), 400, "invalid")
    assert_error(api_client(org.norole).get("quality/summary"), 403)
    assert_error(api_client(None).get("quality/summary"), 401)


def test_command(org, crafted):
    out = StringIO()
    call_command("quality", "--stale-months", "24", stdout=out)
    text = out.getvalue()
    assert "Scored 4 customers" in text and "stale after 24 months" in text
    assert "missing_consent" in text and QualityRun.objects.get().stale_months == 24
