"""Data-quality runs: score every customer in one set-based statement, no Python loop over customers.

The per-customer indicators (is the gender filled, is the mobile E.164, is there a bounced email, …) are
written as ORM expressions, so Django prints the right SQL for SQLite (REGEXP, 0/1) and PostgreSQL (~,
booleans). That SELECT is wrapped in one `INSERT INTO quality_customerquality … SELECT … ON CONFLICT
(customer_id) DO UPDATE`, which both databases run over the whole table in a single pass; rows of customers
that were archived or deleted since the last run are then removed. A million customers never enter Python.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Avg, Case, Count, Exists, F, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone

from clientwise.core import permissions as perms
from clientwise.core.audit import audit
from clientwise.core.errors import DomainError, ErrorCode, PermissionDenied
from clientwise.customers.models import Consent, ContactPoint, Customer, Interaction
from clientwise.dataio.quality.models import CustomerQuality, QualityRun
from clientwise.dataio.quality.tasks import compute_quality

log = logging.getLogger(__name__)

DEFAULT_STALE_MONTHS = 12
MAX_AGE_YEARS = 120
# E.164: "+", a country code not starting with 0, 7–15 digits in all. Chinese (+86) mobiles: 1[3-9] + 9 digits.
PHONE_OK = r"^(\+861[3-9][0-9]{9}|\+8[0-57-9][0-9]{5,13}|\+[1-79][0-9]{5,13})$"
EMAIL_OK = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_KINDS = (ContactPoint.Kind.MOBILE, ContactPoint.Kind.LANDLINE)
BAD_STATUSES = (ContactPoint.Status.BOUNCED, ContactPoint.Status.INVALID)


def can_run(user) -> bool:
    """Only administrators start a run from the page or the API (the CLI and the scheduled task run as system)."""
    return perms.user_role(user) is perms.Role.ADMIN


def stale_months_setting() -> int:
    return int(getattr(settings, "QUALITY_STALE_MONTHS", DEFAULT_STALE_MONTHS))


def months_before(moment: dt.datetime | dt.date, months: int):
    """The same day-of-month `months` earlier (clamped to the month's length): 31 May − 3 months = 28/29 Feb."""
    years, month0 = divmod(moment.month - 1 - months, 12)
    year, month = moment.year + years, month0 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def _flag(condition) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def indicators(*, now: dt.datetime, stale_months: int):
    """One row per non-archived customer with 0/1 indicator columns (the inner SELECT of a run)."""
    today = timezone.localdate(now)
    cutoff = months_before(now, stale_months)
    oldest_birth = months_before(today, MAX_AGE_YEARS * 12)
    cp = ContactPoint.objects.filter(customer_id=OuterRef("pk"))
    return (
        Customer.objects.filter(archived_at__isnull=True)
        .annotate(
            cid=F("pk"),
            is_org=_flag(Q(kind=Customer.Kind.ORGANIZATION)),
            has_name=_flag(~Q(name="")),
            has_contact=_flag(~Q(mobile="") | ~Q(email="")),
            has_gender=_flag(~Q(gender="")),
            has_birth=_flag(Q(birth_date__isnull=False)),
            has_city=_flag(~Q(city="")),
            has_industry=_flag(~Q(industry="")),
            has_owner=_flag(Q(owner_id__isnull=False)),
            has_consent=_flag(Exists(Consent.objects.filter(customer_id=OuterRef("pk")))),
            mobile_set=_flag(~Q(mobile="")),
            mobile_ok=_flag(~Q(mobile="") & Q(mobile__regex=PHONE_OK)),
            email_set=_flag(~Q(email="")),
            email_ok=_flag(~Q(email="") & Q(email__regex=EMAIL_OK)),
            birth_ok=_flag(Q(birth_date__gte=oldest_birth, birth_date__lte=today)),
            has_cp=_flag(Exists(cp.filter(kind__in=(*PHONE_KINDS, ContactPoint.Kind.EMAIL)))),
            cp_bad=_flag(Exists(cp.filter(status__in=BAD_STATUSES))),
            bounced=_flag(Exists(cp.filter(kind=ContactPoint.Kind.EMAIL, status=ContactPoint.Status.BOUNCED))),
            phone_cp_bad=_flag(Exists(cp.filter(kind__in=PHONE_KINDS, status=ContactPoint.Status.INVALID))),
            email_cp_bad=_flag(Exists(cp.filter(kind=ContactPoint.Kind.EMAIL, status=ContactPoint.Status.INVALID))),
            active=_flag(Q(updated_at__gte=cutoff) | Q(stats__last_order_at__gte=cutoff)
                         | Exists(Interaction.objects.filter(customer_id=OuterRef("pk"), occurred_at__gte=cutoff))),
        )
        .values("cid", "is_org", "has_name", "has_contact", "has_gender", "has_birth", "has_city", "has_industry",
                "has_owner", "has_consent", "mobile_set", "mobile_ok", "email_set", "email_ok", "birth_ok", "has_cp",
                "cp_bad", "bounced", "phone_cp_bad", "email_cp_bad", "active")
        .order_by()
    )


# Scores from the indicators, in SQL both databases read the same way (integer arithmetic, CASE).
_SCORES = """
SELECT cid, is_org, has_contact, has_owner, has_consent, mobile_set, mobile_ok, email_set, email_ok, has_birth,
       birth_ok, bounced, phone_cp_bad, email_cp_bad, active,
       has_name + has_contact + has_city + has_owner + has_consent
         + CASE WHEN is_org = 1 THEN has_industry ELSE has_gender + has_birth END AS filled,
       CASE WHEN is_org = 1 THEN 6 ELSE 7 END AS nfields,
       mobile_set + email_set + has_birth + has_cp AS nchecks,
       mobile_ok + email_ok + birth_ok + (has_cp * (1 - cp_bad)) AS npassed
FROM ({inner}) ind
"""
_UPSERT = """
INSERT INTO {table} (customer_id, run_id, computed_at, filled, fields, completeness, checks, passed, validity,
                     stale, no_contact, invalid_phone, invalid_email, bounced_email, missing_consent, no_owner,
                     bad_birth_date)
SELECT cid, %s, %s, filled, nfields, (filled * 200 + nfields) / (2 * nfields), nchecks, npassed,
       CASE WHEN nchecks = 0 THEN 100 ELSE (npassed * 200 + nchecks) / (2 * nchecks) END,
       active = 0, has_contact = 0, (mobile_set = 1 AND mobile_ok = 0) OR phone_cp_bad = 1,
       (email_set = 1 AND email_ok = 0) OR email_cp_bad = 1, bounced = 1, has_consent = 0, has_owner = 0,
       has_birth = 1 AND birth_ok = 0
FROM ({scores}) s
WHERE true
ON CONFLICT (customer_id) DO UPDATE SET
  run_id = excluded.run_id, computed_at = excluded.computed_at, filled = excluded.filled, fields = excluded.fields,
  completeness = excluded.completeness, checks = excluded.checks, passed = excluded.passed,
  validity = excluded.validity, stale = excluded.stale, no_contact = excluded.no_contact,
  invalid_phone = excluded.invalid_phone, invalid_email = excluded.invalid_email,
  bounced_email = excluded.bounced_email, missing_consent = excluded.missing_consent, no_owner = excluded.no_owner,
  bad_birth_date = excluded.bad_birth_date
"""


def _summarize(run: QualityRun) -> None:
    agg = CustomerQuality.objects.aggregate(
        customers=Count("id"), avg_completeness=Avg("completeness"), avg_validity=Avg("validity"),
        **{flag: Count("id", filter=Q(**{flag: True})) for flag in CustomerQuality.FLAGS},
    )
    run.customers = agg.pop("customers")
    run.avg_completeness = round(agg.pop("avg_completeness") or 0, 1) if run.customers else None
    run.avg_validity = round(agg.pop("avg_validity") or 0, 1) if run.customers else None
    run.counts = {flag: agg[flag] for flag in CustomerQuality.FLAGS}


def run_quality(*, actor=None, stale_months: int | None = None, now: dt.datetime | None = None) -> QualityRun:
    """Score every non-archived customer and store the results (CustomerQuality rows, bulk-upserted).

    `actor` None means the system (CLI, scheduled task); a user must be an administrator. `stale_months`
    (default settings.QUALITY_STALE_MONTHS or 12): no update, interaction or order for that long flags a
    customer as stale. Readers see the previous results until the run commits. Returns the finished run.
    """
    if actor is not None and not can_run(actor):
        raise PermissionDenied()
    months = stale_months_setting() if stale_months is None else stale_months
    if not 1 <= months <= 240:
        raise DomainError(ErrorCode.INVALID, "stale_months must be between 1 and 240.", "stale_months")
    now = now or timezone.now()
    run = QualityRun.objects.create(actor=actor if getattr(actor, "pk", None) else None, stale_months=months,
                                    started_at=now)
    started = time.monotonic()
    try:
        with transaction.atomic():
            inner, params = indicators(now=now, stale_months=months).query.sql_with_params()
            sql = _UPSERT.format(table=CustomerQuality._meta.db_table, scores=_SCORES.format(inner=inner))
            with connection.cursor() as cursor:
                cursor.execute(sql, [run.pk, now, *params])
            CustomerQuality.objects.exclude(run_id=run.pk).delete()
            _summarize(run)
            run.status = QualityRun.Status.DONE
            run.finished_at = timezone.now()
            run.seconds = round(time.monotonic() - started, 3)
            run.save()
            if actor is not None:
                audit(actor=actor, action="quality.run", obj=run,
                      detail={"customers": run.customers, "counts": run.counts, "stale_months": months})
    except Exception as exc:
        log.exception("Data-quality run %s failed", run.pk)
        QualityRun.objects.filter(pk=run.pk).update(status=QualityRun.Status.FAILED, finished_at=timezone.now(),
                                                     error=str(exc)[:2000])
        raise
    return run


def request_run(*, actor, stale_months: int | None = None):
    """Queue a run in the background (the page's "Recompute" button, POST /quality/runs); admins only.

    Returns the django-tasks TaskResult.
    """
    if not can_run(actor):
        raise PermissionDenied()

    return compute_quality.enqueue(actor_id=actor.pk, stale_months=stale_months)
