"""Reads of data quality shared by the page, the API and the customer 360. Visibility through
customers.queries.visible_customers: a user only counts and lists the customers they may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Avg, Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, ErrorCode
from clientwise.core.pagination import Page, keyset_page
from clientwise.customers.scope import restrict_by_customer
from clientwise.dataio.quality.models import CustomerQuality, QualityRun

INCOMPLETE_BELOW = 60  # completeness under this counts as the "incomplete" problem


@dataclass(frozen=True)
class Problem:
    key: str
    label: str
    icon: str  # Bootstrap Icons name
    hint: str
    q: Q


PROBLEMS: tuple[Problem, ...] = (
    Problem("incomplete", _("Incomplete profile"), "ui-checks",
            _("Fewer than six in ten key fields are filled."), Q(completeness__lt=INCOMPLETE_BELOW)),
    Problem("stale", _("Stale record"), "hourglass-bottom",
            _("No update, interaction or order for months."), Q(stale=True)),
    Problem("no_contact", _("No mobile or email"), "telephone-x", _("Nobody can reach this customer."),
            Q(no_contact=True)),
    Problem("invalid_phone", _("Invalid phone"), "phone-vibrate",
            _("The mobile is not a valid E.164 number, or a phone was marked invalid."), Q(invalid_phone=True)),
    Problem("invalid_email", _("Invalid email"), "envelope-exclamation",
            _("The email address is malformed or was marked invalid."), Q(invalid_email=True)),
    Problem("bounced_email", _("Bounced email"), "envelope-x", _("Mail to an address of this customer bounced."),
            Q(bounced_email=True)),
    Problem("missing_consent", _("No consent recorded"), "shield-exclamation",
            _("No consent decision for any channel."), Q(missing_consent=True)),
    Problem("no_owner", _("No owner"), "person-x", _("Nobody is responsible for this customer."), Q(no_owner=True)),
    Problem("bad_birth_date", _("Implausible birth date"), "calendar-x",
            _("In the future or more than 120 years ago."), Q(bad_birth_date=True)),
)
PROBLEM_BY_KEY = {p.key: p for p in PROBLEMS}
SCORES = ("completeness", "validity")
BANDS = 10  # 0–9, 10–19, …, 90–100


def can_view(user) -> bool:
    return perms.has_perm(user, perms.VIEW_CUSTOMERS)


def latest_run() -> QualityRun | None:
    return QualityRun.objects.order_by("-started_at", "-id").first()


def last_finished_run() -> QualityRun | None:
    return QualityRun.objects.filter(status=QualityRun.Status.DONE).order_by("-started_at", "-id").first()


def scoped(user) -> QuerySet[CustomerQuality]:
    """Quality rows of the customers `user` may see (none without customers.view)."""
    if not can_view(user):
        return CustomerQuality.objects.none()
    return restrict_by_customer(CustomerQuality.objects.all(), user)


def summary(user) -> dict:
    """Counts by problem, customers scored and average scores in the user's scope (one aggregate pass)."""
    agg = scoped(user).aggregate(
        # Validity is a share of checks passed: customers with nothing to check have none, so they do not
        # count as 100 in the average (the list shows them as "no checks").
        total=Count("id"), avg_completeness=Avg("completeness"), avg_validity=Avg("validity", filter=Q(checks__gt=0)),
        **{p.key: Count("id", filter=p.q) for p in PROBLEMS},
    )
    total = agg["total"]
    return {
        "total": total,
        "avg_completeness": round(agg["avg_completeness"], 1) if total else None,
        "avg_validity": round(agg["avg_validity"], 1) if agg["avg_validity"] is not None else None,
        "counts": {p.key: agg[p.key] for p in PROBLEMS},
    }


def band_of(score: int) -> int:
    return min(score // 10, BANDS - 1)


def band_range(band: int) -> tuple[int, int]:
    return band * 10, (100 if band == BANDS - 1 else band * 10 + 9)


def distribution(user) -> dict[str, list[int]]:
    """Customers per score band (0–9 … 90–100) for completeness and validity, in the user's scope."""
    out = {}
    for score in SCORES:
        counts = [0] * BANDS
        rows = scoped(user).filter(checks__gt=0) if score == "validity" else scoped(user)
        for row in rows.values(score).annotate(n=Count("id")).order_by():
            counts[band_of(row[score])] += row["n"]
        out[score] = counts
    return out


@dataclass(frozen=True)
class AffectedFilter:
    problem: str = ""
    score: str = ""  # "completeness" or "validity", with band
    band: int | None = None

    def is_set(self) -> bool:
        return bool(self.problem) or (self.score in SCORES and self.band is not None)


def parse_filter(problem: str | None = None, score: str | None = None, band=None, *, strict: bool = False) -> AffectedFilter:
    """Problem key and/or score band; unknown values are dropped (pages) or rejected (strict, the API)."""
    problem = (problem or "").strip()
    if problem and problem not in PROBLEM_BY_KEY:
        if strict:
            raise DomainError(ErrorCode.INVALID, "Unknown problem.", "problem")
        problem = ""
    score = (score or "").strip()
    try:
        band_value = int(band) if band not in (None, "") else None
    except (TypeError, ValueError):
        band_value = None
        if strict:
            raise DomainError(ErrorCode.INVALID, "band must be a number from 0 to 9.", "band") from None
    if score and score not in SCORES or band_value is not None and not 0 <= band_value < BANDS:
        if strict:
            raise DomainError(ErrorCode.INVALID, "Give score=completeness|validity and band 0–9.", "score")
        score, band_value = "", None
    if band_value is not None and not score or score and band_value is None:
        score, band_value = "", None
    return AffectedFilter(problem=problem, score=score, band=band_value)


def affected(user, f: AffectedFilter) -> QuerySet[CustomerQuality]:
    qs = scoped(user)
    if f.problem:
        qs = qs.filter(PROBLEM_BY_KEY[f.problem].q)
    if f.score in SCORES and f.band is not None:
        low, high = band_range(f.band)
        qs = qs.filter(**{f"{f.score}__gte": low, f"{f.score}__lte": high})
        if f.score == "validity":
            qs = qs.filter(checks__gt=0)  # as the distribution counts them
    return qs


def affected_page(user, f: AffectedFilter, *, cursor: str | None = None, size: int = 25) -> Page:
    """Visible customers with the problem, least complete first (keyset paging, no COUNT)."""
    qs = affected(user, f).select_related("customer", "customer__owner")
    try:
        return keyset_page(qs, sort="completeness", cursor=cursor, size=size)
    except (ValidationError, ValueError, TypeError, OverflowError):
        raise DomainError(ErrorCode.INVALID_CURSOR, "The page cursor is not valid.", "cursor") from None


@dataclass(frozen=True)
class CustomerQualityInfo:
    """What the customer 360 shows: both scores, what they are made of, the problems and when computed."""

    customer_id: int
    completeness: int
    validity: int
    filled: int
    fields: int
    passed: int
    checks: int
    problems: tuple[tuple[str, str], ...]  # (key, label)
    computed_at: dt.datetime


def problems_of(row: CustomerQuality) -> tuple[tuple[str, str], ...]:
    found = [(p.key, str(p.label)) for p in PROBLEMS if p.key != "incomplete" and getattr(row, p.key)]
    if row.completeness < INCOMPLETE_BELOW:
        found.insert(0, ("incomplete", str(PROBLEM_BY_KEY["incomplete"].label)))
    return tuple(found)


def customer_quality(customer_id: int) -> CustomerQualityInfo | None:
    """The latest quality of one customer, or None before the first run. The caller has checked that the
    user may see the customer (e.g. with customers.queries.get_customer_for)."""
    row = CustomerQuality.objects.filter(customer_id=customer_id).first()
    if row is None:
        return None
    return CustomerQualityInfo(customer_id=row.customer_id, completeness=row.completeness, validity=row.validity,
                               filled=row.filled, fields=row.fields, passed=row.passed, checks=row.checks,
                               problems=problems_of(row), computed_at=row.computed_at)
