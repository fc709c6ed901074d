"""Idempotency keys survive failures: the key, the writes and the stored response commit together, so a request
that failed or whose server died is run again by its retry (never stuck at 409, never written twice)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from clientwise.accounts.models import IdempotencyKey
from clientwise.customers.models import Customer

ROOT = Path(__file__).resolve().parents[3]


def test_a_request_that_fails_after_writing_leaves_neither_its_write_nor_its_key(org, monkeypatch):
    from clientwise.accounts.services import issue_token
    from clientwise.customers import api as customers_api

    real = customers_api.services.create_customer

    def create_then_fail(**kwargs):
        real(**kwargs)  # the customer row is written…
        raise RuntimeError("the server fails before answering")  # …and the request dies

    headers = {"Authorization": f"Bearer {issue_token(user=org.rep_a, name='t').secret}", "Idempotency-Key": "k-9"}
    client = Client(raise_request_exception=False)
    body = {"name": "李娜", "mobile": "13900001111"}
    with monkeypatch.context() as m:
        m.setattr(customers_api.services, "create_customer", create_then_fail)
        r = client.post("/api/v1/customers", body, content_type="application/json", headers=headers)
    assert r.status_code == 500
    assert not Customer.objects.filter(name="李娜").exists()
    assert not IdempotencyKey.objects.exists()
    # The retry runs the request for real, once.
    retry = client.post("/api/v1/customers", body, content_type="application/json", headers=headers)
    again = client.post("/api/v1/customers", body, content_type="application/json", headers=headers)
    assert (retry.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert Customer.objects.filter(name="李娜").count() == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, body: dict, headers: dict, timeout: float = 30) -> tuple[int, dict, bytes]:
    import json
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/customers", data=json.dumps(body).encode(),
                                 headers={**headers, "Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
    except urllib.error.URLError as e:  # a timeout while connecting or reading
        if isinstance(e.reason, TimeoutError | socket.timeout):
            raise TimeoutError from e
        raise


def _start_server(env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "clientwise", "runserver", f"127.0.0.1:{port}", "--noreload"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the server did not start")


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_server_killed_mid_request_leaves_a_key_that_the_retry_can_use(org):
    """A real server process is killed (SIGKILL) while its request waits inside the transaction, after the key
    was inserted; the database rolls both back, and the retry against a new server creates the customer once."""
    import psycopg

    from clientwise.accounts.services import issue_token

    token = issue_token(user=org.rep_a, name="kill-test").secret
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "clientwise.settings", "DEBUG": "0",
           "CLIENTWISE_VAR_DIR": os.environ.get("CLIENTWISE_VAR_DIR", str(ROOT / "var"))}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "kill-1"}
    body = {"name": "王芳", "mobile": "13900002222"}
    port = _free_port()
    server = _start_server(env, port)
    try:
        with psycopg.connect(f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} "
                             f"dbname={db['NAME']}") as blocker:
            # Hold the customers table: the request inserts its key, then waits on the customer insert.
            blocker.execute("LOCK TABLE customers_customer IN SHARE ROW EXCLUSIVE MODE")
            with pytest.raises(TimeoutError):
                _post(port, body, headers, timeout=2)
            waiting = blocker.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                [db["NAME"]]).fetchone()[0]
            assert waiting >= 1  # the request is inside its transaction, blocked
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
            blocker.rollback()
        # PostgreSQL rolled the dead request back: no key, no customer.
        assert not IdempotencyKey.objects.filter(key="kill-1").exists()
        assert not Customer.objects.filter(name="王芳").exists()
        server = _start_server(env, port)
        retry = _post(port, body, headers)
        again = _post(port, body, headers)
        assert retry[0] == 201, retry
        assert again[0] == 201 and again[1]["Idempotent-Replayed"] == "true"
        assert Customer.objects.filter(name="王芳").count() == 1
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
