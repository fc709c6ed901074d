"""The pages of a new install (users, no data yet) write nothing on a GET either: the defaults a page might be
tempted to create on first use (a pipeline, the role dashboards) come from `migrate` (post_migrate). The same
guard as test_every_page.py; its own module because that one keeps a generated business for its whole run."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from clientwise.core.tests.crawl import crawl
from clientwise.core.tests.test_every_page import ALLOWED_WRITES, WriteGuard


@pytest.mark.parametrize("username", ["admin", "manager_a", "rep_a", "agent", "marketer", "analyst"])
def test_a_get_on_a_new_install_writes_nothing(org, username):
    """No data yet: the pages that create defaults on first use (a pipeline, a dashboard…) must not do it on a GET."""
    client = Client()
    client.force_login(getattr(org, username))
    guard = WriteGuard()
    bad: dict[str, list[str]] = {}
    with connection.execute_wrapper(guard):
        for visit in crawl(client, per_view=1):
            assert visit.status < 500, visit.url
            for verb, table, sql in guard.writes:
                if (verb, table) not in ALLOWED_WRITES:
                    bad.setdefault(visit.url, []).append(sql)
            guard.writes.clear()
    assert bad == {}, bad


def test_the_guard_sees_writes(org):
    from clientwise.reports.dashboards import sync_default_dashboards
    from clientwise.reports.models import Dashboard

    guard = WriteGuard()
    with connection.execute_wrapper(guard):
        Dashboard.objects.all().delete()
        assert sync_default_dashboards() > 0
    tables = {(verb, table) for verb, table, _sql in guard.writes}
    assert {("DELETE", "reports_dashboard"), ("INSERT", "reports_dashboard"),
            ("UPDATE", "reports_dashboard")} <= tables
