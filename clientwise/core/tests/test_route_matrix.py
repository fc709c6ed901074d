"""The route matrix: every API operation and every page answers each subject as route_matrix.py declares, and
every page and GET endpoint keeps its recorded number of SQL queries (query_counts.json).

The world (matrix_world.py) is built once for this module inside a transaction that is rolled back at the end;
each test runs in a savepoint on top of it, and each request of a test in its own savepoint, so every subject
meets the same world. How to declare a new route: docs/access.md, "The route matrix".
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from clientwise.core.tests import route_matrix as rm
from clientwise.core.tests.matrix_world import HIDDEN_SUBJECTS, SUBJECTS, build_world, subject_user

API_PREFIX = "/api/v1"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# The answers a write may give to a subject who is let in: done (2xx, or a redirect after a form), or refused by
# the input or the state (400, 409, 413, 422) — but never a refusal of the subject (401/403/404/405) or a crash.
WRITE_OK = frozenset({200, 201, 202, 204, 302, 400, 409, 413, 422})
LOGIN = "login"  # a page's answer to anonymous: a redirect to the login page
# Tables a refused request may still write: the token's last use, the session, the login throttle.
WRITABLE_ON_REFUSAL = ("accounts_apitoken", "django_session", "axes_")
WRITE_SQL = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


# --- Enumerating the routes --------------------------------------------------------------------------------------


def api_operations() -> list[str]:
    """Every operation of the live API schema, as "METHOD /api/v1/path"."""
    from clientwise.api import api

    schema = api.get_openapi_schema(path_prefix=API_PREFIX + "/")
    return sorted(f"{method.upper()} {path}" for path, ops in schema["paths"].items() for method in ops)


def page_patterns() -> dict[str, str]:
    """Every page URL pattern outside the API: {namespaced name: pattern}."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                if str(p.pattern).startswith("api/"):
                    continue
                ns = ":".join(x for x in (namespace, p.namespace) if x)
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                name = f"{namespace}:{p.name}" if namespace else (p.name or "")
                found[name or prefix + str(p.pattern)] = prefix + str(p.pattern)

    walk(get_resolver().url_patterns, "", "")
    return found


def test_every_api_operation_is_declared():
    live = set(api_operations())
    missing = sorted(live - set(rm.API))
    stale = sorted(set(rm.API) - live)
    assert not missing, ("API operations without a declaration in clientwise/core/tests/route_matrix.py (API): "
                         f"{missing}. Declare who may call them (docs/access.md, 'The route matrix').")
    assert not stale, f"Declarations for API operations that no longer exist: {stale}"


# --- The world, the clients ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The fixture world, built once in a transaction rolled back after the module; sessions and API tokens of
    every subject."""
    from django.test.utils import override_settings
    from django.utils.functional import empty

    from clientwise.accounts.services import issue_token
    from clientwise.service.models import attachment_storage

    var = tmp_path_factory.mktemp("matrix-var")
    overrides = override_settings(VAR_DIR=var, ANALYTICS_DIR=var / "analytics")
    with django_db_blocker.unblock():
        overrides.enable()
        attachment_storage._wrapped = empty
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            w = build_world()
            w.tokens, w.sessions = {}, {}
            login = Client()
            for subject in SUBJECTS:
                user = subject_user(w, subject)
                if user is None:
                    continue
                w.tokens[subject] = issue_token(user=user, name="matrix").secret
                login.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
                w.sessions[subject] = login.cookies[settings.SESSION_COOKIE_NAME].value
                login.cookies.clear()
            w.spare_token = issue_token(user=w.rep_a, name="spare").token
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            overrides.disable()
            raise
    yield w
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)
        overrides.disable()
        attachment_storage._wrapped = empty


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


CSRF = "matrixcsrftokenmatrixcsrftoken12"  # 32 characters: a valid unmasked CSRF secret
# One client each for the whole module (a new Client loads the middleware again, and WhiteNoise scans every static
# file: more than the requests cost). A crash is answered 500 and judged, not raised into the test.
_API_CLIENT = Client(raise_request_exception=False)
_PAGE_CLIENT = Client(enforce_csrf_checks=True, raise_request_exception=False)


def page_client(w, subject: str, *, csrf: bool = True) -> Client:
    """A browser of `subject`: CSRF is enforced as in production; with `csrf` it has the cookie and sends the
    token like a form does."""
    from http.cookies import SimpleCookie

    c = _PAGE_CLIENT
    c.cookies = SimpleCookie()
    if csrf:
        c.cookies[settings.CSRF_COOKIE_NAME] = CSRF
    if subject != "anonymous":
        c.cookies[settings.SESSION_COOKIE_NAME] = w.sessions[subject]
    return c


def api_headers(w, subject: str) -> dict:
    return {} if subject == "anonymous" else {"Authorization": f"Bearer {w.tokens[subject]}"}


# --- Expectations --------------------------------------------------------------------------------------------------


def expected(rule: rm.Rule, subject: str, method: str, *, page: bool):
    """The declared answer for one subject: a status, LOGIN, or a set of acceptable statuses."""
    if subject in rule.status:
        return rule.status[subject]
    if subject in rule.hidden:
        return 404
    role = HIDDEN_SUBJECTS.get(subject, subject)
    if role in rule.allow:
        if rule.ok is not None:
            return rule.ok
        return WRITE_OK if method in UNSAFE else 200
    if subject == "anonymous":
        return LOGIN if page else 401
    return rule.deny


def matches(response, want, *, page: bool) -> bool:
    if want == LOGIN:
        return response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    if isinstance(want, frozenset):
        return response.status_code in want
    if response.status_code != want:
        return False
    if not page and want in (401, 403, 404):  # an API refusal is the JSON error shape
        try:
            body = response.json()
        except ValueError:
            return False
        return {"code", "message"} <= set(body) and bool(body["message"])
    return True


def describe(want) -> str:
    if isinstance(want, frozenset):
        return "a valid answer (" + "/".join(str(s) for s in sorted(want)) + ")"
    return "a redirect to the login page" if want == LOGIN else str(want)


def writes(queries) -> list[str]:
    tables = []
    for q in queries:
        m = WRITE_SQL.match(q["sql"])
        if m and not m.group(2).lower().startswith(WRITABLE_ON_REFUSAL):
            tables.append(m.group(2))
    return tables


def consumed(response):
    """A streamed response (an export) read to its end, so its queries run (and its errors show) here."""
    if response.streaming:
        try:
            response.content_bytes = b"".join(response.streaming_content)
        except Exception as exc:  # a crash half-way through a download: the client gets a broken file
            response.status_code, response.content_bytes = 500, repr(exc).encode()
    return response


@dataclass
class Outcome:
    subject: str
    want: object
    got: int
    ok: bool
    wrote: list[str]
    detail: str


def ask(call, rule: rm.Rule, subject: str, method: str, *, page: bool) -> Outcome:
    """One request as one subject, in a savepoint rolled back afterwards (and with an empty cache, so rate limits
    of earlier subjects do not count)."""
    from django.core.cache import cache

    want = expected(rule, subject, method, page=page)
    cache.clear()
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        response = consumed(call(subject))
        transaction.set_rollback(True)
    ok = matches(response, want, page=page)
    refused = want == LOGIN or want in (401, 403, 404, 405)
    wrote = writes(ctx.captured_queries) if refused else []
    content = response.content_bytes if response.streaming else response.content
    detail = "" if ok else content[:200].decode(errors="replace")
    if response.status_code == 302:
        detail = response["Location"]
    return Outcome(subject, want, response.status_code, ok and not wrote, wrote, detail)


def judge(key: str, rule: rm.Rule, outcomes: list[Outcome]) -> None:
    """Fail on any difference from the declaration; a declared known bug (xfail) must still be there.

    ROUTE_MATRIX_REPORT=<file> appends every answer to the file (a line per route: subject=status), to review
    what a new route answers before declaring it."""
    report = os.environ.get("ROUTE_MATRIX_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as f:
            f.write(f"{key}  " + " ".join(f"{o.subject}={o.got}{'' if o.ok else '!'}" for o in outcomes) + "\n")
    problems, known = [], []
    for o in outcomes:
        reason = rule.xfail.get(o.subject)
        if reason is not None:
            if o.ok:
                problems.append(f"{o.subject}: answered {o.got} as declared, but is marked as a known bug "
                                f"({reason}) — remove the xfail entry")
            else:
                known.append(f"{o.subject}: {reason}")
            continue
        if not o.ok:
            if o.wrote:
                problems.append(f"{o.subject}: refused with {o.got} but wrote to {sorted(set(o.wrote))}")
            else:
                problems.append(f"{o.subject}: expected {describe(o.want)}, got {o.got} {o.detail!r}")
    assert not problems, f"{key}:\n  " + "\n  ".join(problems)
    if known:
        pytest.xfail("; ".join(known))


# --- The API -----------------------------------------------------------------------------------------------------


def api_path(key: str, rule: rm.Rule, w) -> tuple[str, str]:
    method, template = key.split(" ", 1)

    def fill(m):
        name = m.group(1)
        value = rule.params.get(name, rm.API_PARAMS.get(name))
        if value is None:
            raise AssertionError(f"{key}: no value for the path parameter {name!r} (declare it in params)")
        return str(resolve(value, w))

    return method, re.sub(r"\{(\w+)\}", fill, template)


def body_for(rule: rm.Rule, w, subject: str):
    """The rule's request body; a body that depends on who sends it takes the user (None: anonymous) as a second
    argument."""
    import inspect

    if rule.body is None:
        return None
    if len(inspect.signature(rule.body).parameters) == 2:
        return rule.body(w, subject_user(w, subject))
    return rule.body(w)


def resolve(value, w):
    if callable(value):
        return value(w)
    if isinstance(value, str):
        obj = getattr(w, value)
        return getattr(obj, "pk", obj)
    return value


def resolve_query(query, w) -> dict:
    return {k: resolve(v, w) if callable(v) else v for k, v in (query or {}).items()}


def api_call(key: str, rule: rm.Rule, w):
    method, path = api_path(key, rule, w)
    query = resolve_query(rule.query, w)

    def call(subject: str):
        c = _API_CLIENT
        headers = api_headers(w, subject)
        if method == "GET":
            return c.get(path, query or {}, headers=headers)
        url = path
        if query:
            from urllib.parse import urlencode

            url = f"{path}?{urlencode(query)}"
        body = body_for(rule, w, subject)
        if rule.multipart:
            return c.post(url, body or {}, headers=headers)
        if body is None:
            return c.generic(method, url, headers=headers)
        return c.generic(method, url, json.dumps(body), content_type="application/json", headers=headers)

    return method, call


@pytest.mark.parametrize("key", sorted(rm.API))
def test_api_route(key, world, db):
    rule = rm.API[key]
    method, call = api_call(key, rule, world)
    judge(key, rule, [ask(call, rule, s, method, page=False) for s in SUBJECTS])


# --- The pages -----------------------------------------------------------------------------------------------------


def test_every_page_is_declared():
    live = set(page_patterns())
    declared = {key.split("|")[0] for key in rm.PAGES}
    missing = sorted(live - declared)
    stale = sorted(declared - live)
    assert not missing, ("Pages without a declaration in clientwise/core/tests/route_matrix.py (PAGES): "
                         f"{missing}. Declare who may open them (docs/access.md, 'The route matrix').")
    assert not stale, f"Declarations for pages that no longer exist: {stale}"


def page_url(key: str, page: rm.Page, w) -> str:
    name = key.split("|")[0]
    return reverse(name, kwargs={k: resolve(v, w) for k, v in page.kwargs.items()})


def page_call(key: str, page: rm.Page, method: str, rule: rm.Rule, w):
    url = page_url(key, page, w)

    def call(subject: str):
        c = page_client(w, subject)
        if method == "GET":
            return c.get(url, resolve_query(page.query, w))
        body = body_for(rule, w, subject)
        if rule.json:
            return c.post(url, json.dumps(body or {}), content_type="application/json",
                          headers={"X-CSRFToken": CSRF})
        return c.post(url, body or {}, headers={"X-CSRFToken": CSRF})

    return call


def page_cases() -> list:
    return [pytest.param(key, method, id=f"{method} {key}")
            for key in sorted(rm.PAGES) for method in ("GET", "POST")]


@pytest.mark.parametrize(("key", "method"), page_cases())
def test_page(key, method, world, db):
    page = rm.PAGES[key]
    rule = page.get if method == "GET" else page.post
    subjects = SUBJECTS
    if rule == rm.SAME:
        # The page serves POST like GET: ask again only the subjects GET refuses, so POST cannot bypass the check.
        rule = page.get
        subjects = [s for s in SUBJECTS if expected(rule, s, "GET", page=True) in (LOGIN, 401, 403, 404)]
    call = page_call(key, page, method, rule, world)
    judge(f"{method} {key}", rule, [ask(call, rule, s, method, page=True) for s in subjects])


def first_allowed(rule: rm.Rule) -> str:
    """The subject whose answer is recorded for a route: the first let in, narrowest scope first."""
    for subject in ("manager", "sales_rep", "service_agent", "analyst", "marketer", "admin", "norole", "anonymous"):
        if subject in rule.allow and subject not in rule.status and subject not in rule.xfail:
            return subject
    raise AssertionError(f"{rule} lets nobody in")


def writing_pages() -> list:
    return [pytest.param(key, id=key) for key, page in sorted(rm.PAGES.items())
            if page.post != rm.SAME and page.post.ok != rm.NO_METHOD]


@pytest.mark.parametrize("key", writing_pages())
def test_page_post_needs_csrf(key, world, db):
    """A form post without the CSRF token is refused (403) before the view runs, except on the public forms whose
    secret URL stands in for it (route_matrix.CSRF_EXEMPT)."""
    page = rm.PAGES[key]
    rule = page.post
    subject = first_allowed(rule)
    c = page_client(world, subject, csrf=False)
    with transaction.atomic():
        response = c.post(page_url(key, page, world), body_for(rule, world, subject) or {})
        transaction.set_rollback(True)
    if key in rm.CSRF_EXEMPT:
        assert response.status_code != 403, f"{key} is declared CSRF-exempt but refused a post without the token"
    else:  # with the token this subject is let in (test_page), so the 403 is the CSRF check's
        assert response.status_code == 403, f"{key}: a post without the CSRF token answered {response.status_code}"


@pytest.mark.parametrize("key", [k for k, p in sorted(rm.PAGES.items()) if p.post != rm.SAME and p.post.json])
def test_json_page_refuses_a_form_post(key, world, db):
    """A page that takes JSON answers a form (multipart) post with a 4xx error, not a crash."""
    page = rm.PAGES[key]
    c = page_client(world, first_allowed(page.post))
    with transaction.atomic():
        response = c.post(page_url(key, page, world), {"spec": "x"}, headers={"X-CSRFToken": CSRF})
        transaction.set_rollback(True)
    assert 400 <= response.status_code < 500, (key, response.status_code, response.content[:200])


# --- Query counts ----------------------------------------------------------------------------------------------------

QUERY_COUNTS = Path(__file__).with_name("query_counts.json")
UPDATE_COUNTS = os.environ.get("UPDATE_QUERY_COUNTS") == "1"
_measured: dict[str, int] = {}


def count_cases() -> list:
    """Every GET API operation and every page whose GET answers 200 to someone: "GET /api/v1/…", "GET app:name"."""
    cases = [key for key, rule in rm.API.items() if key.startswith("GET ") and (rule.ok or 200) == 200]
    cases += [f"GET {key}" for key, page in rm.PAGES.items() if (page.get.ok or 200) == 200]
    return sorted(cases)


def load_counts() -> dict[str, dict[str, int]]:
    """{route: {database vendor: queries}} — SQLite and PostgreSQL are recorded separately."""
    return json.loads(QUERY_COUNTS.read_text(encoding="utf-8")) if QUERY_COUNTS.exists() else {}


def write_counts(counts: dict[str, dict[str, int]]) -> None:
    """One line per route, sorted, so a re-recording diffs line by line."""
    lines = [f" {json.dumps(key, ensure_ascii=False)}: {json.dumps(dict(sorted(counts[key].items())))}"
             for key in sorted(counts)]
    QUERY_COUNTS.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")


@pytest.fixture(scope="module")
def _record_counts():
    """With UPDATE_QUERY_COUNTS=1, the counts this run measured replace this database's in query_counts.json
    (routes that no longer exist are dropped; routes not run and the other database's counts are kept)."""
    yield
    if not (UPDATE_COUNTS and _measured):
        return
    known = set(count_cases())
    counts = {k: v for k, v in load_counts().items() if k in known}
    for key, n in _measured.items():
        counts.setdefault(key, {})[connection.vendor] = n
    write_counts(counts)


def count_call(key: str, w):
    """The request of a counted route and the subject who makes it."""
    if key.startswith("GET /"):
        rule = rm.API[key]
        return api_call(key, rule, w)[1], first_allowed(rule)
    name = key.split(" ", 1)[1]
    page = rm.PAGES[name]
    return page_call(name, page, "GET", page.get, w), first_allowed(page.get)


@pytest.mark.parametrize("key", count_cases())
def test_query_count(key, world, db, _record_counts):
    """The number of SQL queries a route makes for the first subject it lets in (after one warm-up request, so
    per-process caches are filled) does not grow beyond the recorded baseline."""
    from django.core.cache import cache

    call, subject = count_call(key, world)
    cache.clear()
    with transaction.atomic():
        consumed(call(subject))
        with CaptureQueriesContext(connection) as ctx:
            response = consumed(call(subject))
        transaction.set_rollback(True)
    assert response.status_code == 200, (key, subject, response.status_code)
    count = len(ctx.captured_queries)
    if UPDATE_COUNTS:
        _measured[key] = count
        return
    recorded = load_counts().get(key, {}).get(connection.vendor)
    rerecord = ("Re-record with UPDATE_QUERY_COUNTS=1 .venv/bin/python -m pytest "
                "clientwise/core/tests/test_route_matrix.py -k test_query_count (on SQLite and on PostgreSQL, "
                "DATABASE_URL=postgres://…) and commit clientwise/core/tests/query_counts.json.")
    assert recorded is not None, f"{key} has no recorded query count on {connection.vendor}. {rerecord}"
    if count < recorded:
        import warnings

        warnings.warn(f"{key}: {count} queries, {recorded} recorded — fewer; re-record to keep the baseline tight "
                      "(UPDATE_QUERY_COUNTS=1).", stacklevel=1)
    if count > recorded:
        listing = "\n".join(f"  {i + 1}. {q['sql'][:300]}" for i, q in enumerate(ctx.captured_queries))
        pytest.fail(f"{key} as {subject}: {count} queries, {recorded} recorded ({count - recorded} more). "
                    f"If the growth is intended, {rerecord[0].lower()}{rerecord[1:]}\n{listing}")


# --- Bad input the matrix ran into ------------------------------------------------------------------------------------



@pytest.mark.parametrize("path", ["reports/run", "reports/drill"])
def test_report_member_key_of_the_wrong_type_is_not_a_crash(path, world, db):
    """A filter or drill value that is no key of its dimension is bad input: a 4xx or no rows, never a 500."""
    bad = ["华东"]  # the region's name; its key is its id
    body = ({**rm.SPEC, "filters": [{"dimension": "region", "values": bad}]} if path == "reports/run"
            else {"spec": rm.SPEC, "row": bad, "column": []})
    with transaction.atomic():
        response = _API_CLIENT.post(f"{API_PREFIX}/{path}", json.dumps(body), content_type="application/json",
                                    headers=api_headers(world, "admin"))
        transaction.set_rollback(True)
    assert response.status_code < 500, (response.status_code, response.content[:200])
