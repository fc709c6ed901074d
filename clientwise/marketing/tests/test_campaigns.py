"""Campaigns: content that renders safely, approval above a size, launch (frozen members, holdout drawn by
stats.assign_holdout, SRM), sending through the local SMS stub and SMTP server with consent, caps, quiet hours and
contact checks at send time, no duplicate after a killed run, signed webhooks, call lists and print files, the
timeline, and measured lift."""

from __future__ import annotations

import datetime as dt
import json
import time

import numpy as np
import pytest
from django.test import override_settings
from django.utils import timezone

from clientwise.core.errors import DomainError, PermissionDenied, ValidationFailed
from clientwise.marketing import delivery, measurement, sending, services, stats
from clientwise.marketing.models import Campaign, CampaignMember, Message, ProviderEvent
from clientwise.marketing.tests.stubs import SmsStub, SmtpStub

SECRET = "test-gateway-secret"
BODY = "{{ name }}您好，{% if tier %}{{ tier }}级会员{% endif %}专享：{{ product|default:'新品' }}"


@pytest.fixture
def sms_stub(settings):
    with SmsStub(SECRET, invalid=frozenset({"+8613800000007"})) as stub:
        settings.MARKETING_SMS_URL = stub.url
        settings.MARKETING_SMS_KEY_ID = "cw"
        settings.MARKETING_SMS_SECRET = SECRET
        settings.MARKETING_QUIET_HOURS = ""
        yield stub


def _audience(org, rule=None):
    return services.create_audience(actor=org.marketer, name="all", rule=rule or {
        "filters": [{"dimension": "customer_status", "op": "in", "values": ["active"]}]})


def _campaign(org, audience, **data):
    return services.create_campaign(actor=org.marketer, data={
        "name": "双十一", "audience_id": audience.pk, "channel": "sms", "control_share": 0.25,
        "variants": [{"key": "A", "weight": 50, "body_zh": BODY}, {"key": "B", "weight": 50, "body_zh": "B：{{ name }}"}],
        **data})


def test_bad_content_is_refused_with_its_field(world, org):
    a = _audience(org)
    for body, expected in [("{{ name.__class__ }}", "variants.0.body_zh"), ("{% load static %}", "variants.0.body_zh"),
                           ("{{ password }}", "variants.0.body_zh")]:
        with pytest.raises(ValidationFailed) as exc:
            services.create_campaign(actor=org.marketer, data={"name": "x", "audience_id": a.pk, "channel": "sms",
                                                               "variants": [{"body_zh": body}]})
        assert any(e.field == expected and e.code == "invalid_template" for e in exc.value.errors)
    with pytest.raises(ValidationFailed) as exc:
        services.create_campaign(actor=org.marketer, data={"name": "x", "audience_id": a.pk, "channel": "sms",
                                                           "variants": [{"key": "A", "weight": 60, "body_zh": "a"},
                                                                        {"key": "B", "weight": 30, "body_zh": "b"}]})
    assert exc.value.field == "variants"
    assert not Campaign.objects.exists()


def test_launch_freezes_members_and_draws_the_holdout_with_stats(world, org):
    c = _campaign(org, _audience(org))
    c = services.launch_campaign(actor=org.marketer, campaign_id=c.pk)
    members = list(CampaignMember.objects.filter(campaign=c).order_by("customer_id"))
    ids = np.array([m.customer_id for m in members])
    assert sorted(ids.tolist()) == sorted(x.pk for x in world.customers)
    expected = stats.assign_holdout(ids, f"{c.pk}:{c.salt}", 0.25)
    assert [m.is_control for m in members] == expected.tolist()
    assert c.control_count == int(expected.sum()) and c.member_count == 8
    assert c.srm_p_value == pytest.approx(stats.srm_p_value(8 - int(expected.sum()), int(expected.sum()), 0.25))
    # Sticky: the same campaign drawn again gives the same holdout.
    assert stats.assign_holdout(ids, c.holdout_salt, 0.25).tolist() == expected.tolist()
    msgs = {m.customer_id: m for m in Message.objects.filter(campaign=c)}
    for m in members:
        msg = msgs[m.customer_id]
        assert msg.idempotency_key == f"cw-c{c.pk}-u{m.customer_id}-v{m.variant_id or 0}"
        if m.is_control:
            assert (msg.state, msg.reason, m.variant_id) == ("not_sent", "control", None)
        else:
            assert msg.state in ("pending", "not_sent") and m.variant_id is not None
    with pytest.raises(DomainError) as exc:
        services.launch_campaign(actor=org.marketer, campaign_id=c.pk)
    assert exc.value.code == "campaign_state" and exc.value.status == 409


@override_settings(MARKETING_APPROVAL_SIZE=3)
def test_a_large_campaign_needs_a_managers_approval(world, org):
    c = _campaign(org, _audience(org))
    with pytest.raises(DomainError) as exc:
        services.launch_campaign(actor=org.marketer, campaign_id=c.pk)
    assert exc.value.code == "approval_required" and not CampaignMember.objects.exists()
    services.submit_campaign(actor=org.marketer, campaign_id=c.pk)
    with pytest.raises(PermissionDenied):
        services.approve_campaign(actor=org.marketer, campaign_id=c.pk)
    from clientwise.notifications.models import Notification

    assert Notification.objects.filter(recipient=org.manager_a, kind="campaign_approval").exists()
    services.approve_campaign(actor=org.manager_a, campaign_id=c.pk, note="ok")
    c = services.launch_campaign(actor=org.marketer, campaign_id=c.pk)
    assert c.status == "launched" and c.member_count == 8


def test_sending_checks_consent_contact_and_renders_per_customer(world, org, sms_stub):
    c = _campaign(org, _audience(org), control_share=0.0)
    services.launch_campaign(actor=org.marketer, campaign_id=c.pk)
    report = sending.run(c.pk)
    assert report.finished
    got = {m.customer.name: (m.state, m.reason) for m in Message.objects.filter(campaign=c).select_related(
        "customer")}
    # Consent for SMS: 甲一 甲二 乙一 乙三 乙四; 乙三's number is refused by the gateway.
    assert got == {"甲一": ("sent", ""), "甲二": ("sent", ""), "乙一": ("sent", ""), "乙四": ("sent", ""),
                   "乙三": ("not_sent", "invalid_contact"), "甲三": ("not_sent", "no_consent"),
                   "甲四": ("not_sent", "no_consent"), "乙二": ("not_sent", "no_consent")}
    assert len(sms_stub.deliveries) == 4 and sms_stub.bad_signatures == 0
    first = Message.objects.get(campaign=c, customer=world.customers[0])
    assert first.body in ("甲一您好，A级会员专享：新品", "B：甲一")
    assert sms_stub.deliveries[first.idempotency_key]["Content"] == first.body
    c.refresh_from_db()
    assert c.status == "sent"
    from clientwise.customers.models import Interaction

    row = Interaction.objects.get(customer=world.customers[0], kind="campaign")
    assert row.ref_type == "marketing.message" and row.ref_id == first.pk


def test_consent_is_checked_at_send_time_not_at_launch(world, org, sms_stub):
    from clientwise.customers.services import set_consent

    c = _campaign(org, _audience(org, {"consent": ["sms"]}), control_share=0.0)
    services.launch_campaign(actor=org.marketer, campaign_id=c.pk)
    set_consent(actor=org.admin, customer_id=world.customers[0].pk, channel="sms", purpose="marketing",
                status="withdrawn")
    sending.run(c.pk)
    m = Message.objects.get(campaign=c, customer=world.customers[0])
    assert (m.state, m.reason) == ("not_sent", "no_consent")


def test_frequency_cap_across_campaigns_and_bounced_contacts(world, org, sms_stub):
    from clientwise.customers.models import ContactPoint

    first = _campaign(org, _audience(org), control_share=0.0)
    services.launch_campaign(actor=org.marketer, campaign_id=first.pk)
    sending.run(first.pk)
    ContactPoint.objects.filter(customer=world.customers[4], kind="mobile").update(status="bounced")
    second = _campaign(org, _audience(org), control_share=0.0, name="第二波")
    services.launch_campaign(actor=org.marketer, campaign_id=second.pk)
    sending.run(second.pk)
    got = {m.customer.name: m.reason for m in Message.objects.filter(campaign=second).select_related("customer")}
    # One marketing message per local day (MARKETING_CAP_PER_DAY=1): those reached by the first are capped.
    assert got["甲一"] == got["甲二"] == got["乙四"] == "capped"
    assert got["乙一"] == "bounced"


def test_quiet_hours_defer_in_the_customers_time_zone(world, org, sms_stub, settings):
    from clientwise.customers.models import Customer

    settings.MARKETING_QUIET_HOURS = "21:00-08:00"
    Customer.objects.filter(pk=world.customers[1].pk).update(custom={"time_zone": "Europe/Berlin"})
    c = _campaign(org, _audience(org), control_share=0.0)
    services.launch_campaign(actor=org.marketer, campaign_id=c.pk)
    # 22:30 in Shanghai is 15:30 in Berlin (winter).
    now = dt.datetime(2026, 12, 8, 14, 30, tzinfo=dt.UTC)
    report = sending.run(c.pk, now=now)
    got = {m.customer.name: (m.state, m.reason, m.not_before) for m in
           Message.objects.filter(campaign=c).select_related("customer")}
    assert got["甲二"][:2] == ("sent", "")
    assert got["甲一"][:2] == ("deferred", "quiet_hours")
    assert got["甲一"][2] == dt.datetime(2026, 12, 9, 0, 0, tzinfo=dt.UTC)  # 08:00 in Shanghai
    assert report.next_run == dt.datetime(2026, 12, 9, 0, 0, tzinfo=dt.UTC) and not report.finished


def test_a_killed_run_resumes_without_sending_twice(world, org, sms_stub, monkeypatch):
    c = _campaign(org, _audience(org, {"consent": ["sms"]}), control_share=0.0)
    services.launch_campaign(actor=org.marketer, campaign_id=c.pk)
    real_send = delivery.HttpGateway.send

    def send_then_die(self, batch):
        real_send(self, batch)  # the gateway took them…
        raise KeyboardInterrupt  # …and the worker died before writing a single outcome

    monkeypatch.setattr(delivery.HttpGateway, "send", send_then_die)
    with pytest.raises(KeyboardInterrupt):
        sending.run(c.pk, batch_size=3)
    assert Message.objects.filter(campaign=c, state="sending").count() == 3
    delivered_before = len(sms_stub.deliveries)
    monkeypatch.setattr(delivery.HttpGateway, "send", real_send)
    report = sending.run(c.pk, batch_size=3, stale_after=0)
    assert report.recovered == 3 and report.finished
    assert Message.objects.filter(campaign=c, state="sent").count() == 4
    # The three keys the dead run sent were asked again and answered with their first result: nothing twice.
    assert len(sms_stub.deliveries) == 4 and delivered_before == 3
    assert len(sms_stub.calls) == 3 + 5  # the dead batch, then every claimable message once (one number refused)
    assert all(list(map(lambda d: d["OutId"], sms_stub.calls)).count(k) <= 2 for k in sms_stub.deliveries)


def test_email_through_a_local_smtp_server_and_an_unknown_outcome_is_not_resent(world, org, settings,
                                                                                 monkeypatch):
    from clientwise.customers.services import add_contact_point

    for cust in world.customers[:3]:
        add_contact_point(actor=org.admin, customer_id=cust.pk, kind="email", value=f"c{cust.pk}@example.com")
    with SmtpStub() as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        c = _campaign(org, _audience(org, {"consent": ["email"]}), channel="email", control_share=0.0,
                      variants=[{"body_zh": "{{ name }}，您好", "subject_zh": "新品"}])
        services.launch_campaign(actor=org.marketer, campaign_id=c.pk)
        sending.run(c.pk)
        assert [m["To"] for m in smtp.messages] == [f"c{world.customers[1].pk}@example.com"]
        key = Message.objects.get(campaign=c, customer=world.customers[1]).idempotency_key
        assert smtp.messages[0]["Message-ID"] == f"<{key}@clientwise>"
    # A second e-mail campaign whose worker dies inside the SMTP call: its outcome is unknown, never resent.
    Message.objects.filter(campaign=c).update(sent_at=timezone.now() - dt.timedelta(days=10))  # not capped
    d = _campaign(org, _audience(org, {"consent": ["email"]}), channel="email", control_share=0.0, name="d",
                  variants=[{"body_zh": "x"}])
    services.launch_campaign(actor=org.marketer, campaign_id=d.pk)
    monkeypatch.setattr(delivery.SmtpEmail, "send", lambda self, batch: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        sending.run(d.pk)
    sending.run(d.pk, stale_after=0)
    m = Message.objects.get(campaign=d, customer=world.customers[1])
    assert (m.state, m.reason) == ("not_sent", "provider_error") and "unknown" in m.error


def test_call_list_becomes_tasks_for_the_owners_and_direct_mail_a_file(world, org, tmp_path, settings):
    from clientwise.sales.models import Activity

    settings.MARKETING_FILE_DIR = tmp_path
    settings.MARKETING_QUIET_HOURS = ""
    c = _campaign(org, _audience(org, {"consent": ["sms"]}), channel="call_list", control_share=0.0,
                  variants=[{"subject_zh": "回访 {{ name }}", "body_zh": "推荐 {{ product|default:'新品' }}"}])
    from clientwise.customers.services import set_consent

    for cust in world.customers[:2]:
        set_consent(actor=org.admin, customer_id=cust.pk, channel="phone", purpose="marketing", status="granted")
    services.launch_campaign(actor=org.marketer, campaign_id=c.pk)
    sending.run(c.pk)
    tasks = Activity.objects.filter(kind="call").order_by("customer_id")
    assert [(t.customer_id, t.assignee_id, t.subject) for t in tasks] == [
        (world.customers[0].pk, org.rep_a.pk, "回访 甲一"), (world.customers[1].pk, org.rep_a.pk, "回访 甲二")]
    mail = _campaign(org, _audience(org), channel="direct_mail", control_share=0.0, name="catalogue",
                     variants=[{"body_zh": "{{ name }}"}])
    from clientwise.customers.services import add_contact_point

    add_contact_point(actor=org.admin, customer_id=world.customers[2].pk, kind="address", value="长宁路 1 号")
    set_consent(actor=org.admin, customer_id=world.customers[2].pk, channel="mail", purpose="marketing",
                status="granted")
    services.launch_campaign(actor=org.marketer, campaign_id=mail.pk)
    sending.run(mail.pk)
    text = (tmp_path / f"campaign-{mail.pk}-direct_mail.csv").read_text(encoding="utf-8-sig")
    assert text.count("\n") == 2 and "长宁路 1 号" in text and "甲三" in text


def _signed(client, path, payload, secret="hook-secret", ts=None):
    body = json.dumps(payload).encode()
    ts = str(int(ts or time.time()))
    sig = delivery.sign(secret, "POST", path, ts, "n1", body)
    return client.post(path, body, content_type="application/json",
                       headers={"X-CW-Timestamp": ts, "X-CW-Nonce": "n1", "X-CW-Signature": sig})


def test_signed_webhooks_update_delivery_contact_and_consent(world, org, sms_stub, settings, client):
    from clientwise.customers.models import Consent, ContactPoint

    settings.MARKETING_WEBHOOK_SECRET = "hook-secret"
    c = _campaign(org, _audience(org, {"consent": ["sms"]}), control_share=0.0)
    services.launch_campaign(actor=org.marketer, campaign_id=c.pk)
    sending.run(c.pk)
    m0 = Message.objects.get(campaign=c, customer=world.customers[0])
    m1 = Message.objects.get(campaign=c, customer=world.customers[1])
    path = "/api/v1/marketing/webhooks/sms"
    events = {"events": [{"id": "e1", "type": "delivered", "message_key": m0.idempotency_key},
                         {"id": "e2", "type": "bounced", "provider_message_id": m1.provider_message_id},
                         {"id": "e3", "type": "unsubscribed", "message_key": m0.idempotency_key},
                         {"id": "e4", "type": "delivered", "message_key": "cw-c0-u0-v0"}]}
    r = _signed(client, path, events)
    assert r.status_code == 200, r.content
    assert r.json() == {"accepted": 3, "duplicates": 0, "unknown": 1}
    m0.refresh_from_db()
    assert m0.delivery == "delivered"
    assert ContactPoint.objects.get(customer=world.customers[1], kind="mobile").status == "bounced"
    assert Consent.objects.get(customer=world.customers[0], channel="sms", purpose="marketing").status == "withdrawn"
    assert _signed(client, path, events).json() == {"accepted": 0, "duplicates": 4, "unknown": 0}
    bad = _signed(client, path, events, secret="wrong")
    assert bad.status_code == 401 and bad.json()["code"] == "invalid_signature"
    old = _signed(client, path, events, ts=time.time() - 3600)
    assert old.status_code == 401
    assert ProviderEvent.objects.count() == 4


def test_measured_lift_shows_the_treated_buying_more(world, org, sms_stub, web_client):
    from clientwise.commerce.services import create_order

    c = _campaign(org, _audience(org), control_share=0.5)
    ids = np.array(sorted(x.pk for x in world.customers))
    # A salt whose draw leaves at least three customers in each group (the salt is random per campaign).
    salt = next(f"{n:032x}" for n in range(1000)
                if 3 <= stats.assign_holdout(ids, f"{c.pk}:{n:032x}", 0.5).sum() <= 5)
    Campaign.objects.filter(pk=c.pk).update(salt=salt)
    c = services.launch_campaign(actor=org.marketer, campaign_id=c.pk)
    members = sorted(CampaignMember.objects.filter(campaign=c), key=lambda m: m.customer_id)
    first_control = next(m.customer_id for m in members if m.is_control)
    for m in members:
        amount = 3 if not m.is_control else (0 if m.customer_id == first_control else 1)
        for _i in range(amount):
            create_order(actor=org.admin, customer_id=m.customer_id, lines=[{"product_id": world.bar.pk,
                                                                             "quantity": 1}],
                         ordered_at=timezone.now())
    res = measurement.results(org.marketer, c, window_days=7)
    treated = [m for m in members if not m.is_control]
    control = [m for m in members if m.is_control]
    assert (res.n_treated, res.n_control) == (len(treated), len(control))
    orders = res.metrics["orders"].lift
    expected_control = np.mean([0 if m.customer_id == first_control else 1 for m in control])
    assert orders.mean_treated == pytest.approx(3.0) and orders.mean_control == pytest.approx(expected_control)
    assert res.metrics["revenue"].lift.mean_treated == pytest.approx(60.0)
    assert res.metrics["revenue"].incremental.value == pytest.approx(
        res.metrics["revenue"].lift.absolute * len(treated))
    page = web_client(org.analyst).get(f"/marketing/campaigns/{c.pk}/results/")
    assert page.status_code == 200 and 'id="mk-lift"' in page.content.decode()
    # A manager measures team A's members only.
    mine = measurement.results(org.manager_a, c, window_days=7)
    assert mine.n_treated + mine.n_control == 4


def test_erasure_blanks_the_messages_but_keeps_the_outcomes(world, org, sms_stub):
    from types import SimpleNamespace

    from clientwise.marketing import personal_data

    c = _campaign(org, _audience(org, {"consent": ["sms"]}), control_share=0.0)
    services.launch_campaign(actor=org.marketer, campaign_id=c.pk)
    sending.run(c.pk)
    who = world.customers[0]
    subject = SimpleNamespace(customer_ids=[who.pk])
    exported = personal_data.export(subject)[0]
    assert exported["rows"][0]["address"] == "+8613800000001" and "甲一" in exported["rows"][0]["body"]
    counts, touched = {}, {}
    erasure = SimpleNamespace(subject=subject, count=lambda k, n: counts.__setitem__(k, n),
                              touch=lambda label, ids: touched.__setitem__(label, list(ids)))
    personal_data.erase(erasure)
    m = Message.objects.get(campaign=c, customer=who)
    assert (m.address, m.body, m.state) == ("", "", "sent") and counts["marketing.messages_blanked"] == 1
