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
# Names shown as they are in every language: the product, engines and formats, the language switcher's own names.
SAME_IN_EVERY_LANGUAGE = {"English", "简体中文", "Clientwise", "DuckDB", "Spark", "CSV", "XLSX", "Parquet", "API", "RFM",
                          "BG/NBD", "MBG/NBD", "Gamma-Gamma", "SKU", "AUC", "SLA", "ID", "CNY", "JSON Lines",
                          "Excel (XLSX)", "Excel（XLSX）", "LightGBM", "WeChat", "NPS", "CSAT"}
IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(?:[_.][a-z0-9]+)+$")  # sales_rep, pii.view, resolution_breach
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*[A-Za-z0-9]")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _po_entries() -> list[tuple[str, str]]:
    """(msgid, msgstr) of every zh_Hans catalog of the project (plural forms: the singular and msgstr[0])."""
    from pathlib import Path

    from django.conf import settings

    entries = []
    for po in sorted(Path(settings.BASE_DIR).glob("**/locale/zh_Hans/LC_MESSAGES/django.po")):
        current: dict[str, str] = {}
        key = None
        for line in [*po.read_text(encoding="utf-8").splitlines(), ""]:
            m = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[0\])?|msgstr\[\d+\]) "(.*)"$', line)
            if m:
                key = m.group(1)
                current[key] = current.get(key, "") + m.group(2)
            elif line.startswith('"') and key:
                current[key] += line[1:-1]
            elif not line.strip():
                msgid, msgstr = current.get("msgid", ""), current.get("msgstr", current.get("msgstr[0]", ""))
                if msgid and msgstr:
                    entries.append((msgid.replace('\\"', '"'), msgstr.replace('\\"', '"')))
                current, key = {}, None
    return entries


def _code_table() -> tuple[set[str], set[str]]:
    """Registered codes of the label table that must never show as they are: identifiers (sales_rep, pii.view)
    anywhere, and single lowercase words (appliances, registration) in Chinese pages."""
    from clientwise.core import labels

    identifiers, words = set(), set()
    for kind in labels.kinds().values():
        if kind.codes_visible_ok:
            continue
        for code in kind.labels:
            if str(kind.labels[code]) == code:
                continue  # a code that is its own label (API, CRM)
            if IDENTIFIER.match(code):
                identifiers.add(code)
            elif re.fullmatch(r"[a-z]{3,}", code):
                words.add(code)
    return identifiers, words


def _patterns(texts, key_of) -> dict[str, list[re.Pattern]]:
    """Messages with placeholders ("Ticket %(number)s escalated to %(name)s") as whole-line patterns, indexed by
    a key `key_of` finds in them (a word, or two Chinese characters) so a line is only tried on a few."""
    out: dict[str, list[re.Pattern]] = {}
    for text in texts:
        parts = re.split(r"%\(\w+\)[sd]|%[sd]", text)
        if len(parts) < 2:
            continue
        literal = "".join(parts)
        key = key_of(literal)
        if key is None:
            continue
        pattern = re.compile("^" + ".+?".join(re.escape(p) for p in parts) + "$", re.S)
        out.setdefault(key, []).append(pattern)
    return out


def _english_key(literal: str) -> str | None:
    words = [w for w in re.findall(r"[A-Za-z]{4,}", literal)]
    return max(words, key=len) if words and len("".join(words)) >= 8 else None


def _chinese_key(literal: str) -> str | None:
    runs = CJK_RUN.findall(literal)
    run = max(runs, key=len) if runs else ""
    return run[:2] if len(run) >= 3 else None


CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


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
    identifiers, words = _code_table()
    words -= set(User.objects.values_list("username", flat=True))  # admin, analyst: names, not role codes
    entries = _po_entries()
    english = {m for m, s in entries if m != s and WORD.search(m)} - SAME_IN_EVERY_LANGUAGE
    chinese = {s for m, s in entries if m != s and len("".join(CJK_RUN.findall(s))) >= 3} - SAME_IN_EVERY_LANGUAGE
    english_patterns = _patterns(english, _english_key)
    chinese_patterns = _patterns(chinese, _chinese_key)
    found: dict[str, set[str]] = {}
    for visit in crawl(client, per_view=1):
        if not visit.body:
            continue
        for line in visible_lines(visit.body, skip_marked=True):
            problems = set()
            tokens = set(WORD.findall(line))
            problems |= {f"code {t}" for t in tokens & identifiers}
            if language == "zh-hans":
                problems |= {f"code {t}" for t in tokens & words}
                if line in english or any(p.match(line) for w in tokens for p in english_patterns.get(w, ())):
                    problems.add(f"untranslated {line!r}")
            elif CJK.search(line):
                pairs = {line[i:i + 2] for i in range(len(line) - 1)}
                if line in chinese or any(p.match(line) for k in pairs for p in chinese_patterns.get(k, ())):
                    problems.add(f"Chinese {line!r}")
            for p in problems:
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
