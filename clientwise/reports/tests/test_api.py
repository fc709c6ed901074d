"""The reports API and pages: run, drill, save/share/list, export (audited), schedules, dashboards, permissions."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core import mail

from clientwise.core.models import AuditLog
from clientwise.core.testing import assert_error

pytestmark = pytest.mark.django_db

SPEC = {"fact": "sales", "measures": ["revenue", "buyers"], "rows": ["region"], "columns": ["order_quarter"],
        "engine": "database"}


def test_run_and_semantic_catalog(api_client, users):
    c = api_client(users["admin"])
    res = c.post("reports/run", SPEC)
    assert res.status_code == 200, res.content
    data = res.json()
    assert data["engine"] in ("sqlite", "postgresql") and data["row_dims"][0]["id"] == "region"
    assert data["rows"][-1]["total"] and len(data["cells"]) == len(data["rows"])
    cat = c.get("reports/semantic").json()
    sales = next(f for f in cat["facts"] if f["id"] == "sales")
    assert {"revenue", "margin", "repeat_rate"} <= {m["id"] for m in sales["measures"]}
    assert {"network", "promoter", "order_week", "value_tier"} <= {d["id"] for d in sales["dimensions"]}
    marketer = api_client(users["marketer"]).get("reports/semantic").json()
    assert "margin" not in {m["id"] for m in next(f for f in marketer["facts"] if f["id"] == "sales")["measures"]}


def test_bad_specs_are_422_not_500(api_client, users):
    c = api_client(users["admin"])
    assert_error(c.post("reports/run", {**SPEC, "measures": []}), 422)
    assert_error(c.post("reports/run", {**SPEC, "measures": ["nope"]}), 400, "invalid")
    assert_error(c.post("reports/run", {**SPEC, "rows": ["region"], "columns": ["region"]}), 422)
    assert_error(c.post("reports/run", {**SPEC, "filters": [{"dimension": "order_month", "values": ["x"]}]}), 400)
    assert_error(c.post("reports/run", {**SPEC, "sql": "DROP TABLE x"}), 422)


def test_permissions(api_client, users, django_user_model):
    assert api_client(None).post("reports/run", SPEC).status_code == 401
    norole = django_user_model.objects.create_user(username="nobody_r", password="x-very-long-pass")
    assert_error(api_client(norole).post("reports/run", SPEC), 403)
    assert_error(api_client(users["marketer"]).post("reports/run", {**SPEC, "measures": ["margin"]}), 403)
    assert_error(api_client(users["rep_sh_1"]).post("reports/export", {"spec": SPEC, "format": "csv"}), 403)
    assert not AuditLog.objects.filter(action="export.report").exists()


def test_save_share_list_and_visibility(api_client, users):
    manager = api_client(users["manager_sh"])
    res = manager.post("reports", {"name": "Quarterly regions", "spec": SPEC, "chart": "line",
                                   "shared_roles": ["sales_rep"]})
    assert res.status_code == 201, res.content
    rid = res.json()["id"]
    assert AuditLog.objects.filter(action="report.create", object_id=str(rid)).exists()
    private = manager.post("reports", {"name": "Private", "spec": SPEC}).json()["id"]
    rep = api_client(users["rep_sh_1"])
    names = {r["name"] for r in rep.get("reports").json()["items"]}
    assert "Quarterly regions" in names and "Private" not in names
    assert_error(rep.get(f"reports/{private}"), 404)
    assert_error(api_client(users["marketer"]).get(f"reports/{rid}"), 404)
    # A rep may not share, nor change someone else's report.
    assert_error(rep.post("reports", {"name": "Mine", "spec": SPEC, "shared_roles": ["manager"]}), 403)
    assert_error(rep.patch(f"reports/{rid}", {"name": "x"}), 403)
    # Each reader sees their own customers in a shared report.
    mine = rep.post(f"reports/{rid}/run").json()
    theirs = manager.post(f"reports/{rid}/run").json()
    assert mine["cells"][-1][-1]["buyers"] < theirs["cells"][-1][-1]["buyers"]
    res = manager.patch(f"reports/{rid}", {"name": "Regions by quarter", "spec": {**SPEC, "rows": ["channel"]}})
    assert res.status_code == 200 and res.json()["spec"]["rows"] == ["channel"]
    assert manager.delete(f"reports/{private}").status_code == 204
    assert_error(manager.get(f"reports/{private}"), 404)


def test_drill_cell_keys_must_be_plain_values(api_client, users):
    """A cell is a path of members (text, numbers, booleans or null): anything else is a 400 naming the cell, not a
    500 (found by the API fuzzing: a JSON object as a column key)."""
    c = api_client(users["marketer"])
    res = c.post("reports/drill", {"spec": SPEC, "row": [], "column": [371799, {"x": None}]})
    assert res.status_code == 400, res.content
    assert res.json()["code"] == "invalid"


def test_drill_returns_the_lines_behind_a_cell(api_client, users):
    from clientwise.commerce.models import OrderLine

    c = api_client(users["marketer"])
    spec = {**SPEC, "measures": ["revenue", "buyers", "orders"]}
    result = c.post("reports/run", spec).json()
    row = next(r for r in result["rows"] if not r["total"])
    col = next(x for x in result["columns"] if not x["total"])
    i, j = result["rows"].index(row), result["columns"].index(col)
    res = c.post("reports/drill", {"spec": spec, "row": row["keys"], "column": col["keys"], "limit": 1000})
    assert res.status_code == 200, res.content
    data = res.json()
    items = data["items"]
    assert data["kind"] == "lines" and data["total"] == len(items) and data["pages"] == 1
    lines = {line.pk: line for line in OrderLine.objects.filter(pk__in=[x["id"] for x in items])}
    assert len(lines) == len(items)
    assert all(str(lines[x["id"]].amount) == x["amount"] for x in items)  # each line's own amount
    assert len({x["order_id"] for x in items}) == result["cells"][i][j]["orders"]
    assert len({x["customer_id"] for x in items}) == result["cells"][i][j]["buyers"]
    cell = result["cells"][i][j]["revenue"]
    assert sum(float(x["amount"]) for x in items) == pytest.approx(cell, abs=0.01)
    assert float(data["total_amount"]) == pytest.approx(cell, abs=0.01)
    assert all("****" in x["customer_mobile"] for x in items if x["customer_mobile"])  # no view_pii
    # A rep drilling the same cell sees only lines of their customers.
    rep_items = api_client(users["rep_sh_1"]).post(
        "reports/drill", {"spec": SPEC, "row": row["keys"], "column": col["keys"]}).json()["items"]
    from clientwise.customers.queries import visible_customers

    visible = set(visible_customers(users["rep_sh_1"]).values_list("pk", flat=True))
    assert all(o["customer_id"] in visible for o in rep_items)


def test_export_xlsx_and_csv_are_audited_with_spec_and_count(api_client, users):
    from openpyxl import load_workbook

    c = api_client(users["analyst"])
    res = c.post("reports/export", {"spec": SPEC, "format": "xlsx"})
    assert res.status_code == 200
    body = b"".join(res.streaming_content) if res.streaming else res.content
    sheet = load_workbook(io.BytesIO(body)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Region" and rows[-1][0] == "Total"
    log = AuditLog.objects.get(action="export.report")
    assert log.actor_id == users["analyst"].pk
    assert log.detail["count"] == len(rows) - 1 and log.detail["format"] == "xlsx"
    assert log.detail["spec"]["rows"] == ["region"] and log.detail["masked"] is True
    res = c.post("reports/export", {"spec": {**SPEC, "fact": "customers", "measures": ["customers"],
                                             "rows": ["customer_mobile"], "columns": []}, "format": "csv"})
    text = b"".join(res.streaming_content).decode("utf-8-sig")
    assert "****" in text and "+86" not in text  # masked for a user without view_pii


def test_schedules_send_due_reports_by_email(api_client, users, settings):
    import datetime as dt

    from django.utils import timezone

    from clientwise.reports import services
    from clientwise.reports.models import ReportSchedule

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    c = api_client(users["analyst"])
    rid = c.post("reports", {"name": "Weekly regions", "spec": SPEC}).json()["id"]
    assert_error(c.post("reports/schedules", {"report_id": rid, "recipients": ["not-an-email"]}), 422)
    res = c.post("reports/schedules", {"report_id": rid, "recipients": ["boss@example.com"], "frequency": "weekly",
                                       "hour": 8})
    assert res.status_code == 201, res.content
    schedule = ReportSchedule.objects.get(pk=res.json()["id"])
    local = timezone.localtime(schedule.next_run_at)
    assert local.weekday() == 0 and local.hour == 8 and schedule.next_run_at > timezone.now()
    assert services.send_due_reports() == 0 and not mail.outbox
    later = schedule.next_run_at + dt.timedelta(minutes=1)
    assert services.send_due_reports(now=later) == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["boss@example.com"]
    name, content, _mime = mail.outbox[0].attachments[0]
    assert name.endswith(".xlsx") and content[:2] == b"PK"
    schedule.refresh_from_db()
    assert schedule.last_sent_at == later and schedule.next_run_at > later
    assert AuditLog.objects.filter(action="export.report", actor=users["analyst"]).count() == 1
    assert api_client(users["analyst"]).delete(f"reports/schedules/{schedule.pk}").status_code == 204


def test_schedule_command_and_task(users, settings):
    from django.core.management import call_command

    from clientwise.reports import services, tasks
    from clientwise.reports.models import ReportSchedule

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    report = services.save_report(actor=users["analyst"], name="Daily", spec=SPEC)
    s = services.create_schedule(actor=users["analyst"], report_id=report.pk, recipients=["a@example.com"],
                                 frequency="daily", fmt="csv")
    ReportSchedule.objects.filter(pk=s.pk).update(next_run_at=s.next_run_at.replace(year=2020))
    out = io.StringIO()
    call_command("send_reports", stdout=out)
    assert "1" in out.getvalue() and len(mail.outbox) == 1
    assert tasks.send_scheduled_reports.call() == 0


def test_dashboards_per_role(web_client, users):
    from clientwise.reports.dashboards import sync_default_dashboards
    from clientwise.reports.models import Dashboard, Report

    # migrate seeded them (post_migrate); syncing again writes nothing
    assert sync_default_dashboards() == 0
    assert Dashboard.objects.filter(is_default=True).count() == 6
    assert Report.objects.filter(system_key__isnull=False).count() == Report.objects.count()
    for name in ("admin", "manager_sh", "rep_sh_1", "marketer", "agent_1", "analyst"):
        res = web_client(users[name]).get("/reports/dashboard/")
        assert res.status_code == 200, name
        assert res.content.count(b'class="cw-card rp-widget') >= 2, name
    assert web_client(users["rep_sh_1"]).get("/reports/dashboard/?role=admin").status_code == 404
    assert b"Executive" in web_client(users["admin"]).get("/reports/dashboard/?role=analyst").content


def test_builder_pages_and_partials(web_client, users):
    c = web_client(users["manager_sh"])
    page = c.get("/reports/")
    assert page.status_code == 200 and b'id="rp-builder"' in page.content and b"echarts" in page.content
    res = c.post("/reports/run/", json.dumps({"spec": SPEC}), content_type="application/json")
    assert res.status_code == 200 and b"rp-table" in res.content and b"rp-chart-data" in res.content
    bad = c.post("/reports/run/", json.dumps({"spec": {**SPEC, "measures": []}}), content_type="application/json")
    assert bad.status_code == 422 and b"rp-error" in bad.content
    result = c.post("/reports/drill/", json.dumps({"spec": SPEC, "row": [], "column": []}),
                    content_type="application/json")
    assert result.status_code == 200 and b"rp-drill-table" in result.content
    saved = c.post("/reports/save/", {"name": "From the page", "spec": json.dumps(SPEC), "chart": "bar",
                                      "shared_roles": ["sales_rep"]})
    assert saved.status_code == 302
    detail = c.get(saved["Location"])
    assert detail.status_code == 200 and b"From the page" in detail.content
    export = c.post("/reports/export.csv", {"spec": json.dumps(SPEC)})
    assert export.status_code == 200 and export["X-Export-Rows"]
    assert web_client(users["rep_sh_1"]).post("/reports/export.csv", {"spec": json.dumps(SPEC)}).status_code == 403


def test_export_neutralizes_formula_like_labels(api_client, users):
    """A dimension member planted as a formula (a customer's city) is marked in CSV and stored as text in XLSX."""
    from openpyxl import load_workbook

    from clientwise.customers.models import Customer

    Customer.objects.filter(pk=Customer.objects.order_by("pk").values("pk")[:1]).update(city="=1+2")
    spec = {**SPEC, "fact": "customers", "measures": ["customers"], "rows": ["customer_city"], "columns": [],
            "engine": "database"}
    c = api_client(users["admin"])
    res = c.post("reports/export", {"spec": spec, "format": "csv"})
    assert res.status_code == 200, res.content
    rows = list(csv.reader(io.StringIO(b"".join(res.streaming_content).decode("utf-8-sig"))))
    assert ["'=1+2", "1"] in [r[:2] for r in rows]
    res = c.post("reports/export", {"spec": spec, "format": "xlsx"})
    body = b"".join(res.streaming_content) if res.streaming else res.content
    sheet = load_workbook(io.BytesIO(body)).active
    assert not [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
    assert "=1+2" in [row[0].value for row in sheet.iter_rows()]


@pytest.mark.parametrize("engine", ["snapshot", "database"])
@pytest.mark.parametrize("dimension, values", [("store", ["abc"]), ("channel", ["x", 1.5]), ("product", [True]),
                                               ("customer", ["no-id"]), ("region", [{"x": 1}]),
                                               ("sales_rep", ["99999999999999999999999"])])
def test_a_filter_value_of_the_wrong_type_is_a_422(api_client, users, snapshot, engine, dimension, values):
    spec = {**SPEC, "engine": engine, "filters": [{"dimension": dimension, "op": "in", "values": values}]}
    res = api_client(users["admin"]).post("reports/run", {"spec": spec})
    assert res.status_code in (200, 422), res.content[:300]
    if res.status_code == 422:
        assert res.json()["code"] == "invalid"


def test_snapshot_time_is_shown_in_the_display_time_zone(web_client, users, snapshot):
    import re

    body = web_client(users["admin"]).get("/reports/dashboard/").content.decode()
    shown = re.findall(r"data as of ([0-9: -]+)(UTC)?", body)
    assert shown and all(utc == "" for _at, utc in shown), shown[:3]
