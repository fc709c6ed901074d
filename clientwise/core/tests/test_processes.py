"""The production process set: which processes run, that they stop together, the scheduler that keeps periodic
jobs queued, the worker heartbeat, the health check, and the deployment headers and settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from clientwise import processes
from clientwise.core import extensions, scheduler

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def queue(settings):
    """The database task backend the product uses (tests otherwise run tasks at once)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def test_process_set_development_and_production():
    dev = processes.process_set(addr="127.0.0.1:8000", python="py")
    assert [s.name for s in dev] == ["web", "worker", "scheduler"]
    assert dev[0].argv == ("py", "-m", "clientwise", "runserver", "127.0.0.1:8000", "--noreload")
    prod = processes.process_set(addr="0.0.0.0:8000", production=True, web_processes=3, web_threads=8,
                                 task_workers=2, python="py")
    assert [s.name for s in prod] == ["web", "worker1", "worker2", "scheduler"]
    web = prod[0].argv
    assert web[:4] == ("py", "-m", "gunicorn", "clientwise.wsgi:application")
    assert web[web.index("--workers") + 1] == "3" and web[web.index("--threads") + 1] == "8"
    assert processes.procfile(prod).splitlines()[-1] == "scheduler: py -m clientwise scheduler"
    assert [s.name for s in processes.process_set(addr="x:1", task_workers=0)] == ["web", "scheduler"]


def test_when_one_process_ends_the_others_are_stopped():
    sleeper = processes.ProcessSpec("sleeper", (sys.executable, "-c", "import time; time.sleep(60)"))
    quitter = processes.ProcessSpec("quitter", (sys.executable, "-c", "import sys; print('bye'); sys.exit(3)"))
    started = time.monotonic()
    code = processes.run([sleeper, quitter])
    assert time.monotonic() - started < 20  # the sleeper did not run its 60 s
    assert code == 3


def test_serve_prints_the_same_plan_as_a_procfile():
    out = subprocess.run([sys.executable, "-m", "clientwise", "serve", "--production", "--task-workers", "2",
                          "--print-procfile"], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert [line.split(":")[0] for line in out.splitlines()] == ["web", "worker1", "worker2", "scheduler"]
    assert "gunicorn clientwise.wsgi:application" in out


@pytest.mark.django_db
def test_scheduler_queues_each_periodic_job_once(queue):
    from django_tasks_db.models import DBTaskResult

    keys = {j.key for j in extensions.PERIODIC}
    assert {"heartbeat", "nightly_scoring", "sla_check", "report_mailer"} <= keys
    first = scheduler.run_once()
    assert set(first) == keys
    # Each job queues its next run, except the campaign sender: one task per campaign with messages due (none here).
    assert all(first[k] for k in keys - {"campaign_sender"}) and not first.get("campaign_sender")
    waiting = DBTaskResult.objects.filter(status="READY").count()
    assert waiting == sum(first.values())
    assert not any(scheduler.run_once().values())  # a second round queues nothing
    assert DBTaskResult.objects.filter(status="READY").count() == waiting


@pytest.mark.django_db
def test_a_failing_job_does_not_stop_the_others(monkeypatch, settings):
    calls = []

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(extensions, "PERIODIC", [extensions.PeriodicJob("broken", "Broken", broken),
                                                 extensions.PeriodicJob("fine", "Fine", lambda: calls.append(1) or 1)])
    settings.SCHEDULER_JOBS = "all"
    assert scheduler.run_once() == {"broken": False, "fine": True}
    settings.SCHEDULER_JOBS = ["fine"]
    assert scheduler.run_once() == {"fine": True}
    assert len(calls) == 2


@pytest.mark.django_db(transaction=True)
def test_worker_is_seen_alive_after_it_runs_a_heartbeat(queue):
    from clientwise.core.tasks import ensure_heartbeat

    assert scheduler.worker_status().alive is False
    ensure_heartbeat()  # the first one is due at once
    status = scheduler.worker_status()
    assert (status.alive, status.waiting) == (False, 1)
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    status = scheduler.worker_status()
    assert status.alive is True and status.waiting == 0
    # The next heartbeat waits a minute after the last one.
    ensure_heartbeat()
    assert scheduler.worker_status().waiting == 0


def test_healthz_answers_without_sign_in(client, db):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": True, "worker_alive": False, "tasks_waiting": 0}


def test_healthz_is_503_when_the_database_is_down(client, db, monkeypatch):
    from django.db import connection

    def down(*a, **k):
        raise RuntimeError("database is down")

    with monkeypatch.context() as m:
        m.setattr(connection, "cursor", down)
        r = client.get("/healthz")
    assert r.status_code == 503 and r.json()["database"] is False


def test_pages_are_not_cached_and_carry_a_content_security_policy(web_client, org):
    r = web_client(org.admin).get("/customers/")
    assert r.status_code == 200
    assert "no-store" in r["Cache-Control"] and "private" in r["Cache-Control"]
    csp = r["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert b" onclick=" not in r.content and b" onsubmit=" not in r.content


def test_no_template_has_inline_scripts_or_handlers():
    """The policy allows scripts from this site only: an inline handler or script would be blocked."""
    import re

    bad = []
    for path in (ROOT / "clientwise").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"\son[a-z]+=\"", text) or re.search(r"<script(?![^>]*\b(src|type=\"application/json\"))",
                                                           text):
            bad.append(str(path.relative_to(ROOT)))
    assert bad == []


def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clientwise.settings", "DEBUG": "0", "HTTPS": "1",
           "SECURE_HSTS_PRELOAD": "1",
           "SECRET_KEY": "k" * 20 + "-deploy-check-" + "x9Q#" * 10, "ALLOWED_HOSTS": "crm.example.com",
           "CLIENTWISE_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = subprocess.run([sys.executable, "-m", "clientwise", "check", "--deploy", "--fail-level", "WARNING"],
                            capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_a_queued_import_says_whether_a_worker_is_alive(web_client, org, queue):
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from clientwise.core.tasks import ensure_heartbeat
    from clientwise.dataio import services
    from clientwise.dataio.models import ImportJob
    from clientwise.dataio.tests.helpers import upload

    job = services.create_job(actor=org.admin, kind="customers", upload=upload("m.csv", "姓名,手机\n张伟,13812345678\n"),
                              source="pos")
    ImportJob.objects.filter(pk=job.pk).update(status="queued")
    c = web_client(org.admin)
    html = c.get(f"/data/imports/{job.pk}/progress/").content.decode()
    assert 'data-worker="silent"' in html and "clientwise worker" in html
    ensure_heartbeat()
    DBTaskResult.objects.filter(task_path="clientwise.core.tasks.heartbeat").update(
        status="SUCCESSFUL", finished_at=timezone.now())
    html = c.get(f"/data/imports/{job.pk}/progress/").content.decode()
    assert 'data-worker="alive"' in html and 'data-worker="silent"' not in html
    ImportJob.objects.filter(pk=job.pk).update(status="running")
    assert "data-worker" not in c.get(f"/data/imports/{job.pk}/progress/").content.decode()


@pytest.mark.django_db
def test_queueing_scoring_without_a_worker_warns(web_client, org, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    r = web_client(org.admin).post("/analytics/run/", follow=True)
    texts = [str(m) for m in r.context["messages"]]
    assert any("No task worker is running" in t for t in texts), texts


def test_numbers_too_large_for_the_database_are_bad_input_not_server_errors(web_client, api_client, org):
    """A filter id beyond 64 bits reaches the query: where the database cannot hold it, the API answers 422 with
    the error shape and a page 400."""
    # (PostgreSQL compares such a number as numeric and finds nothing: 200 with no rows is right too.)
    for path, params in (("branches", {"region_id": "-77642483345407856345088"}),
                         ("exports/customers", {"owner": str(2 ** 70)})):
        r = api_client(org.admin).get(path, params)
        assert r.status_code in (200, 422), (path, r.status_code)
        if r.status_code == 422:
            assert r.json()["code"] == "invalid"
    page = web_client(org.admin).get("/customers/", {"owner": str(2 ** 70)})
    assert page.status_code in (200, 400)  # the list form may reject it itself; never a 500
    assert web_client(org.admin).get("/data/export/customers.csv", {"owner": str(2 ** 70)}).status_code in (200, 400)


def test_unsafe_api_calls_without_a_valid_token_are_401_not_a_csrf_failure(org, web_client):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    for headers in ({}, {"Authorization": "Bearer cw_not-a-token"}):
        r = client.post("/api/v1/customers", {"name": "x"}, content_type="application/json", headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated", (headers, r.content)
    # With a session cookie the CSRF check still applies.
    browser = web_client(org.admin)
    browser.handler.enforce_csrf_checks = True
    r = browser.post("/api/v1/customers", {"name": "x"}, content_type="application/json")
    assert r.status_code == 403


def test_malformed_requests_found_by_fuzzing_are_4xx(org, api_client):
    c = api_client(org.admin)
    r = c.client.post("/api/v1/imports", data=b"--x\r\n", content_type="multipart/form-data", headers=c.headers)
    assert r.status_code == 400 and r.json()["code"] == "invalid"  # multipart without a boundary
    r = c.client.get("/api/v1/exports/customers", {"size": "1000"}, headers=c.headers)
    assert r.status_code == 200  # an export has no page size


def test_snapshot_times_are_shown_in_the_display_time_zone(settings):
    """Reports said "data as of 2026-12-07 02:30 UTC" while every other page shows Asia/Shanghai."""
    import datetime as dt

    from django.utils import timezone

    from clientwise.core.templatetags.cw import local_datetime

    settings.TIME_ZONE = "Asia/Shanghai"
    with timezone.override("Asia/Shanghai"):
        assert local_datetime("2026-12-07T02:30:00+00:00") == "2026-12-07 10:30"
        assert local_datetime("2026-12-07 18:30:00") == "2026-12-08 02:30"  # naive: UTC, as snapshots record it
        assert local_datetime(dt.datetime(2026, 12, 7, 2, 30, tzinfo=dt.UTC), "H:i") == "10:30"
        assert local_datetime("not a time") == "not a time" and local_datetime(None) == ""
