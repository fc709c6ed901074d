"""Every page, as every role, on a small generated business: a GET writes nothing (beyond the audit rows it is meant
to write), and what a page shows is translated — no registered code shown raw, no text left in the other language.

The business is the demo generator's (customers, orders, sales, service, data quality, duplicates and a scoring
run), made once for this module and flushed afterwards. The crawl (crawl.py) visits the argument-free URL patterns
and follows every link, a few per view.
"""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from clientwise.core.tests.crawl import crawl, visible_lines
from clientwise.core.tests.page_text import TextCheck

ROLES = ["admin", "manager_sh", "rep_sh_1", "agent_1", "marketer", "analyst"]

# Writes a GET may make, each for a documented reason. Nothing else may be written while a page is shown.
ALLOWED_WRITES = {
    # PII views and exports are audited (ARCHITECTURE §4): pii.view rows (one per user, customer, page and day,
    # counted up on later views: customers.services) and export.* rows.
    ("INSERT", "core_auditlog"),
    ("UPDATE", "core_auditlog"),
    # Django's session middleware saves a session that changed (sign-in, a one-off message read from it).
    ("INSERT", "django_session"),
    ("UPDATE", "django_session"),
    ("DELETE", "django_session"),
}
WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+"?([\w.]+)"?', re.IGNORECASE)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.conf import settings

    old = getattr(settings, "ANALYTICS_DIR", None)
    settings.ANALYTICS_DIR = tmp_path_factory.mktemp("analytics")
    with django_db_blocker.unblock():
        call_command("demo", customers=60, seed=3, now="2026-07-01", quiet=True, stdout=StringIO())
    yield
    if old is None:
        del settings.ANALYTICS_DIR
    else:
        settings.ANALYTICS_DIR = old
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)  # post_migrate seeds what migrate seeds


def _client(username: str, language: str = "en") -> Client:
    from clientwise.accounts.models import User

    User.objects.filter(username=username).update(language=language)
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


class WriteGuard:
    """Records every INSERT/UPDATE/DELETE the database is asked to run, by statement and table."""

    def __init__(self):
        self.writes: list[tuple[str, str, str]] = []

    def __call__(self, execute, sql, params, many, context):
        m = WRITE.match(sql)
        if m:
            verb = m.group(1).split()[0].upper()
            self.writes.append((verb, m.group(2).strip('"').lower(), sql[:160]))
        return execute(sql, params, many, context)


@pytest.mark.parametrize("username", ROLES)
def test_a_get_writes_nothing_but_the_audit_trail(world, db, username):
    client = _client(username)
    bad: dict[str, list[str]] = {}
    visited = 0
    guard = WriteGuard()
    with connection.execute_wrapper(guard):
        for visit in crawl(client, per_view=1):
            visited += 1
            assert visit.status < 500, visit.url
            for verb, table, sql in guard.writes:
                if (verb, table) not in ALLOWED_WRITES:
                    bad.setdefault(visit.url, []).append(sql)
            guard.writes.clear()
    assert visited > 40, visited
    assert bad == {}, bad


# --- No raw codes, nothing in the other language -------------------------------------------------------------------

LANGS = ["en", "zh-hans"]
TEXT_ROLES = ["admin", "manager_sh", "rep_sh_1", "agent_1", "analyst"]


@pytest.mark.parametrize("language", LANGS)
@pytest.mark.parametrize("username", TEXT_ROLES)
def test_pages_show_words_in_the_readers_language_not_codes(world, db, username, language):
    """Every page as each role in each language: no registered code as visible text (an identifier like
    sales_rep anywhere, a one-word code like appliances on a Chinese page), no English message on a Chinese page
    (a line that is a catalog msgid, or a msgid with its placeholders filled), no Chinese message on an English
    page (the same with the msgstrs of three or more Chinese characters: shorter ones are also names in the demo's
    data). Elements marked data-code-ok (a settings table's code column) are left out."""
    from clientwise.accounts.models import User

    client = _client(username, language)
    check = TextCheck(language, names=set(User.objects.values_list("username", flat=True)))
    found: dict[str, set[str]] = {}
    for visit in crawl(client, per_view=1):
        if not visit.body:
            continue
        for line in visible_lines(visit.body, skip_marked=True):
            for p in check.problems(line):
                found.setdefault(p, set()).add(visit.url)
    if found:
        pytest.fail("\n".join(f"{p}: {', '.join(sorted(urls)[:3])}" for p, urls in sorted(found.items())))


def test_every_figure_of_every_model_run_has_words(world, db):
    """The demo's scoring runs every model; each key its metrics and parameters hold has a name and an
    explanation on the model page (analytics/glossary.py)."""
    from clientwise.analytics import glossary
    from clientwise.analytics.models import ModelRun

    runs = list(ModelRun.objects.all())
    assert {r.model for r in runs} >= {"rfm", "bgnbd", "gamma_gamma", "clv", "churn", "next_purchase", "recommend",
                                      "value"}
    missing = {r.model: glossary.unknown_keys(r.model, r.metrics, r.parameters) for r in runs}
    assert {m: keys for m, keys in missing.items() if keys} == {}
