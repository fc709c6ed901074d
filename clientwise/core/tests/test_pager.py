"""The shared keyset pager (core/_pager.html) and its page_url tag."""

from __future__ import annotations

from types import SimpleNamespace

from django.template.loader import render_to_string
from django.test import RequestFactory


def _render(path: str, **context) -> str:
    request = RequestFactory().get(path)
    page = SimpleNamespace(items=[1, 2], prev_cursor="p1", next_cursor="n/2")
    return render_to_string("core/_pager.html", {"page": page, "target": "#t", **context}, request=request)


def test_pager_keeps_the_query_string_and_replaces_the_cursor():
    html = _render("/customers/?q=li&cursor=old")
    assert 'href="?q=li&amp;cursor=n%2F2"' in html and 'hx-target="#t"' in html
    assert 'href="?q=li&amp;cursor=p1"' in html and "cursor=old" not in html


def test_pager_adds_the_cursor_to_an_explicit_base():
    html = _render("/ignored/?x=1", pager_base="/analytics/customers/?sort=churn")
    assert 'href="/analytics/customers/?sort=churn&amp;cursor=n%2F2"' in html
    assert "x=1" not in html
    html = _render("/ignored/", pager_base="/analytics/?")
    assert 'href="/analytics/?cursor=p1"' in html


def test_pager_without_more_pages_shows_disabled_buttons():
    request = RequestFactory().get("/")
    page = SimpleNamespace(items=[], prev_cursor=None, next_cursor=None)
    html = render_to_string("core/_pager.html", {"page": page, "target": "#t"}, request=request)
    assert html.count("disabled") == 2 and "href" not in html
