"""Sign-in, sign-out, throttling, password change and the settings page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from clientwise.accounts.models import User
from clientwise.core.models import AuditLog
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, username, password):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_login_page_is_public_and_has_a_language_switch(client):
    r = client.get(reverse("accounts:login"))
    assert r.status_code == 200
    body = r.content.decode()
    assert 'name="username"' in body and 'name="password"' in body
    assert reverse("core:set_language") in body


def test_login_with_the_right_password_goes_home(org, client):
    r = login(client, "rep_a", PASSWORD)
    assert r.status_code == 302
    assert r.url == reverse("core:home")
    assert client.get(reverse("core:home")).status_code == 200


def test_login_with_a_wrong_password_shows_an_error(org, client):
    r = login(client, "rep_a", "wrong-password")
    assert r.status_code == 200
    assert "Please enter a correct username and password" in r.content.decode()
    assert "_auth_user_id" not in client.session


def test_home_requires_login(client, db):
    r = client.get(reverse("core:home"))
    assert r.status_code == 302
    assert r.url.startswith(reverse("accounts:login"))


def test_logout_by_get_is_refused_and_keeps_the_session(org, web_client):
    c = web_client(org.rep_a)
    r = c.get(reverse("accounts:logout"))
    assert r.status_code == 405
    assert c.get(reverse("core:home")).status_code == 200


def test_logout_by_post_signs_out(org, web_client):
    c = web_client(org.rep_a)
    r = c.post(reverse("accounts:logout"))
    assert r.status_code == 302
    assert r.url == reverse("accounts:login")
    assert c.get(reverse("core:home")).status_code == 302


def test_repeated_failures_lock_the_username_out(org, client, settings):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 3
    for _ in range(limit - 1):
        assert login(client, "rep_a", "nope").status_code == 200
    locked = login(client, "rep_a", "nope")
    assert locked.status_code == 429
    body = locked.content.decode()
    assert "Too many failed sign-in attempts" in body
    assert "Try again in 15 minutes." in body
    # Even the right password is refused while the lock holds.
    again = login(client, "rep_a", PASSWORD)
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another username from the same address is not affected.
    assert login(client, "rep_b", PASSWORD).status_code == 302


def test_password_change_sets_the_new_password_and_audits(org, web_client):
    c = web_client(org.rep_a)
    assert c.get(reverse("accounts:password_change")).status_code == 200
    r = c.post(reverse("accounts:password_change"), {
        "old_password": PASSWORD, "new_password1": "Brand-new-pass-77", "new_password2": "Brand-new-pass-77"})
    assert r.status_code == 302
    assert r.url == reverse("accounts:password_change_done")
    org.rep_a.refresh_from_db()
    assert org.rep_a.check_password("Brand-new-pass-77")
    assert list(AuditLog.objects.filter(action="user.password").values_list("actor_id", "object_id")) == [
        (org.rep_a.pk, str(org.rep_a.pk))]
    # Still signed in (session hash updated).
    assert c.get(reverse("accounts:password_change_done")).status_code == 200


def test_password_change_with_wrong_old_password_changes_nothing(org, web_client):
    c = web_client(org.rep_a)
    r = c.post(reverse("accounts:password_change"), {
        "old_password": "not-it", "new_password1": "Brand-new-pass-77", "new_password2": "Brand-new-pass-77"})
    assert r.status_code == 200
    org.rep_a.refresh_from_db()
    assert org.rep_a.check_password(PASSWORD)
    assert not AuditLog.objects.filter(action="user.password").exists()


def test_profile_saves_name_email_and_language(org, web_client, settings):
    c = web_client(org.rep_a)
    r = c.post(reverse("accounts:profile"), {"display_name": "小王", "email": "Wang@Example.com",
                                             "language": "zh-hans"})
    assert r.status_code == 302
    assert r.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    user = User.objects.get(pk=org.rep_a.pk)
    assert (user.display_name, user.email, user.language) == ("小王", "wang@example.com", "zh-hans")
    entry = AuditLog.objects.get(action="user.profile")
    assert entry.before == {"display_name": "rep_a", "email": "", "language": ""}
    assert entry.after == {"display_name": "小王", "email": "wang@example.com", "language": "zh-hans"}


def test_language_preference_changes_the_page_language(org, web_client):
    c = web_client(org.rep_a)
    page = c.get(reverse("core:home")).content.decode()
    assert "Recent activity" in page
    c.post(reverse("accounts:profile"), {"display_name": "", "email": "", "language": "zh-hans"})
    page = c.get(reverse("core:home")).content.decode()
    assert "最近动态" in page and "Recent activity" not in page
    assert '<html lang="zh-CN"' in page
    c.post(reverse("accounts:profile"), {"display_name": "", "email": "", "language": "en"})
    assert "Recent activity" in c.get(reverse("core:home")).content.decode()


def test_follow_the_browser_clears_the_cookie(org, web_client, settings):
    c = web_client(org.rep_a)
    c.post(reverse("accounts:profile"), {"display_name": "", "email": "", "language": "zh-hans"})
    r = c.post(reverse("accounts:profile"), {"display_name": "", "email": "", "language": ""})
    assert r.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""
    assert User.objects.get(pk=org.rep_a.pk).language == ""
    page = c.get(reverse("core:home"), headers={"accept-language": "zh-CN,zh;q=0.9"}).content.decode()
    assert "最近动态" in page


def test_profile_rejects_an_unknown_language(org, web_client):
    c = web_client(org.rep_a)
    r = c.post(reverse("accounts:profile"), {"display_name": "", "email": "", "language": "fr"})
    assert r.status_code == 200
    assert User.objects.get(pk=org.rep_a.pk).language == ""
    assert not AuditLog.objects.filter(action="user.profile").exists()


def test_login_page_follows_the_language_switch(db):
    c = Client()
    r = c.post(reverse("core:set_language"), {"language": "zh-hans", "next": reverse("accounts:login")})
    assert r.status_code == 302
    page = c.get(reverse("accounts:login")).content.decode()
    assert "登录" in page and "Sign in" not in page


def test_settings_pages_render_in_both_languages(org, web_client):
    c = web_client(org.admin)
    for lang, word in (("en", "My settings"), ("zh-hans", "我的设置")):
        c.post(reverse("accounts:profile"), {"display_name": "", "email": "", "language": lang})
        for name in ("accounts:profile", "accounts:tokens", "accounts:password_change", "accounts:users",
                     "accounts:teams", "accounts:user_create"):
            r = c.get(reverse(name))
            assert r.status_code == 200, name
        assert word in c.get(reverse("accounts:profile")).content.decode()
