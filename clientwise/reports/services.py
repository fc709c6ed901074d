"""Business operations of the reports app: save and share reports, export them (audited), drill from a cell to the
orders behind it, and e-mail scheduled reports. Views, API, tasks and commands call these; nothing else writes."""

from __future__ import annotations

import datetime as dt
import logging
import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clientwise.commerce import queries as commerce_queries
from clientwise.commerce.models import OrderLine
from clientwise.core import permissions as perms
from clientwise.core.audit import audit
from clientwise.core.errors import DomainError, ErrorCode, NotFound, PermissionDenied, ValidationFailed
from clientwise.customers.queries import visible_customers
from clientwise.dataio.exports import CONTENT_TYPES, Column, ExportFile, csv_chunks, write_xlsx
from clientwise.reports import notices, runner, semantic
from clientwise.reports.models import Report, ReportSchedule
from clientwise.reports.perms import SHARE_REPORTS, USE_REPORTS
from clientwise.reports.queries import get_report_for
from clientwise.reports.spec import Filter, PivotSpec, parse_spec

log = logging.getLogger(__name__)
ROLES = {r.value for r in perms.Role}
DRILL_PAGE = 50  # rows per page of a drill-down on the report page
DRILL_MAX_PAGE = 1000
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# ----- saved reports ------------------------------------------------------------------------------------------


def _check_roles(actor, roles: list[str] | None) -> list[str]:
    roles = sorted(set(roles or []))
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise ValidationFailed([DomainError(ErrorCode.INVALID, _("Unknown role: %(r)s") % {"r": bad[0]},
                                            "shared_roles")])
    if roles and not perms.has_perm(actor, SHARE_REPORTS):
        raise PermissionDenied(_("You may not share reports."), "shared_roles")
    return roles


def _check_spec(actor, spec) -> PivotSpec:
    """Parse, and compile once for the actor, so a spec naming fields they may not use is refused at save."""
    spec = parse_spec(spec)
    engine = runner.db_engine()
    runner.compile_for(actor, spec.for_user(actor), engine)
    return spec


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed([DomainError(ErrorCode.REQUIRED, _("Give the report a name."), "name")])
    return name[:200]


def save_report(*, actor, name: str, spec: dict | PivotSpec, chart: str = "bar", description: str = "",
                shared_roles: list[str] | None = None) -> Report:
    """Save a new report owned by `actor`; sharing with roles needs reports.share."""
    perms.require(actor, USE_REPORTS)
    name = _check_name(name)
    roles = _check_roles(actor, shared_roles)
    parsed = _check_spec(actor, spec)
    if chart not in Report.Chart.values:
        raise ValidationFailed([DomainError(ErrorCode.INVALID, _("Unknown chart type."), "chart")])
    with transaction.atomic():
        report = Report.objects.create(name=name, description=description or "", spec=parsed.model_dump(mode="json"),
                                       chart=chart, owner=actor, shared_roles=roles)
        audit(actor=actor, action="report.create", obj=report, after={"name": name, "shared_roles": roles})
    return report


def update_report(*, actor, report_id: int, **changes: Any) -> Report:
    """Change a report's name, description, spec, chart or roles: its owner or an administrator."""
    report = get_report_for(actor, report_id)
    if not (report.owner_id == actor.pk or perms.user_role(actor) is perms.Role.ADMIN):
        raise PermissionDenied(_("Only the report's owner may change it."))
    before = {"name": report.name, "shared_roles": report.shared_roles, "spec": report.spec}
    if "name" in changes and changes["name"] is not None:
        report.name = _check_name(changes["name"])
    if changes.get("description") is not None:
        report.description = changes["description"]
    if changes.get("spec") is not None:
        report.spec = _check_spec(actor, changes["spec"]).model_dump(mode="json")
    if changes.get("chart") is not None:
        if changes["chart"] not in Report.Chart.values:
            raise ValidationFailed([DomainError(ErrorCode.INVALID, _("Unknown chart type."), "chart")])
        report.chart = changes["chart"]
    if changes.get("shared_roles") is not None:
        report.shared_roles = _check_roles(actor, changes["shared_roles"])
    with transaction.atomic():
        report.save()
        audit(actor=actor, action="report.update", obj=report, before=before,
              after={"name": report.name, "shared_roles": report.shared_roles, "spec": report.spec})
    return report


def delete_report(*, actor, report_id: int) -> None:
    report = get_report_for(actor, report_id)
    if report.system_key or not (report.owner_id == actor.pk or perms.user_role(actor) is perms.Role.ADMIN):
        raise PermissionDenied(_("Only the report's owner may delete it."))
    with transaction.atomic():
        audit(actor=actor, action="report.delete", obj=report, before={"name": report.name})
        report.delete()


# ----- export -------------------------------------------------------------------------------------------------


def table_rows(result: runner.PivotResult) -> tuple[list[str], list[list]]:
    """The pivot as a flat sheet: one column per row dimension, then one per (column member × measure)."""
    measures = result.measures
    headers = [d["label"] for d in result.row_dims] or [_("Rows")]
    for col in result.columns:
        name = " / ".join(col["labels"]) if col["labels"] else _("Total")
        for m in measures:
            headers.append(f"{name} · {m['label']}" if len(measures) > 1 or col["labels"] else m["label"])
    out = []
    width = max(1, len(result.row_dims))
    for row, cells in zip(result.rows, result.cells, strict=True):
        labels = list(row["labels"])
        if row["total"]:
            labels.append(_("Total") if not labels else _("Subtotal"))
        labels += [""] * (width - len(labels))
        values = [(c or {}).get(m["id"]) for c in cells for m in measures]
        out.append(labels[:width] + values)
    return headers, out


def export_report(*, actor, spec: dict | PivotSpec, fmt: str, report: Report | None = None):
    """The pivot as CSV or XLSX for download (dataio's writers). Needs data.export. One audit row
    `export.report` {format, spec, count, masked, report}."""
    perms.require(actor, perms.EXPORT)
    if fmt not in ("csv", "xlsx"):
        raise DomainError(ErrorCode.INVALID, _("Choose CSV or XLSX."), "format")
    parsed = parse_spec(spec)
    result = runner.run_pivot(actor=actor, spec=parsed)
    headers, rows = table_rows(result)
    columns = tuple(Column(h) for h in headers)
    masked = not perms.can_view_pii(actor)
    stem = re.sub(r"[^\w-]+", "-", report.name if report else "report").strip("-")[:60] or "report"
    filename = f"{stem}-{timezone.localdate():%Y%m%d}.{fmt}"
    audit(actor=actor, action="export.report", object_type="reports.report", object_id=report.pk if report else "",
          detail={"format": fmt, "spec": parsed.model_dump(mode="json"), "count": len(rows), "masked": masked,
                  "engine": result.engine, "snapshot_at": result.snapshot_at})
    if fmt == "csv":
        return ExportFile(filename, CONTENT_TYPES[fmt], len(rows), masked, chunks=csv_chunks(columns, rows))

    out = tempfile.TemporaryFile(prefix="clientwise-report-")  # noqa: SIM115 - FileResponse closes it
    write_xlsx(columns, rows, out, title=(report.name if report else _("Report"))[:31])
    out.seek(0)
    return ExportFile(filename, CONTENT_TYPES[fmt], len(rows), masked, file=out)


# ----- drill-down ---------------------------------------------------------------------------------------------


@dataclass
class Drill:
    """One page of what is behind a pivot cell. `kind` is "lines" (the sales fact: order lines, each with its own
    amount) or "customers" (every other fact); `total` counts them all and, for lines, `total_amount` is the sum of
    their amounts (the cell's revenue when nothing else filters it)."""

    kind: str
    items: list
    page: int
    size: int
    total: int
    filters: list[dict]
    total_amount: Any = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        """1-based position of the page's first item (0 when there is none)."""
        return (self.page - 1) * self.size + 1 if self.items else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * self.size + len(self.items)

    @property
    def limit(self) -> int:  # the page size under its earlier name (templates, API clients of feature level < 12)
        return self.size


def cell_filters(spec: PivotSpec, row: list, column: list, *, actor) -> list[Filter]:
    """The filters that select one cell: each fixed member of its row and column path. "Others" becomes "not
    one of the top members" (taken from the same report's result)."""
    out = []
    pairs = list(zip(spec.rows, row, strict=False)) + list(zip(spec.columns, column, strict=False))
    if len(row) > len(spec.rows) or len(column) > len(spec.columns):
        raise DomainError(ErrorCode.INVALID, _("That cell is not in this report."), "cell")
    for did, key in pairs:
        if key is not None and not isinstance(key, str | int | float | bool):  # a member is a plain value
            raise DomainError(ErrorCode.INVALID, _("That cell is not in this report."), "cell")
        if key == runner.OTHERS_KEY:
            result = runner.run_pivot(actor=actor, spec=spec)
            idx_r = spec.rows.index(did) if did in spec.rows else None
            headers = result.rows if idx_r is not None else result.columns
            idx = idx_r if idx_r is not None else spec.columns.index(did)
            top = sorted({h["keys"][idx] for h in headers if len(h["keys"]) > idx
                          and h["keys"][idx] != runner.OTHERS_KEY}, key=str)
            if top:
                out.append(Filter(dimension=did, op="not_in", values=top))
            continue
        out.append(Filter(dimension=did, op="in", values=[key]))
    return out


def drill(*, actor, spec: dict | PivotSpec, row: list, column: list, page: int = 1,
          size: int = DRILL_PAGE) -> Drill:
    """Page `page` (of `size`, at most DRILL_MAX_PAGE) of what is behind one cell, newest first, read live from
    the operational database and only among what `actor` may see: for the sales fact the order lines, each with
    its own amount (a cell of a charger's revenue lists the charger lines, not their orders' totals), for the
    other facts the customers. The total count (and the lines' total amount) comes from one more query."""
    page, size = max(1, int(page)), max(1, min(int(size), DRILL_MAX_PAGE))
    parsed = parse_spec(spec).resolved().for_user(actor)
    filters = cell_filters(parsed, list(row or []), list(column or []), actor=actor)
    drill_spec = parsed.model_copy(update={"filters": [*parsed.filters, *filters], "top_n": None,
                                           "engine": "database"})
    compiler = runner.Compiler(drill_spec, runner._context(actor, runner.db_engine()))  # noqa: SLF001
    lines = parsed.fact == "sales"
    ident = "lines.id" if lines else compiler.fact.customer_column
    sums = ("lines.amount * orders.fx_rate",) if lines else ()  # in the base currency, as the revenue measure
    # Newest by the fact's own time when the listed rows are the fact's rows (one time each): a line by its
    # order's time, a customer of the customers fact by when it was created; otherwise by id.
    own_rows = lines or compiler.fact.customer_column == f"{compiler.fact.base}.id"
    newest = compiler.fact.date_column.get("db") if own_rows else None
    with connection.cursor() as cur:
        cur.execute(compiler.compile_drill([], ident=ident, count=True, sums=sums, limit=0))  # no limit: counts
        counted = cur.fetchone()
        total = int(counted[0] or 0)
        page = min(page, max(1, -(-total // size)))
        cur.execute(compiler.compile_drill([], ident=ident, limit=size, offset=(page - 1) * size, newest=newest))
        ids = [r[0] for r in cur.fetchall()]
    position = {pk: i for i, pk in enumerate(ids)}
    flt = [f.model_dump(mode="json") for f in filters]
    if lines:
        found = (OrderLine.objects.filter(pk__in=ids, order__in=commerce_queries.visible_orders(actor))
                 .select_related("order", "order__customer", "order__store", "order__channel", "product"))
        items = sorted(found, key=lambda line: position[line.pk])
        amount = counted[1] if len(counted) > 1 else None
        return Drill("lines", items, page, size, total, flt,
                     total_amount=None if amount is None else Decimal(str(amount)).quantize(Decimal("0.01")))
    customers = sorted(visible_customers(actor).filter(pk__in=ids), key=lambda c: position[c.pk])
    return Drill("customers", customers, page, size, total, flt)


# ----- schedules ----------------------------------------------------------------------------------------------


def next_run(frequency: str, hour: int, after: dt.datetime) -> dt.datetime:
    """The next local `hour`:00 strictly after `after` on the schedule's days (every day, Mondays, the 1st)."""
    local = timezone.localtime(after)
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    for _i in range(400):
        ok = (frequency == "daily" or (frequency == "weekly" and at.weekday() == 0)
              or (frequency == "monthly" and at.day == 1))
        if ok and at > local:
            return at
        at = (at + dt.timedelta(days=1)).replace(hour=hour)
    raise DomainError(ErrorCode.INVALID, "no next run", "frequency")


def create_schedule(*, actor, report_id: int, recipients: list[str], frequency: str = "weekly", fmt: str = "xlsx",
                    hour: int = 7) -> ReportSchedule:
    """E-mail a report the actor may open to `recipients` on a schedule. Needs data.export (each sending is an
    export, audited)."""
    perms.require(actor, perms.EXPORT)
    report = get_report_for(actor, report_id)
    errors = []
    recipients = [r.strip().lower() for r in recipients if r and r.strip()]
    if not recipients:
        errors.append(DomainError(ErrorCode.REQUIRED, _("Add at least one recipient."), "recipients"))
    for r in recipients:
        if not EMAIL_RE.match(r):
            errors.append(DomainError(ErrorCode.INVALID_EMAIL, _("Not an e-mail address: %(r)s") % {"r": r},
                                      "recipients"))
    if frequency not in ReportSchedule.Frequency.values:
        errors.append(DomainError(ErrorCode.INVALID, _("Unknown frequency."), "frequency"))
    if fmt not in ReportSchedule.Format.values:
        errors.append(DomainError(ErrorCode.INVALID, _("Choose CSV or XLSX."), "format"))
    if not 0 <= int(hour) <= 23:
        errors.append(DomainError(ErrorCode.INVALID, _("The hour is 0 to 23."), "hour"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        schedule = ReportSchedule.objects.create(
            report=report, owner=actor, recipients=recipients, frequency=frequency, format=fmt, hour=int(hour),
            next_run_at=next_run(frequency, int(hour), timezone.now()))
        audit(actor=actor, action="report.schedule", obj=schedule,
              after={"report": report.pk, "recipients": recipients, "frequency": frequency, "format": fmt})
    return schedule


def delete_schedule(*, actor, schedule_id: int) -> None:
    schedule = ReportSchedule.objects.filter(pk=schedule_id).first()
    if schedule is None or not (schedule.owner_id == actor.pk or perms.user_role(actor) is perms.Role.ADMIN):
        raise NotFound()
    with transaction.atomic():
        audit(actor=actor, action="report.unschedule", obj=schedule, before={"report": schedule.report_id})
        schedule.delete()


def send_schedule(schedule: ReportSchedule, *, now: dt.datetime | None = None) -> int:
    """Run the report as its owner, mail it, and move next_run_at on. Returns the rows sent."""
    now = now or timezone.now()
    report = schedule.report
    export = export_report(actor=schedule.owner, spec=report.spec, fmt=schedule.format, report=report)
    if export.chunks is not None:
        content = "".join(export.chunks).encode("utf-8")
    else:
        content = export.file.read()
        export.file.close()
    body = _("Attached: %(name)s, %(rows)s rows, as of %(when)s.") % {
        "name": report.name, "rows": export.count, "when": timezone.localtime(now).strftime("%Y-%m-%d %H:%M")}
    message = EmailMessage(subject=f"[Clientwise] {report.name}", body=body, to=schedule.recipients)
    message.attach(export.filename, content, export.content_type)
    message.send()
    ReportSchedule.objects.filter(pk=schedule.pk).update(
        last_sent_at=now, last_error="", next_run_at=next_run(schedule.frequency, schedule.hour, now))
    return export.count


def send_due_reports(*, now: dt.datetime | None = None) -> int:
    """Send every active schedule whose time has come; a failing one records its error and waits for its next
    turn (the others still go). Returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for schedule in ReportSchedule.objects.filter(active=True, next_run_at__lte=now).select_related("report", "owner"):
        try:
            rows = send_schedule(schedule, now=now)
            sent += 1
        except Exception as exc:  # a refused export or an SMTP error: this schedule waits, the others still go
            if not isinstance(exc, DomainError):
                log.exception("scheduled report %s could not be sent", schedule.pk)
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            ReportSchedule.objects.filter(pk=schedule.pk).update(
                last_error=str(message)[:2000], next_run_at=next_run(schedule.frequency, schedule.hour, now))
            notices.schedule_failed(schedule, error=str(message), now=now)
        else:
            notices.schedule_sent(schedule, rows=rows, now=now)
    return sent


def semantic_catalog(user, fact: str | None = None) -> dict:
    """The facts, measures and dimensions `user` may use, for the builder and GET /reports/semantic."""
    facts = []
    semantic.load_dynamic()  # custom attributes and label models: read once for every fact
    for f in semantic.FACTS.values():
        if fact and f.name != fact:
            continue
        if f.perm and not perms.has_perm(user, f.perm):
            continue
        measures = [{"id": m.id, "label": str(m.label), "format": m.format, "description": str(m.description)}
                    for m in semantic.measures_for(f.name) if not m.perm or perms.has_perm(user, m.perm)]
        dims = [{"id": d.id, "label": str(d.label), "group": str(d.group), "grain": d.grain, "pii": d.pii,
                 "snapshot": semantic.available_on(d, "duckdb")}
                for d in semantic.dimensions_for(f.name, loaded=True) if not d.perm or perms.has_perm(user, d.perm)]
        facts.append({"id": f.name, "label": str(f.label), "measures": measures, "dimensions": dims})
    return {"facts": facts}
