"""The bell in the top bar, the list page (full and HTMX), mark read, open, mark all read, e-mail settings, and the
API: each user sees and changes their own notifications only."""

from __future__ import annotations

import re

from django.test import Client
from django.utils import translation

from clientwise.core.testing import assert_error
from clientwise.notifications import kinds, services
from clientwise.notifications.models import EmailPreference, Notification
from clientwise.notifications.services import Target

SLA = {"number": "T0000007", "subject": "洗衣机漏水", "clock": "response", "due": "2026-12-07T02:00:00+00:00"}


def client_for(user, language: str = "en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    c = Client()
    c.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return c


def _notify(user, n: int = 1, url: str = "/service/tickets/7/"):
    for i in range(n):
        services.notify([user], kinds.SLA_BREACH, {**SLA, "number": f"T{i:07d}"}, Target("service.ticket", i, url))
    return list(Notification.objects.filter(recipient=user).order_by("id"))


def _badge(html: str) -> str | None:
    m = re.search(r'data-unread="(\d+)">([^<]+)<', html)
    return m.group(2) if m else None


def test_bell_shows_unread_count_on_every_page_and_the_badge_polls(org):
    _notify(org.rep_a, 3)
    c = client_for(org.rep_a)
    html = c.get("/").content.decode()
    assert 'id="cw-bell"' in html and _badge(html) == "3"
    assert 'hx-get="/notifications/badge/"' in html and 'hx-trigger="every 60s"' in html
    other = client_for(org.rep_b).get("/").content.decode()
    assert 'id="cw-bell"' in other and _badge(other) is None  # rep_b has none
    badge = c.get("/notifications/badge/")
    assert badge.status_code == 200 and _badge(badge.content.decode()) == "3"
    assert Client().get("/notifications/badge/").status_code == 286  # signed out: htmx stops polling


def test_badge_caps_at_99_plus(org):
    services.notify_many([services.Notice([org.rep_a], kinds.MENTION, {}, Target("x", i)) for i in range(105)])
    assert _badge(client_for(org.rep_a).get("/notifications/badge/").content.decode()) == "99+"


def test_list_renders_in_the_readers_language_and_only_their_own(org):
    _notify(org.rep_a)
    _notify(org.rep_b)
    zh = client_for(org.rep_a, "zh-hans").get("/notifications/").content.decode()
    assert "工单 T0000000：首次响应已超时" in zh
    en = client_for(org.rep_a).get("/notifications/").content.decode()
    assert "Ticket T0000000: first response overdue" in en
    assert en.count('id="notification-') == 1
    assert "<script>" not in en and "onclick" not in en  # CSP: no inline scripts or handlers


def test_list_unread_filter_pager_and_htmx_partial(org):
    rows = _notify(org.rep_a, 30)
    Notification.objects.filter(pk=rows[0].pk).update(read_at=rows[0].created_at)
    c = client_for(org.rep_a)
    page = c.get("/notifications/").content.decode()
    assert page.count('id="notification-') == 25 and "Older" in page
    cursor = re.search(r'cursor=([^"&]+)"', page).group(1)
    partial = c.get(f"/notifications/?cursor={cursor}", headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert "<html" not in body and body.count('id="notification-') == 5
    unread = c.get("/notifications/?show=unread").content.decode()
    assert f'id="notification-{rows[0].pk}"' not in unread
    assert c.get("/notifications/?cursor=garbage").content.decode().count('id="notification-') == 25  # first page


def test_mark_read_htmx_updates_the_item_and_the_bell(org):
    first, second = _notify(org.rep_a, 2)
    c = client_for(org.rep_a)
    r = c.post(f"/notifications/{first.pk}/read/", headers={"HX-Request": "true"})
    html = r.content.decode()
    assert r.status_code == 200 and f'id="notification-{first.pk}"' in html
    assert 'hx-swap-oob="true"' in html and _badge(html) == "1"
    first.refresh_from_db()
    assert first.read_at is not None
    assert c.post(f"/notifications/{second.pk}/read/").status_code == 302  # without HTMX: back to the list
    assert c.get(f"/notifications/{second.pk}/read/").status_code == 405


def test_nobody_reads_or_opens_another_users_notification(org):
    (theirs,) = _notify(org.rep_b)
    c = client_for(org.rep_a)
    assert c.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    assert c.post(f"/notifications/{theirs.pk}/open/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert Client().post(f"/notifications/{theirs.pk}/read/").status_code == 302  # to the login page


def test_open_marks_read_and_goes_to_the_record_never_off_site(org):
    (n,) = _notify(org.rep_a)
    c = client_for(org.rep_a)
    r = c.post(f"/notifications/{n.pk}/open/")
    assert (r.status_code, r["Location"]) == (302, "/service/tickets/7/")
    n.refresh_from_db()
    assert n.read_at is not None
    (evil,) = _notify(org.rep_a2, url="//evil.example.com/x")
    r = client_for(org.rep_a2).post(f"/notifications/{evil.pk}/open/")
    assert r["Location"] == "/notifications/"


def test_mark_all_read(org):
    _notify(org.rep_a, 3)
    _notify(org.rep_b)
    c = client_for(org.rep_a)
    assert c.post("/notifications/read-all/").status_code == 302
    assert not Notification.objects.filter(recipient=org.rep_a, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=org.rep_b, read_at__isnull=True).count() == 1


def test_email_preferences_page(org):
    c = client_for(org.rep_a)
    page = c.get("/notifications/settings/").content.decode()
    assert 'value="sla_breach"' in page and "checked" not in page  # e-mail is off by default
    assert "/notifications/settings/" in c.get("/accounts/profile/").content.decode()  # a tab of My settings
    r = c.post("/notifications/settings/", {"email_kinds": ["sla_breach", "mention"]})
    assert r.status_code == 302
    assert set(EmailPreference.objects.filter(user=org.rep_a).values_list("kind", flat=True)) == {
        "sla_breach", "mention"}
    page = c.get("/notifications/settings/").content.decode()
    assert page.count("checked") == 2
    r = c.post("/notifications/settings/", {"email_kinds": ["sla_breach", "nonsense"]})
    assert r.status_code == 400 and "Unknown kind of notification" in r.content.decode()
    assert EmailPreference.objects.filter(user=org.rep_a).count() == 2  # unchanged
    with translation.override("zh-hans"):
        zh = client_for(org.rep_a, "zh-hans").get("/notifications/settings/").content.decode()
    assert "邮件通知" in zh and "SLA 超时" in zh


# --- API -------------------------------------------------------------------------------------------------------


def test_api_list_read_and_read_all(org, api_client):
    rows = _notify(org.rep_a, 3)
    _notify(org.rep_b)
    client = api_client(org.rep_a)
    body = client.get("notifications").json()
    assert body["unread"] == 3 and len(body["items"]) == 3
    item = body["items"][0]
    assert item["id"] == rows[-1].pk and item["kind"] == "sla_breach"
    assert item["title"] == "Ticket T0000002: first response overdue"
    assert item["url"] == "/service/tickets/7/" and item["target_type"] == "service.ticket"
    assert item["params"]["number"] == "T0000002" and item["read_at"] is None and item["actor"] is None
    r = client.post(f"notifications/{rows[0].pk}/read")
    assert r.status_code == 200 and r.json()["read_at"] is not None
    assert client.get("notifications/unread-count").json() == {"unread": 2}
    assert [i["id"] for i in client.get("notifications", {"unread": "true"}).json()["items"]] == [
        rows[2].pk, rows[1].pk]
    assert client.post("notifications/read-all").json() == {"marked": 2}
    assert client.get("notifications/unread-count").json() == {"unread": 0}
    page = client.get("notifications", {"size": 2}).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get("notifications", {"size": 2, "cursor": page["next_cursor"]}).json()
    assert [i["id"] for i in rest["items"]] == [rows[0].pk]


def test_api_own_notifications_only_and_errors(org, api_client):
    (theirs,) = _notify(org.rep_b)
    assert_error(api_client(org.rep_a).post(f"notifications/{theirs.pk}/read"), 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert api_client(org.rep_a).get("notifications").json()["items"] == []
    assert_error(api_client(None).get("notifications"), 401)
    assert_error(api_client(None).post(f"notifications/{theirs.pk}/read"), 401)
    assert_error(api_client(org.rep_a).get("notifications", {"cursor": "nope"}), 400, "invalid_cursor")
    assert_error(api_client(org.rep_a).get("notifications", {"size": 0}), 422)
    assert api_client(org.norole).get("notifications").status_code == 200  # everyone has a notification centre


def test_api_preferences(org, api_client):
    client = api_client(org.rep_a)
    kinds_out = client.get("notifications/preferences").json()["kinds"]
    assert [k["kind"] for k in kinds_out] == list(kinds.KINDS) and not any(k["email"] for k in kinds_out)
    r = client.put("notifications/preferences", {"email_kinds": ["job_failed"]})
    assert r.status_code == 200
    assert [k["kind"] for k in r.json()["kinds"] if k["email"]] == ["job_failed"]
    body = assert_error(client.put("notifications/preferences", {"email_kinds": ["job_failed", "x"]}), 422,
                        "invalid")
    assert body["field"] == "email_kinds"
    assert_error(client.put("notifications/preferences", {"email_kinds": "job_failed"}), 422)
    assert EmailPreference.objects.filter(user=org.rep_a).count() == 1
