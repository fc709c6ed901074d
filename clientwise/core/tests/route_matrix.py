"""Who may call what: one declaration per API operation and per page URL pattern (docs/access.md, "The route
matrix"). test_route_matrix.py asks every route as every subject of the fixture world (matrix_world.py) and fails
when the answer differs from the declaration, or when a route has none.

A declaration (`Rule`) names the subjects that are let in (`allow`: roles, plus "norole" and "anonymous" for
routes open to them) and what everybody else gets:

  anonymous            401 (API) or a redirect to the login page (pages), unless "anonymous" is allowed
  norole, other roles  `deny` (403)
  rep_b, manager_b     404 when listed in `hidden` (the record belongs to team A), else what their role gets
  allowed              `ok`: the status of a read (200); for a write any valid answer (2xx, a redirect, or a
                       400/409/422 that the body or the state caused) — never 401/403/404/405 or a 500

`params` fill the path: a string names a world attribute (its primary key is used), anything else is used as is,
a callable gets the world. `body(w)` (or `body(w, user)`, when it depends on who sends it) is a valid request
body, so a refusal is the permission's and not the input's. `status` overrides the expected status of single
subjects. `xfail` lists known bugs per subject: the test expects the wrong answer and fails once it is fixed
(strict), so the declaration is updated with the fix.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from clientwise.core.tests.matrix_world import labels_csv

ADMIN, MANAGER, REP, AGENT, MARKETER, ANALYST = "admin", "manager", "sales_rep", "service_agent", "marketer", "analyst"
ROLES = frozenset({ADMIN, MANAGER, REP, AGENT, MARKETER, ANALYST})
SIGNED_IN = ROLES | {"norole"}
PUBLIC = SIGNED_IN | {"anonymous"}

# Who holds which right (clientwise/core/permissions.py and the apps' perms modules), written out so that a change
# of a role's rights shows up here as a deliberate diff.
CUSTOMERS_VIEW = ROLES
CUSTOMERS_CHANGE = frozenset({ADMIN, MANAGER, REP, AGENT})
CUSTOMERS_ARCHIVE = frozenset({ADMIN, MANAGER})
ORDERS_VIEW = ROLES
ORDERS_CHANGE = frozenset({ADMIN, MANAGER, REP})
CATALOG = frozenset({ADMIN})
ATTRIBUTES = frozenset({ADMIN})
USERS = frozenset({ADMIN})
AUDIT = frozenset({ADMIN, MANAGER})
EXPORT = frozenset({ADMIN, MANAGER, MARKETER, ANALYST})
IMPORT = frozenset({ADMIN, MANAGER})
MERGE = frozenset({ADMIN, MANAGER})
ANALYTICS_VIEW = frozenset({ADMIN, MANAGER, MARKETER, ANALYST})
ANALYTICS_RUN = frozenset({ADMIN, ANALYST})
SALES_VIEW = frozenset({ADMIN, MANAGER, REP, ANALYST})
SALES_CHANGE = frozenset({ADMIN, MANAGER, REP})
SALES_MANAGE = frozenset({ADMIN, MANAGER})
SERVICE_VIEW = frozenset({ADMIN, MANAGER, AGENT, ANALYST, REP})
SERVICE_WORK = frozenset({ADMIN, MANAGER, AGENT})
SERVICE_MANAGE = frozenset({ADMIN, MANAGER})
SERVICE_REPORTS = frozenset({ADMIN, MANAGER, ANALYST, AGENT})
REPORTS = ROLES
REPORTS_SHARE = frozenset({ADMIN, MANAGER, MARKETER, ANALYST})
PRIVACY = frozenset({ADMIN})
MARKETING_VIEW = frozenset({ADMIN, MANAGER, MARKETER, ANALYST})
MARKETING_CHANGE = frozenset({ADMIN, MANAGER, MARKETER})
MARKETING_APPROVE = frozenset({ADMIN, MANAGER})

TEAM_B = ("rep_b", "manager_b")  # users who must not see team A's records
TEAM_B_404 = {"rep_b": 404, "manager_b": 404}  # a body names team A's record: the same 404 as a missing one

# Known bugs go in a rule's `xfail` (strict: each fails once fixed, so the entry is removed with the fix).


@dataclass(frozen=True)
class Rule:
    allow: frozenset[str]
    ok: int | None = None
    deny: int = 403
    hidden: tuple[str, ...] = ()
    status: dict[str, int] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] | Callable | None = None
    body: Callable | None = None
    multipart: bool = False
    json: bool = False  # a page that takes a JSON body (fetch) instead of a form
    xfail: dict[str, str] = field(default_factory=dict)


def _days(n: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=n)).isoformat()


def _moment(days: float) -> str:
    return (timezone.now() + dt.timedelta(days=days)).isoformat()


def csv_upload(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


SPEC = {"fact": "sales", "measures": ["revenue", "buyers"], "rows": ["region"], "engine": "database"}
STAGES = [{"name": "Qualify", "probability": 20}, {"name": "Won", "probability": 100, "kind": "won"},
          {"name": "Lost", "probability": 0, "kind": "lost"}]

# Path parameters of the API that name the same world record everywhere.
API_PARAMS = {
    "customer_id": "cust_a", "order_id": "order", "product_id": "product", "category_id": "category",
    "brand_id": "brand", "region_id": "region", "branch_id": "branch", "channel_id": "channel", "unit_id": "unit",
    "store_id": "store2", "cp_id": "contact", "pair_id": "pair", "merge_id": "merge", "job_id": "import_job",
    "lead_id": "lead", "opportunity_id": "opportunity", "activity_id": "activity", "account_id": "key_account",
    "pipeline_id": "pipeline", "report_id": "report", "schedule_id": "schedule", "ticket_id": "ticket",
    "survey_id": "survey", "work_order_id": "work_order", "run_id": "model_run", "model_id": "label_model",
    "notification_id": "notification", "request_id": "subject_request", "rate_id": "rate",
    "audience_id": "audience", "campaign_id": "campaign",
}

R = Rule
API: dict[str, Rule] = {
    # --- meta and accounts ----------------------------------------------------------------------------------------
    "GET /api/v1/health": R(PUBLIC),
    "GET /api/v1/me": R(SIGNED_IN),
    "GET /api/v1/tokens": R(SIGNED_IN),
    "POST /api/v1/tokens": R(SIGNED_IN, ok=201, body=lambda w: {"name": "ci"}),
    # Only the owner may revoke a token; anybody else's answer is the same 404 as for a missing one.
    "DELETE /api/v1/tokens/{token_id}": R(frozenset({REP}), ok=204, deny=404, hidden=TEAM_B,
                                          params={"token_id": "spare_token"}),
    "GET /api/v1/users": R(USERS),
    "GET /api/v1/teams": R(USERS),
    # --- customers ------------------------------------------------------------------------------------------------
    "GET /api/v1/customers": R(CUSTOMERS_VIEW),
    "POST /api/v1/customers": R(CUSTOMERS_CHANGE, ok=201, body=lambda w: {"name": "孙丽", "mobile": "13500004444"}),
    "GET /api/v1/customers/{customer_id}": R(CUSTOMERS_VIEW, hidden=TEAM_B),
    "PATCH /api/v1/customers/{customer_id}": R(CUSTOMERS_CHANGE, hidden=TEAM_B, body=lambda w: {"city": "杭州"}),
    "POST /api/v1/customers/{customer_id}/archive": R(CUSTOMERS_ARCHIVE, hidden=("manager_b",)),
    "POST /api/v1/customers/{customer_id}/restore": R(CUSTOMERS_ARCHIVE, hidden=("manager_b",)),
    "PUT /api/v1/customers/{customer_id}/tags": R(CUSTOMERS_CHANGE, hidden=TEAM_B,
                                                  body=lambda w: {"names": ["VIP", "新客"]}),
    "GET /api/v1/customers/{customer_id}/contact-points": R(CUSTOMERS_VIEW, hidden=TEAM_B),
    "POST /api/v1/customers/{customer_id}/contact-points": R(
        CUSTOMERS_CHANGE, ok=201, hidden=TEAM_B, body=lambda w: {"kind": "email", "value": "zw2@example.com"}),
    "PATCH /api/v1/customers/{customer_id}/contact-points/{cp_id}": R(
        CUSTOMERS_CHANGE, hidden=TEAM_B, body=lambda w: {"label": "work"}),
    "DELETE /api/v1/customers/{customer_id}/contact-points/{cp_id}": R(CUSTOMERS_CHANGE, ok=204, hidden=TEAM_B),
    "GET /api/v1/customers/{customer_id}/consents": R(CUSTOMERS_VIEW, hidden=TEAM_B),
    "PUT /api/v1/customers/{customer_id}/consents": R(
        CUSTOMERS_CHANGE, hidden=TEAM_B,
        body=lambda w: {"channel": "email", "purpose": "marketing", "status": "granted"}),
    "POST /api/v1/customers/{customer_id}/consents": R(
        CUSTOMERS_CHANGE, hidden=TEAM_B,
        body=lambda w: {"channel": "email", "purpose": "marketing", "status": "withdrawn"}),
    "GET /api/v1/customers/{customer_id}/interactions": R(CUSTOMERS_VIEW, hidden=TEAM_B),
    "POST /api/v1/customers/{customer_id}/interactions": R(
        CUSTOMERS_CHANGE, ok=201, hidden=TEAM_B, body=lambda w: {"kind": "visit", "subject": "Dropped by"}),
    "GET /api/v1/customers/{customer_id}/orders": R(ORDERS_VIEW, hidden=TEAM_B),
    "GET /api/v1/customers/{customer_id}/quality": R(CUSTOMERS_VIEW, hidden=TEAM_B),
    "GET /api/v1/customers/{customer_id}/scores": R(CUSTOMERS_VIEW, hidden=TEAM_B),
    # --- catalog and reference data: everybody with orders.view reads, catalog.manage writes ----------------------
    "GET /api/v1/products": R(ORDERS_VIEW),
    "POST /api/v1/products": R(CATALOG, ok=201,
                               body=lambda w: {"sku": "TB-1", "name": "Tablet", "category_id": w.category.pk}),
    "GET /api/v1/products/{product_id}": R(ORDERS_VIEW),
    "PATCH /api/v1/products/{product_id}": R(CATALOG, body=lambda w: {"name": "Phone X2"}),
    "GET /api/v1/product-categories": R(ORDERS_VIEW),
    "POST /api/v1/product-categories": R(CATALOG, ok=201, body=lambda w: {"code": "TAB", "name": "平板"}),
    "GET /api/v1/product-categories/{category_id}": R(ORDERS_VIEW),
    "PATCH /api/v1/product-categories/{category_id}": R(CATALOG, body=lambda w: {"name": "智能手机"}),
    "DELETE /api/v1/product-categories/{category_id}": R(CATALOG, ok=409),  # products use it
    "GET /api/v1/brands": R(ORDERS_VIEW),
    "POST /api/v1/brands": R(CATALOG, ok=201, body=lambda w: {"name": "Globex"}),
    "GET /api/v1/brands/{brand_id}": R(ORDERS_VIEW),
    "PATCH /api/v1/brands/{brand_id}": R(CATALOG, body=lambda w: {"active": False}),
    "DELETE /api/v1/brands/{brand_id}": R(CATALOG),
    "GET /api/v1/regions": R(ORDERS_VIEW),
    "POST /api/v1/regions": R(CATALOG, ok=201, body=lambda w: {"code": "NORTH", "name": "华北"}),
    "GET /api/v1/regions/{region_id}": R(ORDERS_VIEW),
    "PATCH /api/v1/regions/{region_id}": R(CATALOG, body=lambda w: {"name": "华东区"}),
    "DELETE /api/v1/regions/{region_id}": R(CATALOG, ok=409),  # a branch is in it
    "GET /api/v1/branches": R(ORDERS_VIEW),
    "POST /api/v1/branches": R(CATALOG, ok=201,
                               body=lambda w: {"code": "HZ", "name": "杭州分公司", "region_id": w.region.pk}),
    "GET /api/v1/branches/{branch_id}": R(ORDERS_VIEW),
    "PATCH /api/v1/branches/{branch_id}": R(CATALOG, body=lambda w: {"name": "上海公司"}),
    "DELETE /api/v1/branches/{branch_id}": R(CATALOG, ok=409),  # stores are in it
    "GET /api/v1/channels": R(ORDERS_VIEW),
    "POST /api/v1/channels": R(CATALOG, ok=201, body=lambda w: {"code": "web", "name": "官网", "kind": "web"}),
    "GET /api/v1/channels/{channel_id}": R(ORDERS_VIEW),
    "PATCH /api/v1/channels/{channel_id}": R(CATALOG, body=lambda w: {"name": "直营门店"}),
    "DELETE /api/v1/channels/{channel_id}": R(CATALOG, ok=409),  # orders came through it
    "GET /api/v1/units": R(ORDERS_VIEW),
    "POST /api/v1/units": R(CATALOG, ok=201, body=lambda w: {"code": "kg", "name": "千克"}),
    "GET /api/v1/units/{unit_id}": R(ORDERS_VIEW),
    "PATCH /api/v1/units/{unit_id}": R(CATALOG, body=lambda w: {"name": "个"}),
    "DELETE /api/v1/units/{unit_id}": R(CATALOG, ok=204),
    "GET /api/v1/exchange-rates": R(ORDERS_VIEW),
    "POST /api/v1/exchange-rates": R(CATALOG, ok=201, body=lambda w: {"currency": "EUR", "day": "2025-01-01",
                                                                      "rate": "7.8"}),
    "GET /api/v1/exchange-rates/{rate_id}": R(ORDERS_VIEW),
    "PATCH /api/v1/exchange-rates/{rate_id}": R(CATALOG, body=lambda w: {"rate": "7.2"}),
    "DELETE /api/v1/exchange-rates/{rate_id}": R(CATALOG, ok=204),
    "GET /api/v1/stores": R(ORDERS_VIEW),
    "POST /api/v1/stores": R(CATALOG, ok=201,
                             body=lambda w: {"code": "SH003", "name": "浦东店", "branch_id": w.branch.pk}),
    "GET /api/v1/stores/{store_id}": R(ORDERS_VIEW),
    "PATCH /api/v1/stores/{store_id}": R(CATALOG, body=lambda w: {"city": "上海市"}),
    "DELETE /api/v1/stores/{store_id}": R(CATALOG, ok=204),  # store2 has no orders
    # --- orders ---------------------------------------------------------------------------------------------------
    "GET /api/v1/orders": R(ORDERS_VIEW),
    "POST /api/v1/orders": R(ORDERS_CHANGE, ok=201, status=TEAM_B_404, body=lambda w: {
        "customer_id": w.cust_a.pk, "store_id": w.store.pk, "lines": [{"product_id": w.product2.pk, "quantity": 1}]}),
    "GET /api/v1/orders/{order_id}": R(ORDERS_VIEW, hidden=TEAM_B),
    "POST /api/v1/orders/{order_id}/cancel": R(ORDERS_CHANGE, hidden=TEAM_B, body=lambda w: {"reason": "mistake"}),
    "POST /api/v1/orders/{order_id}/returns": R(ORDERS_CHANGE, ok=201, hidden=TEAM_B, body=lambda w: {
        "lines": [{"order_line_id": w.order.lines.order_by("pk").first().pk, "quantity": 1}], "reason": "faulty"}),
    # --- exports --------------------------------------------------------------------------------------------------
    "GET /api/v1/exports/customers": R(EXPORT),
    "GET /api/v1/exports/orders": R(EXPORT),
    # --- imports --------------------------------------------------------------------------------------------------
    "POST /api/v1/imports": R(IMPORT, ok=201, multipart=True, body=lambda w: {
        "file": csv_upload("c.csv", "name,mobile\n孙丽,13500004444\n"), "kind": "customers", "source": "ci"}),
    # The job is manager_a's: a manager sees their own jobs only, an admin every job.
    "GET /api/v1/imports/{job_id}": R(IMPORT, hidden=("manager_b",)),
    "GET /api/v1/imports/{job_id}/errors": R(IMPORT, hidden=("manager_b",)),
    "POST /api/v1/imports/{job_id}/run": R(IMPORT, ok=202, hidden=("manager_b",), body=lambda w: {}),
    # --- identity (duplicates and merges): data.merge -------------------------------------------------------------
    "GET /api/v1/duplicates": R(MERGE),
    "GET /api/v1/duplicates/{pair_id}": R(MERGE, hidden=("manager_b",)),
    "POST /api/v1/duplicates/{pair_id}/merge": R(MERGE, ok=201, hidden=("manager_b",), body=lambda w: {}),
    "POST /api/v1/duplicates/{pair_id}/reject": R(MERGE, hidden=("manager_b",)),
    "POST /api/v1/customers/merge": R(MERGE, ok=201, hidden=("manager_b",), body=lambda w: {
        "survivor_id": w.cust_a.pk, "duplicate_ids": [w.cust_a2.pk]}),
    "GET /api/v1/merges/{merge_id}": R(MERGE, hidden=("manager_b",)),
    "POST /api/v1/merges/{merge_id}/undo": R(MERGE, hidden=("manager_b",)),
    # --- data quality ---------------------------------------------------------------------------------------------
    "GET /api/v1/quality/summary": R(CUSTOMERS_VIEW),
    "GET /api/v1/quality/customers": R(CUSTOMERS_VIEW),
    "POST /api/v1/quality/runs": R(frozenset({ADMIN}), ok=202, body=lambda w: {}),
    # --- analytics ------------------------------------------------------------------------------------------------
    "GET /api/v1/analytics/churn-risk": R(ANALYTICS_VIEW),
    "GET /api/v1/analytics/top-clv": R(ANALYTICS_VIEW),
    "GET /api/v1/analytics/model-runs": R(ANALYTICS_VIEW),
    "GET /api/v1/analytics/model-runs/{run_id}": R(ANALYTICS_VIEW),
    "GET /api/v1/analytics/label-models": R(ANALYTICS_RUN),
    "POST /api/v1/analytics/label-models": R(ANALYTICS_RUN, ok=201, multipart=True, body=lambda w: {
        "file": csv_upload("labels.csv", labels_csv(w)), "name": "will-churn-2", "id_column": "id",
        "label_column": "churned", "id_kind": "customer_id", "folds": "2"}),
    "GET /api/v1/analytics/label-models/{model_id}": R(ANALYTICS_RUN),
    "DELETE /api/v1/analytics/label-models/{model_id}": R(ANALYTICS_RUN, ok=204),
    "POST /api/v1/analytics/label-models/{model_id}/apply": R(ANALYTICS_RUN, ok=200, multipart=True,
                                                              body=lambda w: {}),
    "GET /api/v1/analytics/label-models/{model_id}/scores": R(ANALYTICS_RUN),
    # --- reports: everybody with a role; a report opens for its owner, the roles it is shared with and admins -----
    "GET /api/v1/reports/semantic": R(REPORTS),
    "POST /api/v1/reports/run": R(REPORTS, ok=200, body=lambda w: SPEC),
    # A cell is named by its members' keys (a region's id), as the run's result gives them.
    "POST /api/v1/reports/drill": R(REPORTS, ok=200, body=lambda w: {"spec": SPEC, "row": [w.region.pk],
                                                                     "column": []}),
    "POST /api/v1/reports/export": R(EXPORT, body=lambda w: {"spec": SPEC, "format": "csv"}),
    "GET /api/v1/reports": R(REPORTS),
    "POST /api/v1/reports": R(REPORTS, ok=201, body=lambda w: {"name": "Mine", "spec": SPEC}),
    # The report is manager_a's, shared with sales reps.
    "GET /api/v1/reports/{report_id}": R(frozenset({ADMIN, MANAGER, REP}), deny=404, hidden=("manager_b",),
                                         status={"norole": 403}),
    "PATCH /api/v1/reports/{report_id}": R(frozenset({ADMIN, MANAGER}), hidden=("manager_b",), deny=404,
                                           status={"norole": 403, REP: 403, "rep_b": 403},
                                           body=lambda w: {"name": "Regions"}),
    "DELETE /api/v1/reports/{report_id}": R(frozenset({ADMIN, MANAGER}), ok=204, hidden=("manager_b",), deny=404,
                                            status={"norole": 403, REP: 403, "rep_b": 403}),
    "POST /api/v1/reports/{report_id}/run": R(frozenset({ADMIN, MANAGER, REP}), deny=404, hidden=("manager_b",),
                                              status={"norole": 403}),
    "GET /api/v1/reports/schedules": R(REPORTS),
    "POST /api/v1/reports/schedules": R(EXPORT, ok=201, hidden=("manager_b",), status={MARKETER: 404, ANALYST: 404},
                                        body=lambda w: {"report_id": w.report.pk,
                                                        "recipients": ["team@example.com"]}),
    # The schedule is manager_a's: its owner or an administrator stops it.
    "DELETE /api/v1/reports/schedules/{schedule_id}": R(frozenset({ADMIN, MANAGER}), ok=204, deny=404,
                                                        hidden=("manager_b",), status={"norole": 403}),
    # --- sales ----------------------------------------------------------------------------------------------------
    "GET /api/v1/leads": R(SALES_VIEW),
    "POST /api/v1/leads": R(SALES_CHANGE, ok=201, body=lambda w: {"name": "冯强", "mobile": "13300008888"}),
    "POST /api/v1/leads/import": R(SALES_CHANGE, body=lambda w: {"rows": [{"name": "韩梅", "mobile": "13300009999"}]}),
    "GET /api/v1/leads/{lead_id}": R(SALES_VIEW, hidden=TEAM_B),
    "PATCH /api/v1/leads/{lead_id}": R(SALES_CHANGE, hidden=TEAM_B, body=lambda w: {"city": "苏州"}),
    "POST /api/v1/leads/{lead_id}/convert": R(SALES_CHANGE, hidden=TEAM_B, body=lambda w: {}),
    "GET /api/v1/pipelines": R(SALES_VIEW),
    "POST /api/v1/pipelines": R(SALES_MANAGE, ok=201, body=lambda w: {"name": "Projects", "stages": STAGES}),
    "PATCH /api/v1/pipelines/{pipeline_id}": R(SALES_MANAGE, body=lambda w: {
        "name": w.pipeline.name, "stages": [{"id": s.pk, "name": s.name, "probability": s.probability,
                                             "kind": s.kind} for s in w.stages]}),
    "GET /api/v1/opportunities": R(SALES_VIEW),
    "POST /api/v1/opportunities": R(SALES_CHANGE, ok=201, status=TEAM_B_404, body=lambda w: {
        "customer_id": w.cust_a.pk, "name": "Accessories", "amount": "800.00", "expected_close": _days(40)}),
    "GET /api/v1/opportunities/{opportunity_id}": R(SALES_VIEW, hidden=TEAM_B),
    "PATCH /api/v1/opportunities/{opportunity_id}": R(SALES_CHANGE, hidden=TEAM_B,
                                                      body=lambda w: {"next_step": "Send a quote"}),
    "POST /api/v1/opportunities/{opportunity_id}/move": R(SALES_CHANGE, hidden=TEAM_B,
                                                          body=lambda w: {"stage_id": w.stages[1].pk}),
    "GET /api/v1/opportunities/{opportunity_id}/history": R(SALES_VIEW, hidden=TEAM_B),
    "GET /api/v1/activities": R(SALES_VIEW),
    "POST /api/v1/activities": R(SALES_CHANGE, ok=201, status=TEAM_B_404, body=lambda w: {
        "subject": "Visit", "customer_id": w.cust_a.pk, "due_at": _moment(2)}),
    "POST /api/v1/activities/{activity_id}/complete": R(SALES_CHANGE, hidden=TEAM_B,
                                                        body=lambda w: {"outcome": "reached"}),
    "POST /api/v1/notes": R(SALES_CHANGE, ok=201, status=TEAM_B_404,
                            body=lambda w: {"body": "Called back", "customer_id": w.cust_a.pk}),
    # A manager hands over and sets quotas for people of their own teams only (403 for anyone else's).
    "POST /api/v1/ownership-transfers": R(SALES_MANAGE, ok=201, status={"manager_b": 403}, body=lambda w: {
        "from_user_id": w.rep_a2.pk, "to_user_ids": [w.rep_a.pk], "reason": "left"}),
    "POST /api/v1/quotas": R(SALES_MANAGE, ok=201, status={"manager_b": 403}, body=lambda w: {
        "user_id": w.rep_a.pk, "month": _days(0)[:8] + "01", "amount": "50000"}),
    "GET /api/v1/forecast": R(SALES_VIEW),
    "GET /api/v1/funnel": R(SALES_VIEW),
    "GET /api/v1/key-accounts": R(SALES_VIEW),
    "POST /api/v1/key-accounts": R(SALES_CHANGE, ok=201, status=TEAM_B_404,
                                   body=lambda w: {"customer_id": w.cust_a4.pk}),
    "GET /api/v1/key-accounts/{account_id}": R(SALES_VIEW, hidden=TEAM_B),
    "POST /api/v1/key-accounts/{account_id}/stage": R(SALES_CHANGE, hidden=TEAM_B,
                                                      body=lambda w: {"stage": "preferred", "note": "won a tender"}),
    "POST /api/v1/key-accounts/{account_id}/wallet": R(SALES_CHANGE, hidden=TEAM_B, body=lambda w: {
        "period": _days(0)[:8] + "01", "our_volume": "100", "total_demand": "400"}),
    "POST /api/v1/key-accounts/{account_id}/costs": R(SALES_CHANGE, hidden=TEAM_B, body=lambda w: {
        "period": _days(0)[:8] + "01", "category": "logistics", "amount": "250"}),
    "POST /api/v1/key-accounts/{account_id}/goals": R(SALES_CHANGE, hidden=TEAM_B, body=lambda w: {"title": "Grow"}),
    "POST /api/v1/key-accounts/{account_id}/contacts": R(SALES_CHANGE, hidden=TEAM_B, body=lambda w: {
        "name": "刘总", "role": "decision_maker"}),
    # --- service --------------------------------------------------------------------------------------------------
    "GET /api/v1/service/lookup": R(SERVICE_VIEW, query={"phone": "13812345678"}),
    "GET /api/v1/service/tickets": R(SERVICE_VIEW),
    "POST /api/v1/service/tickets": R(SERVICE_WORK, ok=201, status={"manager_b": 404}, body=lambda w: {
        "customer_id": w.cust_a.pk, "type": "inquiry", "channel": "phone", "subject": "Warranty?"}),
    "GET /api/v1/service/tickets/{ticket_id}": R(SERVICE_VIEW, hidden=TEAM_B),
    "POST /api/v1/service/tickets/{ticket_id}/messages": R(SERVICE_WORK, ok=201, hidden=("manager_b",),
                                                           body=lambda w: {"kind": "reply", "body": "On it"}),
    "POST /api/v1/service/tickets/{ticket_id}/status": R(SERVICE_WORK, hidden=("manager_b",),
                                                         body=lambda w: {"status": "open"}),
    "POST /api/v1/service/tickets/{ticket_id}/assign": R(SERVICE_WORK, hidden=("manager_b",),
                                                         body=lambda w: {"assignee_id": w.agent.pk}),
    "POST /api/v1/service/tickets/{ticket_id}/escalate": R(SERVICE_WORK, hidden=("manager_b",),
                                                           body=lambda w: {"reason": "angry"}),
    "GET /api/v1/service/surveys": R(SERVICE_VIEW),
    "GET /api/v1/service/surveys/{survey_id}": R(SERVICE_VIEW, hidden=TEAM_B),
    "GET /api/v1/service/surveys/{survey_id}/link": R(SERVICE_WORK, hidden=("manager_b",)),
    "POST /api/v1/service/orders/{order_id}/survey": R(SERVICE_WORK, ok=201, hidden=("manager_b",),
                                                       params={"order_id": "order_a2"}),
    # Public: the signed token is the credential.
    "POST /api/v1/service/surveys/answer/{token}": R(PUBLIC, params={"token": lambda w: w.survey_token},
                                                     body=lambda w: {"csat": 5, "nps": 9}),
    "GET /api/v1/service/work-orders": R(SERVICE_VIEW),
    "POST /api/v1/service/work-orders": R(SERVICE_WORK, ok=201, status={"manager_b": 404}, body=lambda w: {
        "customer_id": w.cust_a.pk, "kind": "install", "address": "静安区 2 号", "window_start": _moment(3),
        "window_end": _moment(3.1)}),
    "GET /api/v1/service/work-orders/{work_order_id}": R(SERVICE_VIEW, hidden=TEAM_B),
    "POST /api/v1/service/work-orders/{work_order_id}/technician": R(
        SERVICE_WORK, hidden=("manager_b",), body=lambda w: {"technician_id": w.technician.pk}),
    "POST /api/v1/service/work-orders/{work_order_id}/status": R(SERVICE_WORK, hidden=("manager_b",),
                                                                 body=lambda w: {"action": "start"}),
    # --- notifications: every signed-in user's own; another user's notification is 404 like a missing one ---------
    "GET /api/v1/notifications": R(SIGNED_IN),
    "GET /api/v1/notifications/unread-count": R(SIGNED_IN),
    "POST /api/v1/notifications/read-all": R(SIGNED_IN, ok=200),
    "POST /api/v1/notifications/{notification_id}/read": R(frozenset({REP}), ok=200, deny=404, hidden=TEAM_B),
    "GET /api/v1/notifications/preferences": R(SIGNED_IN),
    "PUT /api/v1/notifications/preferences": R(SIGNED_IN, ok=200, body=lambda w: {"email_kinds": ["mention"]}),
    # --- marketing: audiences are shared by marketing; their counts and exports follow the caller's scope ---------
    "GET /api/v1/marketing/audiences": R(MARKETING_VIEW),
    "POST /api/v1/marketing/audiences": R(MARKETING_CHANGE, ok=201, body=lambda w: {
        "name": "上海", "rule": {"filters": [{"dimension": "customer_city", "values": ["上海"]}]}}),
    "POST /api/v1/marketing/audiences/preview": R(MARKETING_VIEW, ok=200, body=lambda w: {
        "rule": {"filters": [{"dimension": "customer_city", "values": ["上海"]}]}}),
    "POST /api/v1/marketing/audiences/from-customer-list": R(MARKETING_CHANGE, ok=201, body=lambda w: {
        "name": "上海客户", "filters": {"city": "上海"}}),
    "POST /api/v1/marketing/audiences/from-scores": R(MARKETING_CHANGE, ok=201, body=lambda w: {
        "name": "R1F1", "filters": {"r": 1, "f": 1}}),
    "POST /api/v1/marketing/audiences/upload": R(MARKETING_CHANGE, ok=201, multipart=True, body=lambda w: {
        "file": csv_upload("list.csv", f"{w.cust_a.pk}\n"), "name": "uploaded"}),
    "GET /api/v1/marketing/audiences/{audience_id}": R(MARKETING_VIEW),
    "PATCH /api/v1/marketing/audiences/{audience_id}": R(MARKETING_CHANGE, body=lambda w: {"name": "改名"}),
    "POST /api/v1/marketing/audiences/{audience_id}/archive": R(MARKETING_CHANGE),
    "GET /api/v1/marketing/audiences/{audience_id}/count": R(MARKETING_VIEW),
    "GET /api/v1/marketing/audiences/{audience_id}/export": R(MARKETING_VIEW & EXPORT),
    "GET /api/v1/marketing/campaigns": R(MARKETING_VIEW),
    "POST /api/v1/marketing/campaigns": R(MARKETING_CHANGE, ok=201, body=lambda w: {
        "name": "双十一", "audience_id": w.audience.pk, "channel": "sms", "variants": [{"body_zh": "{{ name }}您好"}]}),
    "GET /api/v1/marketing/campaigns/{campaign_id}": R(MARKETING_VIEW),
    "PATCH /api/v1/marketing/campaigns/{campaign_id}": R(MARKETING_CHANGE, body=lambda w: {"name": "改名"}),
    "POST /api/v1/marketing/campaigns/{campaign_id}/submit": R(MARKETING_CHANGE),
    "POST /api/v1/marketing/campaigns/{campaign_id}/approve": R(MARKETING_APPROVE, body=lambda w: {"note": "ok"}),
    "POST /api/v1/marketing/campaigns/{campaign_id}/reject": R(MARKETING_APPROVE, body=lambda w: {"note": "no"}),
    "POST /api/v1/marketing/campaigns/{campaign_id}/launch": R(MARKETING_CHANGE),
    "POST /api/v1/marketing/campaigns/{campaign_id}/cancel": R(MARKETING_CHANGE),
    "GET /api/v1/marketing/campaigns/{campaign_id}/messages": R(MARKETING_VIEW),
    # Providers call it without a user: the signature is the credential (no secret configured here: 400).
    "POST /api/v1/marketing/webhooks/{provider}": R(PUBLIC, params={"provider": lambda w: "sms"}, body=lambda w: {
        "events": [{"id": "e1", "type": "delivered", "message_key": "cw-c1-u1-v0"}]}),
    # --- privacy (data-subject requests): administrators only -----------------------------------------------------
    "GET /api/v1/privacy/requests": R(PRIVACY),
    "POST /api/v1/privacy/requests": R(PRIVACY, ok=201, body=lambda w: {"customer_id": w.cust_a2.pk,
                                                                        "kind": "correction"}),
    "GET /api/v1/privacy/requests/{request_id}": R(PRIVACY),
    "POST /api/v1/privacy/requests/{request_id}/start": R(PRIVACY, ok=200),
    "POST /api/v1/privacy/requests/{request_id}/reject": R(PRIVACY, ok=200, body=lambda w: {"reason": "not them"}),
    "POST /api/v1/privacy/requests/{request_id}/complete": R(PRIVACY, body=lambda w: {"resolution": "sent"}),
    "POST /api/v1/privacy/requests/{request_id}/withdraw-consent": R(PRIVACY),
    "POST /api/v1/privacy/requests/{request_id}/erase": R(PRIVACY, body=lambda w: {"confirm": str(w.cust_a.pk)}),
    "POST /api/v1/privacy/requests/{request_id}/retry-files": R(PRIVACY),
    "GET /api/v1/privacy/requests/{request_id}/export": R(PRIVACY),
    "GET /api/v1/service/reports/satisfaction": R(SERVICE_REPORTS),
    "GET /api/v1/service/reports/satisfaction/{dimension}": R(SERVICE_REPORTS,
                                                                params={"dimension": lambda w: "agent"}),
}


# --- Pages -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page URL pattern: its URL arguments and what GET and POST answer. `post=SAME` says the page serves
    POST like GET (a list or detail page): its refusals are asked again with POST, so the method cannot bypass
    the check. A pattern whose slug picks another handler (an action) is declared once per action too, keyed
    "name|action"."""

    get: Rule
    post: Rule | str
    kwargs: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] | None = None


SAME = "same as GET"
# Public forms whose secret URL token stands in for the CSRF token (a website posts them from another origin).
CSRF_EXEMPT = {"sales:webform"}
NO_METHOD = 405


def not_allowed(allow=PUBLIC) -> Rule:
    """The method is refused with 405 — for everyone (allow=PUBLIC, the method check comes first) or for the
    subjects that pass the access check (the check comes first)."""
    return Rule(allow, ok=NO_METHOD)


P = Page
ID = {"pk": "cust_a"}
PAGES: dict[str, Page] = {
    # --- core -----------------------------------------------------------------------------------------------------
    "core:home": P(R(SIGNED_IN), SAME),
    "core:audit": P(R(AUDIT), SAME),
    "core:healthz": P(R(PUBLIC), SAME),
    "core:set_language": P(R(PUBLIC, ok=302), R(PUBLIC, ok=302, body=lambda w: {"language": "zh-hans", "next": "/"})),
    # --- accounts -------------------------------------------------------------------------------------------------
    # A signed-in user is sent on to the home page.
    "accounts:login": P(R(PUBLIC, ok=302, status={"anonymous": 200}),
                        R(PUBLIC, body=lambda w: {"username": "nobody", "password": "wrong-password"})),
    "accounts:logout": P(not_allowed(), R(PUBLIC, ok=302)),
    "accounts:password_change": P(R(SIGNED_IN), R(SIGNED_IN, body=lambda w: {
        "old_password": "not-it", "new_password1": "An0ther-long-pass", "new_password2": "An0ther-long-pass"})),
    "accounts:password_change_done": P(R(SIGNED_IN), not_allowed(SIGNED_IN)),
    "accounts:profile": P(R(SIGNED_IN), R(SIGNED_IN, ok=302, body=lambda w: {
        "display_name": "Me", "email": "me@example.com", "language": "zh-hans"})),
    "accounts:tokens": P(R(SIGNED_IN), R(SIGNED_IN, ok=200, body=lambda w: {"name": "laptop"})),
    # Revoking someone else's token is refused like a missing one: a flash message and back to the list.
    "accounts:token_revoke": P(not_allowed(SIGNED_IN), R(SIGNED_IN, ok=302), kwargs={"pk": "spare_token"}),
    "accounts:users": P(R(USERS), SAME),
    "accounts:user_create": P(R(USERS), R(USERS, ok=302, body=lambda w: {
        "username": "newbie", "password": "A-long-pass-2026", "role": "sales_rep", "team": w.team_a.pk,
        "display_name": "Newbie", "email": "newbie@example.com"})),
    "accounts:user_edit": P(R(USERS), R(USERS, ok=302, body=lambda w: {
        "display_name": "Rep A", "email": "rep_a@example.com", "role": "sales_rep", "team": w.team_a.pk,
        "is_active": "on"}), kwargs={"pk": "rep_a"}),
    "accounts:teams": P(R(USERS), R(USERS, ok=302, body=lambda w: {
        "name": "Team C", "kind": "team", "parent": w.branch_team.pk})),
    "accounts:team_edit": P(R(USERS), R(USERS, ok=302, body=lambda w: {
        "name": "Team A1", "parent": w.branch_team.pk}), kwargs={"pk": "team_a"}),
    # --- customers ------------------------------------------------------------------------------------------------
    "customers:list": P(R(CUSTOMERS_VIEW), SAME),
    "customers:create": P(R(CUSTOMERS_CHANGE), R(CUSTOMERS_CHANGE, ok=302, body=lambda w, u: {
        "kind": "person", "name": "孙丽", "status": "active", "mobile": "13500004444", "confirm_duplicates": "1",
        "owner": getattr(u, "pk", ""), "team": getattr(u, "team_id", None) or ""})),
    "customers:detail": P(R(CUSTOMERS_VIEW, hidden=TEAM_B), SAME, kwargs=ID),
    "customers:edit": P(R(CUSTOMERS_CHANGE, hidden=TEAM_B), R(CUSTOMERS_CHANGE, ok=302, hidden=TEAM_B, body=lambda w: {
        "kind": "person", "name": "张伟", "status": "active", "city": "杭州", "owner": w.rep_a.pk, "team": w.team_a.pk}),
                          kwargs=ID),
    "customers:archive": P(not_allowed(CUSTOMERS_VIEW), R(CUSTOMERS_ARCHIVE, ok=302, hidden=("manager_b",)), kwargs=ID),
    "customers:restore": P(not_allowed(CUSTOMERS_VIEW), R(CUSTOMERS_ARCHIVE, ok=302, hidden=("manager_b",)), kwargs=ID),
    "customers:share": P(not_allowed(CUSTOMERS_VIEW), R(CUSTOMERS_CHANGE, ok=302, hidden=TEAM_B,
                                                   body=lambda w: {"team": w.team_b.pk}), kwargs=ID),
    "customers:timeline": P(R(CUSTOMERS_VIEW, hidden=TEAM_B), not_allowed(CUSTOMERS_VIEW), kwargs=ID),
    "customers:interaction_add": P(not_allowed(CUSTOMERS_VIEW), R(
        CUSTOMERS_CHANGE, ok=302, hidden=TEAM_B, body=lambda w: {"kind": "call", "subject": "Called about it"}),
        kwargs=ID),
    "customers:interaction_form": P(R(CUSTOMERS_CHANGE, hidden=TEAM_B), not_allowed(CUSTOMERS_VIEW), kwargs=ID),
    "customers:contact_add": P(R(CUSTOMERS_VIEW, hidden=TEAM_B), R(CUSTOMERS_CHANGE, ok=302, hidden=TEAM_B,
                                                                  body=lambda w: {"kind": "email",
                                                                                  "value": "zw2@example.com"}),
                               kwargs=ID),
    "customers:contact_form": P(R(CUSTOMERS_CHANGE, hidden=TEAM_B), not_allowed(CUSTOMERS_VIEW), kwargs=ID),
    "customers:contact_edit": P(R(CUSTOMERS_CHANGE, hidden=TEAM_B), R(CUSTOMERS_CHANGE, ok=302, hidden=TEAM_B,
                                                                      body=lambda w: {"kind": "wechat", "label": "work",
                                                                                      "status": "valid"}),
                                kwargs={"pk": "cust_a", "cp_id": "contact"}),
    "customers:contact_primary": P(not_allowed(CUSTOMERS_VIEW), R(CUSTOMERS_CHANGE, ok=302, hidden=TEAM_B),
                                   kwargs={"pk": "cust_a", "cp_id": "contact"}),
    # A masked value is shown on request to the customer's owner (and colleagues working on the customer); users
    # with the view_pii right see it anyway (and the request is audited like theirs).
    "customers:contact_reveal": P(not_allowed(CUSTOMERS_VIEW), R(frozenset({ADMIN, MANAGER, REP}), hidden=TEAM_B),
                                  kwargs={"pk": "cust_a", "cp_id": "contact"}),
    "customers:contact_delete": P(not_allowed(CUSTOMERS_VIEW), R(CUSTOMERS_CHANGE, ok=302, hidden=TEAM_B),
                                  kwargs={"pk": "cust_a", "cp_id": "contact"}),
    "customers:consent_set": P(not_allowed(CUSTOMERS_VIEW), R(CUSTOMERS_CHANGE, ok=302, hidden=TEAM_B, body=lambda w: {
        "channel": "email", "purpose": "marketing", "status": "granted"}), kwargs=ID),
    "customers:attribute_list": P(R(ATTRIBUTES), SAME),
    "customers:attribute_create": P(R(ATTRIBUTES), R(ATTRIBUTES, ok=302, body=lambda w: {
        "key": "hobby", "label": "Hobby", "type": "text"})),
    "customers:attribute_edit": P(R(ATTRIBUTES), R(ATTRIBUTES, ok=302, body=lambda w: {
        "key": "shoe_size", "label": "Shoe size (EU)", "type": "number"}), kwargs={"attr_id": "attribute"}),
    "customers:attribute_delete": P(not_allowed(CUSTOMERS_VIEW), R(ATTRIBUTES, ok=302),
                                    kwargs={"attr_id": "attribute"}),
    # --- commerce -------------------------------------------------------------------------------------------------
    "commerce:order_list": P(R(ORDERS_VIEW), SAME),
    "commerce:order_create": P(R(ORDERS_CHANGE), R(ORDERS_CHANGE, status=TEAM_B_404,
                                                 body=lambda w: {
                                                     "customer_id": w.cust_a.pk, "store_id": w.store.pk,
                                                     "channel_id": w.channel.pk, "sku_0": "CS-1", "qty_0": "1"})),
    "commerce:order_detail": P(R(ORDERS_VIEW, hidden=TEAM_B), SAME, kwargs={"pk": "order"}),
    "commerce:order_cancel": P(not_allowed(), R(ORDERS_CHANGE, ok=302, hidden=TEAM_B,
                                                body=lambda w: {"reason": "mistake"}), kwargs={"pk": "order"}),
    "commerce:order_return": P(not_allowed(), R(ORDERS_CHANGE, ok=302, hidden=TEAM_B, body=lambda w: {
        f"qty_{w.order.lines.order_by('pk').first().pk}": "1", "reason": "faulty"}), kwargs={"pk": "order"}),
    "commerce:product_list": P(R(ORDERS_VIEW), SAME),
    "commerce:product_create": P(R(CATALOG), R(CATALOG, ok=302, body=lambda w: {
        "sku": "TB-1", "name": "Tablet", "category_id": w.category.pk, "active": "on"})),
    "commerce:product_detail": P(R(ORDERS_VIEW), SAME, kwargs={"pk": "product"}),
    "commerce:product_edit": P(R(CATALOG), R(CATALOG, ok=302, body=lambda w: {
        "sku": "PH-1", "name": "Phone X2", "category_id": w.category.pk, "list_price": "3999.00", "active": "on"}),
                               kwargs={"pk": "product"}),
    "commerce:store_list": P(R(ORDERS_VIEW), SAME),
    "commerce:store_create": P(R(CATALOG), R(CATALOG, ok=302, body=lambda w: {
        "code": "SH003", "name": "浦东店", "branch_id": w.branch.pk, "active": "on"})),
    "commerce:store_detail": P(R(ORDERS_VIEW), SAME, kwargs={"pk": "store"}),
    "commerce:store_edit": P(R(CATALOG), R(CATALOG, ok=302, body=lambda w: {
        "code": "SH002", "name": "静安寺店", "branch_id": w.branch.pk, "active": "on"}), kwargs={"pk": "store2"}),
    "commerce:store_delete": P(not_allowed(), R(CATALOG, ok=302), kwargs={"pk": "store2"}),
    "commerce:reference": P(R(ORDERS_VIEW), SAME),
    "commerce:reference_list": P(R(ORDERS_VIEW), SAME, kwargs={"kind": lambda w: "brands"}),
    "commerce:reference_create": P(R(CATALOG), R(CATALOG, ok=302, body=lambda w: {"name": "Globex", "active": "on"}),
                                   kwargs={"kind": lambda w: "brands"}),
    "commerce:reference_edit": P(R(CATALOG), R(CATALOG, ok=302, body=lambda w: {"code": "pcs", "name": "个",
                                                                               "active": "on"}),
                                 kwargs={"kind": lambda w: "units", "pk": "unit"}),
    "commerce:reference_delete": P(not_allowed(), R(CATALOG, ok=302), kwargs={"kind": lambda w: "units", "pk": "unit"}),
    # --- data: exports, imports, entry grids ----------------------------------------------------------------------
    "dataio:export_customers": P(R(EXPORT), SAME, kwargs={"fmt": lambda w: "csv"}),
    "dataio:export_orders": P(R(EXPORT), SAME, kwargs={"fmt": lambda w: "csv"}),
    "dataio:import_list": P(R(IMPORT), SAME),
    "dataio:import_new": P(R(IMPORT), R(IMPORT, ok=302, body=lambda w: {
        "kind": "customers", "source": "ci", "file": csv_upload("c.csv", "name,mobile\n孙丽,13500004444\n")})),
    # The job is manager_a's: managers open their own jobs, administrators every job.
    "dataio:import_detail": P(R(IMPORT, hidden=("manager_b",)), SAME, kwargs={"pk": "import_job"}),
    "dataio:import_mapping": P(R(IMPORT, hidden=("manager_b",)), R(IMPORT, hidden=("manager_b",), body=lambda w: {
        "map_name": "name", "map_mobile": "mobile", "key": "mobile"}), kwargs={"pk": "import_job"}),
    "dataio:import_preview": P(R(IMPORT, hidden=("manager_b",)), SAME, kwargs={"pk": "import_job"}),
    "dataio:import_run": P(not_allowed(IMPORT), R(IMPORT, ok=302, hidden=("manager_b",)), kwargs={"pk": "import_job"}),
    "dataio:import_progress": P(R(IMPORT, hidden=("manager_b",)), SAME, kwargs={"pk": "import_job"}),
    "dataio:import_errors": P(R(IMPORT, hidden=("manager_b",)), SAME, kwargs={"pk": "import_job"}),
    "dataio:import_replay": P(not_allowed(IMPORT), R(IMPORT, ok=302, hidden=("manager_b",), body=lambda w: {
        "file": csv_upload("fixed.csv", "row,name,mobile\n")}), kwargs={"pk": "import_job"}),
    "dataio:grid": P(R(IMPORT), SAME, kwargs={"kind": lambda w: "customers"}),
    "dataio:grid_validate": P(not_allowed(IMPORT), R(IMPORT, ok=200, json=True, body=lambda w: {
        "rows": [{"name": "孙丽", "mobile": "13500004444"}]}), kwargs={"kind": lambda w: "customers"}),
    "dataio:grid_save": P(not_allowed(IMPORT), R(IMPORT, ok=200, json=True, body=lambda w: {
        "rows": [{"name": "孙丽", "mobile": "13500004444"}]}), kwargs={"kind": lambda w: "customers"}),
    # --- identity: duplicates and merges --------------------------------------------------------------------------
    "identity:queue": P(R(MERGE), SAME),
    # A pair opens in the queue (a redirect to it with ?pair=).
    "identity:pair": P(R(MERGE, ok=302, hidden=("manager_b",)), SAME, kwargs={"pk": "pair"}),
    "identity:merge": P(not_allowed(), R(MERGE, ok=302, hidden=("manager_b",)), kwargs={"pk": "pair"}),
    "identity:reject": P(not_allowed(), R(MERGE, ok=302, hidden=("manager_b",)), kwargs={"pk": "pair"}),
    "identity:merges": P(R(MERGE), SAME),
    "identity:undo": P(not_allowed(), R(MERGE, ok=302, hidden=("manager_b",)), kwargs={"pk": "merge"}),
    # --- data quality ---------------------------------------------------------------------------------------------
    "quality:index": P(R(CUSTOMERS_VIEW), SAME),
    "quality:recompute": P(not_allowed(), R(frozenset({ADMIN}), ok=302)),
    # --- analytics ------------------------------------------------------------------------------------------------
    "analytics:index": P(R(ANALYTICS_VIEW), SAME),
    "analytics:customers": P(R(ANALYTICS_VIEW), SAME),
    "analytics:run": P(not_allowed(), R(ANALYTICS_RUN, ok=302)),
    "analytics:models": P(R(ANALYTICS_VIEW), SAME),
    "analytics:model": P(R(ANALYTICS_VIEW), SAME, kwargs={"model": lambda w: "rfm"}),
    "analytics:own_models": P(R(ANALYTICS_RUN), SAME),
    "analytics:own_model_upload": P(not_allowed(), R(ANALYTICS_RUN, body=lambda w: {
        "file": csv_upload("labels.csv", "id,bought\n1,yes\n2,no\n")})),
    "analytics:own_model_train": P(not_allowed(), R(ANALYTICS_RUN, body=lambda w: {})),
    "analytics:own_model": P(R(ANALYTICS_RUN), SAME, kwargs={"model_id": "label_model"}),
    "analytics:own_model_apply": P(not_allowed(), R(ANALYTICS_RUN), kwargs={"model_id": "label_model"}),
    "analytics:own_model_delete": P(not_allowed(), R(ANALYTICS_RUN, ok=302), kwargs={"model_id": "label_model"}),
    # --- reports --------------------------------------------------------------------------------------------------
    "reports:index": P(R(REPORTS), SAME),
    "reports:dashboard": P(R(REPORTS), SAME),
    "reports:run": P(not_allowed(), R(REPORTS, ok=200, json=True, body=lambda w: {"spec": SPEC})),
    "reports:drill": P(not_allowed(), R(REPORTS, ok=200, json=True, body=lambda w: {
        "spec": SPEC, "row": [w.region.pk], "column": []})),
    "reports:export": P(not_allowed(), R(EXPORT, ok=200, body=lambda w: {"spec": json.dumps(SPEC)}),
                        kwargs={"fmt": lambda w: "csv"}),
    "reports:save": P(not_allowed(), R(REPORTS, body=lambda w: {"name": "Mine", "spec": json.dumps(SPEC)})),
    # The report is manager_a's, shared with sales reps.
    "reports:detail": P(R(frozenset({ADMIN, MANAGER, REP}), deny=404, hidden=("manager_b",), status={"norole": 403}),
                        SAME, kwargs={"pk": "report"}),
    "reports:delete": P(not_allowed(), R(frozenset({ADMIN, MANAGER}), ok=302, deny=404, hidden=("manager_b",),
                                         status={"norole": 403, REP: 403, "rep_b": 403}), kwargs={"pk": "report"}),
    "reports:schedule": P(not_allowed(), R(EXPORT, ok=302, hidden=("manager_b",), status={MARKETER: 404, ANALYST: 404},
                                           body=lambda w: {"recipients": "team@example.com", "frequency": "weekly"}),
                          kwargs={"pk": "report"}),
    "reports:unschedule": P(not_allowed(), R(frozenset({ADMIN, MANAGER}), ok=302, deny=404, hidden=("manager_b",),
                                             status={"norole": 403}),
                            kwargs={"pk": "report", "schedule_id": "schedule"}),
    # --- sales ----------------------------------------------------------------------------------------------------
    "sales:index": P(R(SALES_VIEW), SAME),
    "sales:mentions_read": P(not_allowed(SALES_VIEW), R(SALES_VIEW, ok=302)),
    "sales:leads": P(R(SALES_VIEW), SAME),
    "sales:lead_new": P(R(SALES_CHANGE), R(SALES_CHANGE, ok=302, body=lambda w: {"name": "冯强",
                                                                                 "mobile": "13300008888"})),
    "sales:lead_import": P(R(SALES_CHANGE), R(SALES_CHANGE, body=lambda w: {
        "file": csv_upload("leads.csv", "name,mobile\n韩梅,13300009999\n")})),
    "sales:lead": P(R(SALES_VIEW, hidden=TEAM_B), SAME, kwargs={"pk": "lead"}),
    "sales:lead_convert": P(not_allowed(SALES_CHANGE), R(SALES_CHANGE, ok=302, hidden=TEAM_B),
                            kwargs={"pk": "lead"}),
    "sales:lead_status": P(not_allowed(SALES_CHANGE), R(SALES_CHANGE, ok=302, hidden=TEAM_B,
                                                        body=lambda w: {"status": "working"}), kwargs={"pk": "lead"}),
    "sales:board": P(R(SALES_VIEW), SAME),
    "sales:opportunities": P(R(SALES_VIEW), SAME),
    "sales:opportunity_new": P(
        R(SALES_CHANGE, hidden=TEAM_B),
        R(SALES_CHANGE, ok=302, status=TEAM_B_404, body=lambda w: {
            "customer_id": w.cust_a.pk, "name": "Accessories", "amount": "800", "expected_close": _days(40)}),
        query={"customer": lambda w: w.cust_a.pk}),
    "sales:opportunity": P(R(SALES_VIEW, hidden=TEAM_B), R(SALES_CHANGE, ok=302, hidden=TEAM_B, body=lambda w: {
        "name": "Phones for the office", "amount": "12000", "expected_close": _days(30), "next_step": "Quote"}),
                           kwargs={"pk": "opportunity"}),
    "sales:opportunity_move": P(not_allowed(SALES_CHANGE), R(SALES_CHANGE, ok=302, hidden=TEAM_B, body=lambda w: {
        "stage": w.stages[1].pk}), kwargs={"pk": "opportunity"}),
    "sales:pick_customer": P(R(SALES_CHANGE), SAME, query={"q": "张"}),
    "sales:activity_new": P(not_allowed(SALES_CHANGE), R(
        SALES_CHANGE, ok=302, status=TEAM_B_404, body=lambda w: {
            "kind": "task", "subject": "Visit", "customer_id": w.cust_a.pk, "due_at": _moment(2)[:16]})),
    "sales:activity_done": P(not_allowed(SALES_CHANGE), R(SALES_CHANGE, ok=302, hidden=TEAM_B,
                                                          body=lambda w: {"outcome": "reached"}),
                             kwargs={"pk": "activity"}),
    "sales:note_new": P(not_allowed(SALES_CHANGE), R(
        SALES_CHANGE, ok=302, status=TEAM_B_404,
        body=lambda w: {"body": "Called back", "customer_id": w.cust_a.pk})),
    "sales:forecast": P(R(SALES_VIEW), SAME),
    "sales:quota_set": P(not_allowed(SALES_MANAGE), R(
        SALES_MANAGE, ok=302, status={"manager_b": 403}, body=lambda w: {
            "user_id": w.rep_a.pk, "month": _days(0)[:8] + "01", "amount": "50000"})),
    "sales:accounts": P(R(SALES_VIEW), SAME),
    "sales:account_new": P(not_allowed(SALES_CHANGE), R(SALES_CHANGE, ok=302, status=TEAM_B_404,
                                                        body=lambda w: {"customer_id": w.cust_a4.pk})),
    "sales:account": P(R(SALES_VIEW, hidden=TEAM_B), SAME, kwargs={"pk": "key_account"}),
    "sales:account_stage": P(not_allowed(SALES_CHANGE), R(SALES_CHANGE, ok=302, hidden=TEAM_B, body=lambda w: {
        "stage": "preferred"}), kwargs={"pk": "key_account"}),
    "sales:account_wallet": P(not_allowed(SALES_CHANGE), R(SALES_CHANGE, ok=302, hidden=TEAM_B, body=lambda w: {
        "period": _days(0)[:8] + "01", "our_volume": "100", "total_demand": "400"}), kwargs={"pk": "key_account"}),
    "sales:account_cost": P(not_allowed(SALES_CHANGE), R(SALES_CHANGE, ok=302, hidden=TEAM_B, body=lambda w: {
        "period": _days(0)[:8] + "01", "category": "logistics", "amount": "250"}), kwargs={"pk": "key_account"}),
    "sales:account_goal": P(not_allowed(SALES_CHANGE), R(SALES_CHANGE, ok=302, hidden=TEAM_B, body=lambda w: {
        "title": "Grow"}), kwargs={"pk": "key_account"}),
    "sales:account_goal_status": P(not_allowed(SALES_CHANGE), R(SALES_CHANGE, ok=302, hidden=TEAM_B, body=lambda w: {
        "status": "achieved"}), kwargs={"pk": "key_account", "goal_id": "goal"}),
    "sales:account_contact": P(not_allowed(SALES_CHANGE), R(SALES_CHANGE, ok=302, hidden=TEAM_B, body=lambda w: {
        "name": "刘总", "role": "decision_maker"}), kwargs={"pk": "key_account"}),
    "sales:transfer": P(R(SALES_MANAGE), R(
        SALES_MANAGE, ok=302, status={"manager_b": 403}, body=lambda w: {
            "from_user_id": w.rep_a2.pk, "to_user_ids": [w.rep_a.pk], "reason": "left"})),
    "sales:settings": P(R(SALES_MANAGE), SAME),
    "sales:pipeline_save": P(not_allowed(SALES_MANAGE), R(SALES_MANAGE, ok=302, body=lambda w: {
        "name": w.pipeline.name}), kwargs={"pk": "pipeline"}),
    "sales:settings_action": P(not_allowed(SALES_MANAGE), R(SALES_MANAGE, ok=302, body=lambda w: {
        "name": "Trade fair"}), kwargs={"what": lambda w: "form"}),
    "sales:settings_action|rule": P(not_allowed(SALES_MANAGE), R(SALES_MANAGE, ok=302, body=lambda w: {
        "name": "Shanghai leads", "condition": "any", "member_ids": [w.rep_a.pk]}), kwargs={"what": lambda w: "rule"}),
    "sales:settings_action|pipeline": P(not_allowed(SALES_MANAGE), R(SALES_MANAGE, ok=302, body=lambda w: {
        "name": "Projects", "open_stages": "Qualify, 20", "won_name": "Won", "lost_name": "Lost"}),
        kwargs={"what": lambda w: "pipeline"}),
    "sales:settings_action|scoring": P(not_allowed(SALES_MANAGE), R(SALES_MANAGE, ok=302, body=lambda w: {
        "field": "channel", "value": "web", "points": "10"}), kwargs={"what": lambda w: "scoring"}),
    # Public: the form's token in the URL is the credential.
    "sales:webform": P(R(PUBLIC), R(PUBLIC, body=lambda w: {"name": "吕布", "mobile": "13300001234"}),
                       kwargs={"token": lambda w: w.web_form.token}),
    # --- notifications: every signed-in user's own ----------------------------------------------------------------
    "notifications:index": P(R(SIGNED_IN), not_allowed(SIGNED_IN)),
    # The bell polls: a signed-out tab is told to stop (286, htmx's "stop polling").
    "notifications:badge": P(R(PUBLIC, status={"anonymous": 286}), not_allowed()),
    "notifications:read_all": P(not_allowed(SIGNED_IN), R(SIGNED_IN, ok=302)),
    "notifications:preferences": P(R(SIGNED_IN), R(SIGNED_IN, ok=302, body=lambda w: {"email_kinds": ["mention"]})),
    "notifications:read": P(not_allowed(SIGNED_IN), R(frozenset({REP}), ok=302, deny=404, hidden=TEAM_B),
                            kwargs={"pk": "notification"}),
    "notifications:open": P(not_allowed(SIGNED_IN), R(frozenset({REP}), ok=302, deny=404, hidden=TEAM_B),
                            kwargs={"pk": "notification"}),
    # --- marketing ------------------------------------------------------------------------------------------------
    "marketing:index": P(R(MARKETING_VIEW), SAME),
    "marketing:audience_new": P(R(MARKETING_CHANGE), R(MARKETING_CHANGE, ok=302, body=lambda w: {
        "name": "上海", "f0_dimension": "customer_city", "f0_op": "in", "f0_values": "上海"})),
    "marketing:audience_preview": P(not_allowed(MARKETING_CHANGE), R(MARKETING_CHANGE, ok=200, body=lambda w: {
        "f0_dimension": "customer_city", "f0_op": "in", "f0_values": "上海"})),
    # manager_b may not put team A's customer on a list: the page lists the value that found nobody.
    "marketing:audience_upload": P(R(MARKETING_CHANGE), R(MARKETING_CHANGE, ok=302, status={"manager_b": 200},
                                                        multipart=True, body=lambda w: {
        "name": "uploaded", "file": csv_upload("list.csv", f"{w.cust_a.pk}\n")})),
    "marketing:audience_from_selection": P(not_allowed(MARKETING_CHANGE), R(MARKETING_CHANGE, ok=302, body=lambda w: {
        "source": "customers", "city": "上海"})),
    "marketing:audience": P(R(MARKETING_VIEW), SAME, kwargs={"pk": "audience"}),
    "marketing:audience_archive": P(not_allowed(MARKETING_CHANGE), R(MARKETING_CHANGE, ok=302),
                                    kwargs={"pk": "audience"}),
    "marketing:audience_export": P(R(MARKETING_VIEW & EXPORT), SAME, kwargs={"pk": "audience",
                                                                           "fmt": lambda w: "csv"}),
    "marketing:campaign_new": P(R(MARKETING_CHANGE), R(MARKETING_CHANGE, ok=302, body=lambda w: {
        "name": "双十一", "audience_id": w.audience.pk, "channel": "sms", "control_share": "10",
        "A_body_zh": "{{ name }}您好"})),
    "marketing:campaign": P(R(MARKETING_VIEW), SAME, kwargs={"pk": "campaign"}),
    "marketing:campaign_results": P(R(MARKETING_VIEW), SAME, kwargs={"pk": "campaign"}),
    "marketing:campaign_action": P(not_allowed(MARKETING_VIEW), R(MARKETING_CHANGE, ok=302),
                                   kwargs={"pk": "campaign", "action": lambda w: "submit"}),
    "marketing:campaign_action|approve": P(not_allowed(MARKETING_VIEW), R(MARKETING_APPROVE, ok=302),
                                           kwargs={"pk": "campaign", "action": lambda w: "approve"}),
    "marketing:campaign_action|reject": P(not_allowed(MARKETING_VIEW), R(MARKETING_APPROVE, ok=302),
                                          kwargs={"pk": "campaign", "action": lambda w: "reject"}),
    "marketing:campaign_action|launch": P(not_allowed(MARKETING_VIEW), R(MARKETING_CHANGE, ok=302),
                                          kwargs={"pk": "campaign", "action": lambda w: "launch"}),
    "marketing:campaign_action|cancel": P(not_allowed(MARKETING_VIEW), R(MARKETING_CHANGE, ok=302),
                                          kwargs={"pk": "campaign", "action": lambda w: "cancel"}),
    # --- privacy (data-subject requests): administrators only -----------------------------------------------------
    "privacy:list": P(R(PRIVACY), not_allowed(PRIVACY)),
    "privacy:new": P(R(PRIVACY), R(PRIVACY, ok=302, body=lambda w: {
        "customer": w.cust_a2.pk, "kind": "correction", "received_via": "email"}),
                     query={"customer": lambda w: w.cust_a2.pk}),
    "privacy:detail": P(R(PRIVACY), not_allowed(PRIVACY), kwargs={"pk": "subject_request"}),
    "privacy:erase": P(R(PRIVACY), R(PRIVACY, body=lambda w: {"confirm": str(w.cust_a.pk)}),
                       kwargs={"pk": "subject_request"}),
    "privacy:export_json": P(R(PRIVACY), not_allowed(PRIVACY), kwargs={"pk": "subject_request"}),
    "privacy:export_html": P(R(PRIVACY), not_allowed(PRIVACY), kwargs={"pk": "subject_request"}),
    "privacy:action": P(not_allowed(), R(PRIVACY, ok=302), kwargs={"pk": "subject_request",
                                                                  "action": lambda w: "start"}),
    "privacy:action|withdraw_consent": P(not_allowed(), R(PRIVACY, ok=302), kwargs={
        "pk": "subject_request", "action": lambda w: "withdraw_consent"}),
    "privacy:action|reject": P(not_allowed(), R(PRIVACY, ok=302, body=lambda w: {"reason": "not the person"}),
                               kwargs={"pk": "subject_request", "action": lambda w: "reject"}),
    # --- service --------------------------------------------------------------------------------------------------
    "service:index": P(R(SERVICE_VIEW), SAME),
    "service:call": P(R(SERVICE_VIEW, hidden=TEAM_B), SAME, kwargs={"pk": "cust_a"}),
    "service:lookup": P(R(SERVICE_VIEW), SAME, query={"phone": "13700000000"}),
    "service:kb": P(R(SERVICE_VIEW), SAME),
    "service:tickets": P(R(SERVICE_VIEW), SAME),
    "service:ticket_new": P(
        R(SERVICE_WORK, hidden=("manager_b",)),
        R(SERVICE_WORK, ok=302, status={"manager_b": 404}, body=lambda w: {
            "customer": w.cust_a.pk, "type": "inquiry", "channel": "phone", "subject": "Warranty?",
            "priority": "normal"}),
        query={"customer": lambda w: w.cust_a.pk}),
    "service:ticket": P(R(SERVICE_VIEW, hidden=TEAM_B), SAME, kwargs={"pk": "ticket"}),
    "service:attachment": P(R(SERVICE_VIEW, hidden=TEAM_B), SAME,
                            kwargs={"pk": "ticket", "attachment_id": "attachment"}),
    "service:ticket_action": P(not_allowed(SERVICE_WORK), R(SERVICE_WORK, ok=302, hidden=("manager_b",),
                                                            body=lambda w: {"kind": "reply", "body": "On it"}),
                               kwargs={"pk": "ticket", "action": lambda w: "message"}),
    # The other actions of the same URL pattern go through other services: each is asked too ("name|variant").
    "service:ticket_action|status": P(not_allowed(SERVICE_WORK), R(
        SERVICE_WORK, ok=302, hidden=("manager_b",), body=lambda w: {"status": "pending"}),
        kwargs={"pk": "ticket", "action": lambda w: "status"}),
    "service:ticket_action|assign": P(not_allowed(SERVICE_WORK), R(
        SERVICE_WORK, ok=302, hidden=("manager_b",), body=lambda w: {"assignee": w.agent.pk}),
        kwargs={"pk": "ticket", "action": lambda w: "assign"}),
    "service:ticket_action|escalate": P(not_allowed(SERVICE_WORK), R(
        SERVICE_WORK, ok=302, hidden=("manager_b",), body=lambda w: {"reason": "angry"}),
        kwargs={"pk": "ticket", "action": lambda w: "escalate"}),
    "service:ticket_action|attach": P(not_allowed(SERVICE_WORK), R(
        SERVICE_WORK, ok=302, hidden=("manager_b",), body=lambda w: {
            "file": SimpleUploadedFile("note.txt", b"serial 123", content_type="text/plain")}),
        kwargs={"pk": "ticket", "action": lambda w: "attach"}),
    "service:work_orders": P(R(SERVICE_VIEW), SAME),
    "service:work_order_new": P(
        R(SERVICE_WORK, hidden=("manager_b",)),
        R(SERVICE_WORK, ok=302, status={"manager_b": 404}, body=lambda w: {
            "customer": w.cust_a.pk, "kind": "install", "address": "静安区 2 号", "window_start": _moment(3)[:16],
            "window_end": _moment(3.1)[:16]}),
        query={"customer": lambda w: w.cust_a.pk}),
    "service:work_order": P(R(SERVICE_VIEW, hidden=TEAM_B), SAME, kwargs={"pk": "work_order"}),
    "service:work_order_action": P(not_allowed(SERVICE_WORK), R(SERVICE_WORK, ok=302, hidden=("manager_b",)),
                                   kwargs={"pk": "work_order", "action": lambda w: "start"}),
    "service:work_order_action|assign": P(not_allowed(SERVICE_WORK), R(
        SERVICE_WORK, ok=302, hidden=("manager_b",), body=lambda w: {"technician": w.technician.pk}),
        kwargs={"pk": "work_order", "action": lambda w: "assign"}),
    "service:work_order_action|complete": P(not_allowed(SERVICE_WORK), R(
        SERVICE_WORK, ok=302, hidden=("manager_b",), body=lambda w: {"report": "Replaced the battery"}),
        kwargs={"pk": "work_order", "action": lambda w: "complete"}),
    "service:work_order_action|cancel": P(not_allowed(SERVICE_WORK), R(
        SERVICE_WORK, ok=302, hidden=("manager_b",), body=lambda w: {"reason": "customer away"}),
        kwargs={"pk": "work_order", "action": lambda w: "cancel"}),
    "service:report": P(R(SERVICE_REPORTS), SAME),
    "service:weights": P(not_allowed(SERVICE_MANAGE), R(SERVICE_MANAGE, ok=302)),
    "service:settings": P(R(SERVICE_MANAGE), SAME),
    "service:config_new": P(R(SERVICE_MANAGE), R(SERVICE_MANAGE, ok=302, body=lambda w: {
        "code": "billing", "name": "Billing"}), kwargs={"kind": lambda w: "category"}),
    "service:config_edit": P(R(SERVICE_MANAGE), R(SERVICE_MANAGE, ok=302, body=lambda w: {
        "code": "repair", "name": "Repairs"}), kwargs={"kind": lambda w: "category", "pk": "service_category"}),
    "service:survey": P(R(SERVICE_VIEW, hidden=TEAM_B), SAME, kwargs={"pk": "survey"}),
    # Public: the signed token is the credential.
    "service:survey_answer": P(R(PUBLIC), R(PUBLIC, body=lambda w: {"csat": "5", "nps": "9"}),
                               kwargs={"token": lambda w: w.survey_token}),
}
