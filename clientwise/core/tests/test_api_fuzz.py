"""Schemathesis against the OpenAPI schema: no operation answers a server error, and every status it returns is
documented in the schema (docs/api.md)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, status_code_conformance

from clientwise.api import api

MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "6"))

schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
schema.app = get_wsgi_application()


@pytest.fixture
def fuzz_world(org):
    """Rows for the generated ids to hit sometimes, and a token for the admin. The requests go through the real
    WSGI handler, which closes the database connection after each request; like Django's test client, keep the
    test's connection (and its transaction) open instead."""
    from django.core import signals
    from django.db import close_old_connections

    from clientwise.accounts.services import issue_token
    from clientwise.customers.services import create_customer

    for i in range(3):
        create_customer(actor=org.admin, data={"name": f"客户{i}"}, mobile=f"1380000{i:04d}")
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield {"Authorization": f"Bearer {issue_token(user=org.admin, name='fuzz').secret}"}
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_api_answers_without_server_errors(case, fuzz_world):
    case.call_and_validate(headers=fuzz_world, checks=[not_a_server_error, status_code_conformance])
