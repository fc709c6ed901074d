"""Our 404, 403 and CSRF pages, and the language switch."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_404_page(org, web_client):
    r = web_client(org.rep_a).get("/no-such-page/")
    assert r.status_code == 404
    assert "This page does not exist" in r.content.decode()


def test_403_page(org, web_client):
    r = web_client(org.rep_a).get(reverse("core:audit"))
    assert r.status_code == 403
    assert "You do not have access to this page" in r.content.decode()


def test_csrf_failure_page(org):
    c = Client(enforce_csrf_checks=True)
    r = c.post(reverse("accounts:login"), {"username": "rep_a", "password": "x"})
    assert r.status_code == 403
    assert "This form has expired" in r.content.decode()


def test_500_template_renders_without_context():
    from django.template import loader

    html = loader.get_template("500.html").render()
    assert "Something went wrong on our side" in html


def test_set_language_is_mounted():
    assert reverse("core:set_language") == "/i18n/setlang/"
