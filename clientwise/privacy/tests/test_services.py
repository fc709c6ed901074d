"""Services: rights, visibility, deadlines, the access export, consent withdrawal, and the request's life."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from clientwise.core.models import AuditLog
from clientwise.privacy import queries, services
from clientwise.privacy.models import SubjectRequest
from clientwise.privacy.perms import MANAGE_PRIVACY

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def make_customer(org):
    from clientwise.customers.services import create_customer

    def make(name="王小明", owner=None, **kw):
        owner = owner or org.rep_a
        return create_customer(actor=org.admin, data={"name": name, "owner_id": owner.pk, "team_id": owner.team_id},
                               **kw)

    return make


@pytest.fixture
def manager_may_handle(monkeypatch):
    """Grant privacy.manage to managers for this test, to see that their team scope still applies."""
    monkeypatch.setitem(perms.ROLE_PERMISSIONS, perms.Role.MANAGER,
                        perms.ROLE_PERMISSIONS[perms.Role.MANAGER] | {MANAGE_PRIVACY})


@pytest.mark.parametrize("role", ["manager_a", "rep_a", "agent", "marketer", "analyst", "norole"])
def test_only_administrators_log_requests(org, make_customer, role):
    c = make_customer()
    before = AuditLog.objects.count()
    with pytest.raises(PermissionDenied):
        services.create_request(actor=getattr(org, role), customer_id=c.pk, kind="access")
    assert not SubjectRequest.objects.exists() and AuditLog.objects.count() == before
    assert not queries.visible_requests(getattr(org, role)).exists()


def test_requests_follow_the_customers_visibility(org, make_customer, manager_may_handle):
    mine, theirs = make_customer(owner=org.rep_a), make_customer(owner=org.rep_b)
    with pytest.raises(NotFound):
        services.create_request(actor=org.manager_a, customer_id=theirs.pk, kind="access")
    req_theirs = services.create_request(actor=org.admin, customer_id=theirs.pk, kind="erasure")
    req_mine = services.create_request(actor=org.manager_a, customer_id=mine.pk, kind="access")
    assert list(queries.visible_requests(org.manager_a)) == [req_mine]
    for call in (lambda: services.start_request(actor=org.manager_a, request_id=req_theirs.pk),
                 lambda: services.erase_personal_data(actor=org.manager_a, request_id=req_theirs.pk,
                                                      confirm=theirs.pk),
                 lambda: queries.get_request_for(org.manager_a, req_theirs.pk)):
        with pytest.raises(NotFound):
            call()
    assert SubjectRequest.objects.get(pk=req_theirs.pk).status == "open"


def test_due_day_counts_working_days_in_local_dates(org, make_customer):
    c = make_customer()
    # Received Friday 6 March 2026: fifteen working days end on Friday 27 March.
    friday = dt.datetime(2026, 3, 6, 10, 0, tzinfo=SHANGHAI)
    req = services.create_request(actor=org.admin, customer_id=c.pk, kind="access", received_at=friday)
    assert req.due_on == dt.date(2026, 3, 27)
    # Thursday 16:30 UTC is already Friday 00:30 in Shanghai: the local date decides (a UTC date would say the 26th).
    assert services.due_on(dt.datetime(2026, 3, 5, 16, 30, tzinfo=dt.UTC)) == dt.date(2026, 3, 27)
    assert services.due_on(dt.datetime(2026, 3, 5, 23, 30, tzinfo=SHANGHAI)) == dt.date(2026, 3, 26)


def test_the_deadline_is_a_setting(org, make_customer, settings):
    c = make_customer()
    settings.PRIVACY_RESPONSE_DEADLINE = "1 month"
    received = dt.datetime(2026, 1, 31, 10, tzinfo=SHANGHAI)
    req = services.create_request(actor=org.admin, customer_id=c.pk, kind="access", received_at=received)
    assert req.due_on == dt.date(2026, 2, 28)
    settings.PRIVACY_RESPONSE_DEADLINE = "15 working days"
    req.refresh_from_db()
    assert req.due_on == dt.date(2026, 2, 28)  # a logged request keeps its deadline


def test_the_deadline_setting_is_checked_at_start_up(settings):
    from clientwise.privacy.apps import check_settings

    assert check_settings() == []
    settings.PRIVACY_RESPONSE_DEADLINE = "soon"
    assert [e.id for e in check_settings()] == ["privacy.E001"]


def test_a_service_calendar_can_set_the_working_days(org, make_customer, settings):
    from clientwise.service.models import BusinessCalendar, CalendarDay

    cal = BusinessCalendar.objects.create(name="China 2026", opens=dt.time(9), closes=dt.time(18))
    for d in range(1, 8):
        CalendarDay.objects.create(calendar=cal, date=dt.date(2026, 10, d), kind="holiday")
    CalendarDay.objects.create(calendar=cal, date=dt.date(2026, 10, 10), kind="workday")
    settings.PRIVACY_CALENDAR = "China 2026"
    settings.PRIVACY_RESPONSE_DEADLINE = "3 working days"
    assert services.due_on(dt.datetime(2026, 9, 30, 12, tzinfo=SHANGHAI)) == dt.date(2026, 10, 10)
    settings.PRIVACY_CALENDAR = "no such calendar"  # falls back to Monday–Friday
    assert services.due_on(dt.datetime(2026, 9, 30, 12, tzinfo=SHANGHAI)) == dt.date(2026, 10, 5)


def test_overdue_requests(org, make_customer):
    c = make_customer()
    late = services.create_request(actor=org.admin, customer_id=c.pk, kind="erasure",
                                   received_at=timezone.now() - dt.timedelta(days=40))
    services.create_request(actor=org.admin, customer_id=c.pk, kind="access")
    page = queries.request_page(org.admin, queries.RequestFilters(overdue=True))
    assert [r.pk for r in page.items] == [late.pk]
    assert queries.summary(org.admin) == {"open": 2, "overdue": 1}
    services.reject_request(actor=org.admin, request_id=late.pk, reason="Could not verify identity")
    assert queries.summary(org.admin) == {"open": 1, "overdue": 0}


@pytest.mark.parametrize("data,field", [
    ({"kind": "delete"}, "kind"), ({"received_via": "fax"}, "received_via"),
    ({"received_at": timezone.now() + dt.timedelta(days=2)}, "received_at"),
    ({"received_at": dt.datetime(1990, 1, 1, tzinfo=dt.UTC)}, "received_at"), ({"notes": "x" * 5001}, "notes"),
])
def test_bad_input_is_refused_whole(org, make_customer, data, field):
    c = make_customer()
    with pytest.raises(ValidationFailed) as err:
        services.create_request(actor=org.admin, customer_id=c.pk, **{"kind": "access", **data})
    assert err.value.field == field and not SubjectRequest.objects.exists()


def test_a_merged_away_record_points_to_its_survivor(org, make_customer):
    from clientwise.dataio.identity.services import merge

    keep, dup = make_customer(mobile="13812345678"), make_customer(mobile="13812345679")
    merge(actor=org.admin, survivor_id=keep.pk, duplicate_ids=[dup.pk])
    with pytest.raises(DomainError) as err:
        services.create_request(actor=org.admin, customer_id=dup.pk, kind="erasure")
    assert err.value.status == 409 and err.value.code == "customer_merged" and f"#{keep.pk}" in err.value.message


def test_life_of_a_correction(org, make_customer):
    c = make_customer()
    req = services.create_request(actor=org.admin, customer_id=c.pk, kind="correction")
    assert AuditLog.objects.filter(action="privacy.request", customer_id=c.pk).exists()
    services.start_request(actor=org.admin, request_id=req.pk)
    with pytest.raises(DomainError) as err:
        services.start_request(actor=org.admin, request_id=req.pk)
    assert err.value.status == 409
    with pytest.raises(DomainError) as err:
        services.withdraw_consent(actor=org.admin, request_id=req.pk)
    assert err.value.code == "wrong_request_kind"
    services.complete_request(actor=org.admin, request_id=req.pk, resolution="Birth date corrected")
    req.refresh_from_db()
    assert (req.status, req.handled_by, req.resolution) == ("done", org.admin, "Birth date corrected")
    assert req.closed_at is not None
    for call in (lambda: services.reject_request(actor=org.admin, request_id=req.pk, reason="x"),
                 lambda: services.complete_request(actor=org.admin, request_id=req.pk)):
        with pytest.raises(DomainError) as err:
            call()
        assert err.value.code == "request_closed"


def test_reject_needs_a_reason(org, make_customer):
    req = services.create_request(actor=org.admin, customer_id=make_customer().pk, kind="access")
    with pytest.raises(ValidationFailed):
        services.reject_request(actor=org.admin, request_id=req.pk, reason="  ")
    assert SubjectRequest.objects.get(pk=req.pk).status == "open"


def test_access_export_covers_every_section_and_is_audited(world, org):
    req = services.create_request(actor=org.admin, customer_id=world.person.pk, kind="access")
    with pytest.raises(DomainError) as err:
        services.complete_request(actor=org.admin, request_id=req.pk)
    assert err.value.code == "not_exported"
    export = services.export_data(actor=org.admin, request_id=req.pk, fmt="json")
    tables = {t["key"]: t["rows"] for s in export["sections"] for t in s["tables"]}
    assert [s["key"] for s in export["sections"]] == ["customers", "commerce", "sales", "service", "marketing",
                                                       "analytics", "dataio", "notifications", "requests", "audit"]
    assert {r["name"] for r in tables["profile"]} == {"张三丰"} and len(tables["profile"]) == 2  # merged record too
    assert export["customer_ids"] == sorted([world.person.pk, world.dup.pk])
    assert {r["value"] for r in tables["contact_points"]} >= {"zhangsf88", "杭州市西湖区文三路100号"}
    assert len(tables["orders"]) == 2 and len(tables["order_lines"]) == 3 and "cost" not in tables["orders"][0]
    assert tables["leads"][0]["message"] == "想买冰箱"
    assert tables["tickets"][0]["subject"] == "张三丰投诉" and len(tables["ticket_attachments"]) == 1
    assert tables["work_orders"][0]["address"] == "杭州市西湖区文三路100号"
    assert tables["scores"][0]["value_tier"] == "A" and tables["label_scores"][0]["model"] == "contract_churn"
    assert [r["row_number"] for r in tables["import_rows"]] == [3]
    assert tables["requests"][0]["kind"] == "access"
    assert any(r["action"] == "customer.create" for r in tables["audit"])
    assert tables["tags"] == [] and tables["merges"][0]["merged"] == [world.dup.pk]
    req = queries.get_request_for(org.admin, req.pk)
    assert (req.status, req.export_count, req.exported_at is not None) == ("open", 1, True)  # a GET changes nothing
    entry = AuditLog.objects.get(action="privacy.export")
    assert entry.detail["format"] == "json" and entry.detail["rows"]["commerce"] == 6
    services.complete_request(actor=org.admin, request_id=req.pk, resolution="Sent")


def test_export_needs_pii_right_and_an_access_request(org, make_customer):
    c = make_customer()
    admin2 = type(org.admin).objects.create_user(username="admin2", password="x-Pass-2026", role="admin")
    req = services.create_request(actor=org.admin, customer_id=c.pk, kind="access")
    with pytest.raises(DomainError) as err:
        services.export_data(actor=admin2, request_id=req.pk, fmt="json")
    assert err.value.status == 403 and err.value.code == "needs_pii_right"
    other = services.create_request(actor=org.admin, customer_id=c.pk, kind="erasure")
    with pytest.raises(DomainError) as err:
        services.export_data(actor=org.admin, request_id=other.pk, fmt="json")
    assert err.value.code == "wrong_request_kind"
    services.reject_request(actor=org.admin, request_id=req.pk, reason="Identity not verified")
    with pytest.raises(DomainError) as err:
        services.export_data(actor=org.admin, request_id=req.pk, fmt="json")
    assert (err.value.code, err.value.status) == ("request_rejected", 400)  # 400: an export is a GET
    assert not AuditLog.objects.filter(action="privacy.export").exists()


def test_consent_withdrawal_records_every_channel(org, make_customer):
    from clientwise.customers.models import Consent, Interaction
    from clientwise.customers.services import set_consent

    c = make_customer()
    set_consent(actor=org.admin, customer_id=c.pk, channel="sms", purpose="marketing", status="granted")
    set_consent(actor=org.admin, customer_id=c.pk, channel="email", purpose="surveys", status="withdrawn")
    req = services.create_request(actor=org.admin, customer_id=c.pk, kind="consent_withdrawal")
    services.withdraw_consent(actor=org.admin, request_id=req.pk)
    rows = Consent.objects.filter(customer=c)
    assert rows.count() == len(Consent.Channel.values) * len(Consent.Purpose.values)
    assert set(rows.values_list("status", flat=True)) == {"withdrawn"}
    assert rows.get(channel="email", purpose="surveys").source == ""  # already withdrawn: left as decided
    req.refresh_from_db()
    assert req.status == "done" and req.result == {"consents_withdrawn": 23}
    assert Interaction.objects.filter(customer=c, kind="consent", subject__contains=f"#{req.pk}").count() == 1
    assert AuditLog.objects.get(action="privacy.withdraw_consent").detail["changed"][0]["customer_id"] == c.pk


def test_file_clean_up_can_be_retried(org, make_customer, django_capture_on_commit_callbacks, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    c = make_customer(mobile="13812345678")
    req = services.create_request(actor=org.admin, customer_id=c.pk, kind="erasure")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.erase_personal_data(actor=org.admin, request_id=req.pk, confirm=f"#{c.pk}")
    assert len(callbacks) == 1
    req.refresh_from_db()
    assert req.file_status == "pending" and req.file_work["matcher"]["anywhere"]
    with pytest.raises(DomainError):  # waiting for its task, not stale yet
        services.retry_file_cleanup(actor=org.admin, request_id=req.pk)
    SubjectRequest.objects.filter(pk=req.pk).update(file_status="failed")
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_file_cleanup(actor=org.admin, request_id=req.pk)
    req.refresh_from_db()
    assert req.file_status == "done" and req.file_work == {}
    assert services.run_file_cleanup(request_id=req.pk) == {"request_id": req.pk, "status": "not pending"}
