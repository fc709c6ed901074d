"""Service reports over what the user may see: SLA performance, satisfaction (CSAT, NPS, simple and weighted
index) per agent, product, store and customer, attribute scores, repurchase rate by satisfaction score, and the
complaint-recovery report. Each figure is one aggregate query (or one pass over complaint tickets).

Repurchase after a survey: the customer ordered after answering (CustomerStats.last_order_at, kept by commerce,
is later than answered_at). Complaint recovery: per complaint ticket, whether the customer bought in the
`window` days before it was opened, and in the `window` days after it was resolved (a window still running
counts what has happened so far).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Avg, Count, Exists, F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext

from clientwise.commerce.models import Order
from clientwise.service.models import Channel, Survey, SurveyAnswer, Ticket, TicketType
from clientwise.service.queries import visible_surveys, visible_tickets

SATISFIED = 4  # CSAT at or above this is "satisfied"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _since(qs, field: str, since: dt.date | None):
    if since is None:
        return qs
    start = timezone.make_aware(dt.datetime.combine(since, dt.time()))
    return qs.filter(**{f"{field}__gte": start})


def nps_of(promoters: int, detractors: int, answered: int) -> float | None:
    """Net promoter score: % promoters (9-10) − % detractors (0-6), from −100 to 100."""
    if not answered:
        return None
    return round(100 * (promoters - detractors) / answered, 1)


def _survey_aggregates(qs) -> dict:
    return qs.aggregate(
        sent=Count("id"), answered=Count("id", filter=Q(answered_at__isnull=False)),
        csat_n=Count("id", filter=Q(csat__isnull=False)), avg_csat=Avg("csat"),
        satisfied=Count("id", filter=Q(csat__gte=SATISFIED)),
        nps_n=Count("id", filter=Q(nps__isnull=False)), promoters=Count("id", filter=Q(nps__gte=9)),
        detractors=Count("id", filter=Q(nps__lte=6)),
        avg_simple=Avg("simple_index"), avg_weighted=Avg("weighted_index"),
    )


def _finish(row: dict) -> dict:
    row = dict(row)
    row["response_rate"] = _rate(row["answered"], row["sent"]) if "sent" in row else None
    row["csat_share"] = _rate(row["satisfied"], row["csat_n"])
    row["nps"] = nps_of(row["promoters"], row["detractors"], row["nps_n"])
    for key in ("avg_csat", "avg_simple", "avg_weighted"):
        if row.get(key) is not None:
            row[key] = round(float(row[key]), 2)
    return row


def satisfaction_overview(user, *, since: dt.date | None = None) -> dict:
    return _finish(_survey_aggregates(_since(visible_surveys(user), "sent_at", since)))


DIMENSIONS = {
    "agent": ("agent_id", "agent__username", "agent__display_name"),
    "product": ("product_id", "product__sku", "product__name"),
    "store": ("store_id", "store__code", "store__name"),
    "customer": ("customer_id", "customer__member_number", "customer__name"),
}


def satisfaction_by(user, dimension: str, *, since: dt.date | None = None, limit: int = 20) -> list[dict]:
    """Answered surveys grouped by agent, product, store or customer: count, average CSAT, share satisfied,
    NPS, and the simple and weighted indexes side by side; most answers first."""
    key, code, name = DIMENSIONS[dimension]
    qs = _since(visible_surveys(user), "sent_at", since).filter(answered_at__isnull=False, **{f"{key}__isnull": False})
    rows = (qs.values(key, code, name)
            .annotate(answered=Count("id"), csat_n=Count("id", filter=Q(csat__isnull=False)), avg_csat=Avg("csat"),
                      satisfied=Count("id", filter=Q(csat__gte=SATISFIED)),
                      nps_n=Count("id", filter=Q(nps__isnull=False)), promoters=Count("id", filter=Q(nps__gte=9)),
                      detractors=Count("id", filter=Q(nps__lte=6)), avg_simple=Avg("simple_index"),
                      avg_weighted=Avg("weighted_index"))
            .order_by("-answered", key)[:limit])
    out = []
    for r in rows:
        item = _finish(r)
        item["id"], item["code"], item["label"] = r[key], r[code] or "", r[name] or r[code] or str(r[key])
        out.append(item)
    return out


def attribute_scores(user, *, since: dt.date | None = None) -> list[dict]:
    """Average score per attribute over the answered surveys, with the current weight."""
    surveys = _since(visible_surveys(user), "sent_at", since).filter(answered_at__isnull=False)
    rows = (SurveyAnswer.objects.filter(survey__in=surveys)
            .values("attribute_id", "attribute__code", "attribute__name", "attribute__weight", "attribute__position")
            .annotate(n=Count("id"), avg=Avg("score")).order_by("attribute__position", "attribute__code"))
    return [{"code": r["attribute__code"], "name": r["attribute__name"], "weight": r["attribute__weight"],
             "answers": r["n"], "avg": round(float(r["avg"]), 2) if r["avg"] is not None else None} for r in rows]


def repurchase_by_score(user, *, score: str = "csat", since: dt.date | None = None) -> list[dict]:
    """For each CSAT (1-5) or NPS (0-10) score: answered surveys, how many of those customers bought again after
    answering, and the rate. The case for measuring top-box satisfaction: 5s buy again far more than 4s."""
    field = "csat" if score == "csat" else "nps"
    qs = _since(visible_surveys(user), "sent_at", since).filter(answered_at__isnull=False, **{f"{field}__isnull": False})
    rows = (qs.values(field).annotate(
        surveys=Count("id"), repurchased=Count("id", filter=Q(customer__stats__last_order_at__gt=F("answered_at"))))
        .order_by(field))
    found = {r[field]: r for r in rows}
    scale = range(1, 6) if field == "csat" else range(0, 11)
    return [{"score": s, "surveys": found.get(s, {}).get("surveys", 0),
             "repurchased": found.get(s, {}).get("repurchased", 0),
             "rate": _rate(found.get(s, {}).get("repurchased", 0), found.get(s, {}).get("surveys", 0))}
            for s in scale]


def top_box_ratio(rows: list[dict]) -> float | None:
    """Repurchase rate of the top score divided by that of the next one (5 vs 4 on CSAT)."""
    if len(rows) < 2 or not rows[-1]["rate"] or not rows[-2]["rate"]:
        return None
    return round(rows[-1]["rate"] / rows[-2]["rate"], 2)


def complaint_recovery(user, *, window: int = 180, since: dt.date | None = None) -> dict:
    """Of the complaint tickets: how many were resolved, how many complainants answered the survey and how many
    ended satisfied (CSAT ≥ 4); their repurchase rate in the `window` days before the complaint and after its
    resolution, overall and for satisfied vs not satisfied complainants."""
    days = dt.timedelta(days=window)
    orders = Order.objects.filter(customer_id=OuterRef("customer_id")).exclude(status="cancelled")
    qs = _since(visible_tickets(user), "opened_at", since).filter(type="complaint")
    rows = list(qs.annotate(
        csat_after=Subquery(Survey.objects.filter(ticket_id=OuterRef("pk"), answered_at__isnull=False)
                            .order_by("-answered_at").values("csat")[:1]),
        bought_before=Exists(orders.filter(ordered_at__lt=OuterRef("opened_at"),
                                           ordered_at__gte=OuterRef("opened_at") - days)),
        bought_after=Exists(orders.filter(ordered_at__gt=OuterRef("resolved_at"),
                                          ordered_at__lte=OuterRef("resolved_at") + days)),
    ).values("customer_id", "resolved_at", "csat_after", "bought_before", "bought_after"))

    def group(items: list[dict]) -> dict:
        resolved = [r for r in items if r["resolved_at"] is not None]
        return {"complaints": len(items), "customers": len({r["customer_id"] for r in items}),
                "resolved": len(resolved),
                "before": _rate(sum(1 for r in items if r["bought_before"]), len(items)),
                "after": _rate(sum(1 for r in resolved if r["bought_after"]), len(resolved))}

    answered = [r for r in rows if r["csat_after"] is not None]
    satisfied = [r for r in answered if r["csat_after"] >= SATISFIED]
    unsatisfied = [r for r in answered if r["csat_after"] < SATISFIED]
    return {"window": window, "all": group(rows), "answered": len(answered), "satisfied": group(satisfied),
            "unsatisfied": group(unsatisfied), "satisfied_share": _rate(len(satisfied), len(answered))}


def sla_summary(user, *, since: dt.date | None = None) -> dict:
    """Open tickets by SLA state, and for tickets past their targets whether each target was met."""
    now = timezone.now()
    qs = _since(visible_tickets(user), "opened_at", since)
    agg = qs.aggregate(
        total=Count("id"), open=Count("id", filter=Q(status__in=Ticket.OPEN_STATUSES)),
        warning=Count("id", filter=Q(status__in=Ticket.OPEN_STATUSES, sla_state="warning")),
        breached_open=Count("id", filter=Q(status__in=Ticket.OPEN_STATUSES, sla_state="breached")),
        responded=Count("id", filter=Q(first_response_at__isnull=False, first_response_due__isnull=False)),
        responded_in_time=Count("id", filter=Q(first_response_at__isnull=False,
                                               first_response_at__lte=F("first_response_due"))),
        resolved=Count("id", filter=Q(resolved_at__isnull=False, resolution_due__isnull=False)),
        resolved_in_time=Count("id", filter=Q(resolved_at__isnull=False, resolved_at__lte=F("resolution_due"))),
        overdue_now=Count("id", filter=Q(status__in=Ticket.OPEN_STATUSES, resolution_due__lt=now)
                          & Ticket.clock_running_q()),
        escalated=Count("id", filter=Q(escalated_at__isnull=False)),
    )
    agg["response_met"] = _rate(agg["responded_in_time"], agg["responded"])
    agg["resolution_met"] = _rate(agg["resolved_in_time"], agg["resolved"])
    return agg


def tickets_by(user, field: str, *, since: dt.date | None = None) -> list[dict]:
    """Ticket counts by type, channel, category, or root cause (complaint analysis)."""
    names = {"type": ("type", None), "channel": ("channel", None), "category": ("category_id", "category__name"),
             "root_cause": ("root_cause_id", "root_cause__name")}
    key, name = names[field]
    qs = _since(visible_tickets(user), "opened_at", since)
    values = [key] + ([name] if name else [])
    rows = qs.values(*values).annotate(n=Count("id"),
                                       open=Count("id", filter=Q(status__in=Ticket.OPEN_STATUSES))).order_by("-n")
    labels = {"type": TicketType, "channel": Channel}.get(field)
    out = []
    for r in rows:
        if labels is not None and r[key] in labels.values:
            label = str(labels(r[key]).label)
        else:
            label = (r.get(name) if name else r[key]) or gettext("Not recorded")
        out.append({"key": r[key], "label": label, "tickets": r["n"], "open": r["open"]})
    return out


def index_gap(overview: dict) -> Decimal | None:
    """Weighted minus simple index: positive when customers rate the attributes that matter most above the rest."""
    if overview.get("avg_simple") is None or overview.get("avg_weighted") is None:
        return None
    return round(Decimal(str(overview["avg_weighted"])) - Decimal(str(overview["avg_simple"])), 2)
