"""notify(): rows, idempotency, transactions, who is left out; mentions; rendering in the reader's language; reading
and e-mail choices."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from clientwise.core.errors import NotFound, ValidationFailed
from clientwise.notifications import kinds, rules, services
from clientwise.notifications.models import EmailPreference, Notification
from clientwise.notifications.services import Target

TICKET = Target("service.ticket", 7, "/service/tickets/7/")
SLA = {"number": "T0000007", "subject": "洗衣机漏水", "clock": "response", "due": "2026-12-07T02:00:00+00:00"}


def test_notify_writes_one_row_per_recipient_and_leaves_out_actor_and_inactive(org):
    org.rep_b.is_active = False
    org.rep_b.save()
    written = services.notify([org.rep_a, org.rep_a2.pk, org.rep_b, org.manager_a, None, org.rep_a], kinds.SLA_BREACH,
                              SLA, TICKET, actor=org.manager_a, dedupe_key="response_breach")
    assert written == 2
    rows = Notification.objects.order_by("recipient_id")
    assert sorted(r.recipient_id for r in rows) == sorted([org.rep_a.pk, org.rep_a2.pk])
    row = rows[0]
    assert (row.kind, row.target_type, row.target_id, row.url, row.actor_id) == (
        "sla_breach", "service.ticket", 7, "/service/tickets/7/", org.manager_a.pk)
    assert row.params == SLA and row.read_at is None and row.email == ""


def test_notify_is_idempotent_per_recipient_kind_target_and_dedupe_key(org):
    args = ([org.rep_a], kinds.SLA_WARNING, SLA, TICKET)
    assert services.notify(*args, dedupe_key="response_warning") == 1
    assert services.notify(*args, dedupe_key="response_warning") == 0  # the periodic check finds it again
    assert services.notify(*args, dedupe_key="resolution_warning") == 1  # another fact about the same ticket
    assert services.notify([org.rep_a], kinds.SLA_WARNING, SLA, Target("service.ticket", 8, "/x/"),
                           dedupe_key="response_warning") == 1
    assert services.notify([org.rep_a, org.rep_a2], *args[1:], dedupe_key="response_warning") == 1  # only rep_a2 new
    assert Notification.objects.count() == 4


def test_notify_many_in_one_batch_dedupes_and_skips_existing(org):
    notices = [services.Notice([org.rep_a], kinds.TASK_REMINDER, {"variant": "due", "subject": f"call {i}"},
                               Target("sales.activity", i, f"/a/{i}"), dedupe_key="due") for i in range(5)]
    assert services.notify_many(notices + notices[:2]) == 5
    assert services.notify_many(notices) == 0


def test_notify_rolls_back_with_the_callers_transaction(org):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.notify([org.rep_a], kinds.SLA_BREACH, SLA, TICKET)
        raise RuntimeError("the change that caused it failed")
    assert not Notification.objects.exists()


def test_notify_refuses_unknown_kinds_and_frozen_sentences(org):
    with pytest.raises(ValueError):
        services.notify([org.rep_a], "no_such_kind", {}, TICKET)
    with pytest.raises(ValueError):
        services.notify([org.rep_a], kinds.MENTION, {"record": gettext_lazy("ticket")}, TICKET)
    assert not Notification.objects.exists()


def test_notify_stores_times_and_decimals_as_json(org):
    from decimal import Decimal

    due = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
    services.notify([org.rep_a], kinds.SLA_WARNING, {**SLA, "due": due, "amount": Decimal("12.50")}, TICKET)
    params = Notification.objects.get().params
    assert params["due"].startswith("2026-12-07T02:00:00") and params["amount"] == "12.50"


# --- rendering --------------------------------------------------------------------------------------------------


def test_render_in_each_language_with_codes_and_local_times():
    with translation.override("en"):
        title, body = kinds.render(kinds.SLA_BREACH, SLA)
    assert title == "Ticket T0000007: first response overdue"
    assert body == "洗衣机漏水 · was due 2026-12-07 10:00"  # 02:00 UTC shown in Asia/Shanghai
    with translation.override("zh-hans"):
        title, body = kinds.render(kinds.SLA_BREACH, SLA)
    assert title == "工单 T0000007：首次响应已超时"
    assert "2026-12-07 10:00" in body


def test_render_missing_parameter_and_unknown_kind_do_not_fail():
    with translation.override("en"):
        assert kinds.render(kinds.SLA_WARNING, {"clock": "resolution"})[0] == "Ticket —: resolution due soon"
        assert kinds.render("gone_kind", {"x": 1}) == ("gone_kind", "")
        title, _ = kinds.render(kinds.ASSIGNMENT, {"variant": "customers", "count": 1}, actor_name="Ann")
        assert title == "Ann handed 1 customer over to you"
        title, _ = kinds.render(kinds.ASSIGNMENT, {"variant": "customers", "count": 3}, actor_name="Ann")
        assert title == "Ann handed 3 customers over to you"
        title, _ = kinds.render(kinds.ASSIGNMENT, {"variant": "routed", "record": "ticket", "name": "T1"})
        assert title == "New ticket T1 was routed to you"


def test_every_kind_and_variant_renders_in_both_languages():
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            for kind in kinds.KINDS.values():
                for variant in kind.texts:
                    title, _body = kinds.render(kind.key, {"variant": variant, "count": 2, "rows": 5})
                    assert title and "%(" not in title, (lang, kind.key, variant, title)
                    assert str(kind.label) and str(kind.help)
    for kind in kinds.KINDS.values():
        with translation.override("en"):
            english = (str(kind.label), str(kind.help))
        with translation.override("zh-hans"):
            chinese = (str(kind.label), str(kind.help))
        assert english[0] != chinese[0] and english[1] != chinese[1], f"{kind.key} is not translated"


# --- mentions ---------------------------------------------------------------------------------------------------


def test_mention_rules():
    assert rules.mention_tokens("ping @Rep_A, and @rep_b. mail a@b.com @x") == ["rep_a", "rep_b"]
    assert rules.mention_tokens("请@rep_a看一下") == ["rep_a看一下"]
    assert rules.resolve_mentions(["rep_a看一下", "nobody"], {"rep_a", "rep"}) == ["rep_a"]
    assert rules.resolve_mentions(["rep_a2"], {"rep_a", "rep_a2"}) == ["rep_a2"]
    assert len(rules.mention_tokens(" ".join(f"@user{i}" for i in range(50)))) == rules.MAX_MENTIONS


def test_mentioned_users_checks_visibility_and_leaves_out_the_author(org):
    seen = []

    def may_see(user):
        seen.append(user.username)
        return user.pk != org.rep_b.pk

    users = services.mentioned_users("@rep_a2 @REP_B @admin 请@manager_a看 @ghost me@rep_a.com @rep_a",
                                     author=org.rep_a, may_see=may_see)
    assert [u.username for u in users] == ["rep_a2", "admin", "manager_a"]
    assert "rep_b" in seen and "rep_a" not in seen


# --- reading and e-mail choices ----------------------------------------------------------------------------------


def test_mark_read_only_own_and_mark_all(org):
    services.notify([org.rep_a, org.rep_b], kinds.SLA_BREACH, SLA, TICKET)
    services.notify([org.rep_a], kinds.SLA_WARNING, SLA, TICKET)
    mine = Notification.objects.filter(recipient=org.rep_a).order_by("id")
    theirs = Notification.objects.get(recipient=org.rep_b)
    with pytest.raises(NotFound):
        services.mark_read(actor=org.rep_a, notification_id=theirs.pk)
    n = services.mark_read(actor=org.rep_a, notification_id=mine[0].pk)
    first = n.read_at
    assert first is not None
    assert services.mark_read(actor=org.rep_a, notification_id=mine[0].pk).read_at == first
    assert services.mark_all_read(actor=org.rep_a) == 1
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_email_kinds_replace_and_refuse_unknown(org):
    assert services.set_email_kinds(actor=org.rep_a, kinds=["mention", "sla_breach", "mention"]) == [
        "sla_breach", "mention"]
    assert services.set_email_kinds(actor=org.rep_a, kinds=["job_failed"]) == ["job_failed"]
    assert set(EmailPreference.objects.filter(user=org.rep_a).values_list("kind", flat=True)) == {"job_failed"}
    with pytest.raises(ValidationFailed) as err:
        services.set_email_kinds(actor=org.rep_a, kinds=["job_failed", "bogus"])
    assert err.value.field == "email_kinds"
    assert set(EmailPreference.objects.filter(user=org.rep_a).values_list("kind", flat=True)) == {"job_failed"}


def test_unread_count_is_capped_and_per_user(org):
    from clientwise.notifications.queries import BADGE_CAP, unread_count

    services.notify_many([services.Notice([org.rep_a], kinds.MENTION, {}, Target("x", i)) for i in range(BADGE_CAP + 5)])
    assert unread_count(org.rep_a) == BADGE_CAP + 1
    assert unread_count(org.rep_b) == 0
    Notification.objects.filter(recipient=org.rep_a).update(read_at=timezone.now())
    assert unread_count(org.rep_a) == 0
