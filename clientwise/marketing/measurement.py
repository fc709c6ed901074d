"""What a campaign changed: treated vs control over an outcome window after launch, from commerce's completed orders.

For every frozen member the reader may see (CampaignMember: treated or held out at launch) three outcomes in the
window [launch, launch + N days): revenue (sum of order amounts), orders, and whether they bought at all; and the
same over the N days before launch as the CUPED pre-period. stats.lift gives the absolute and relative lift with
Welch's 95 % CI and p-value; stats.incremental the incremental revenue over the treated customers with its CI.
Lift over time: the same lift day by day since launch with an always-valid confidence sequence
(stats.always_valid_from_moments, design fixed_audience, v_star planned from the pre-period's spread), so looking
every day does not inflate false positives.

The members' outcomes are read set-wise: one grouped query over the orders of the campaign's members in the two
windows (orders joined to the member table on customer), never one query per customer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from clientwise.commerce.models import COUNTED, Order
from clientwise.customers.scope import restrict_by_customer
from clientwise.marketing import stats
from clientwise.marketing.models import Campaign, CampaignMember

METRICS = ("revenue", "orders", "purchased")


@dataclass
class MetricResult:
    metric: str
    lift: stats.LiftResult | None
    incremental: stats.Incremental | None = None
    error: str = ""


@dataclass
class Results:
    campaign: Campaign
    window_days: int
    start: dt.datetime
    end: dt.datetime
    complete: bool  # the window is over
    n_treated: int
    n_control: int
    metrics: dict[str, MetricResult] = field(default_factory=dict)
    over_time: list[dict] = field(default_factory=list)
    srm_alarm: bool = False


def _members(user, campaign: Campaign) -> tuple[np.ndarray, np.ndarray]:
    qs = restrict_by_customer(CampaignMember.objects.filter(campaign=campaign), user)
    rows = list(qs.order_by("customer_id").values_list("customer_id", "is_control"))
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    control = np.fromiter((r[1] for r in rows), dtype=bool, count=len(rows))
    return ids, control


def _orders(campaign: Campaign, start: dt.datetime, end: dt.datetime):
    """(customer_id, local day, revenue, orders) of the members' counted orders in [start, end): completed and
    converted to the base currency (commerce.models.COUNTED), revenue in the base currency as every total."""
    member_ids = CampaignMember.objects.filter(campaign=campaign).values("customer_id")
    return (Order.objects.filter(COUNTED, customer_id__in=member_ids, ordered_at__gte=start, ordered_at__lt=end)
            .annotate(day=TruncDate("ordered_at", tzinfo=timezone.get_current_timezone()))
            .values_list("customer_id", "day").annotate(revenue=Sum("base_amount"), n=Count("id")).order_by())


def results(user, campaign: Campaign, *, window_days: int = 30, now: dt.datetime | None = None) -> Results | None:
    """The campaign's measured lift for `user` (their scope's members), or None before launch."""
    if campaign.launched_at is None:
        return None
    now = now or timezone.now()
    start = campaign.launched_at
    end = start + dt.timedelta(days=window_days)
    ids, control = _members(user, campaign)
    res = Results(campaign=campaign, window_days=window_days, start=start, end=end, complete=now >= end,
                  n_treated=int((~control).sum()), n_control=int(control.sum()))
    if campaign.srm_p_value is not None:
        res.srm_alarm = campaign.srm_p_value < stats.SRM_P_THRESHOLD
    if not len(ids):
        return res
    index = {int(c): i for i, c in enumerate(ids.tolist())}
    days = max(1, min(window_days, (min(now, end) - start).days + 1))
    local_start = timezone.localtime(start).date()
    post = np.zeros((len(ids), days))  # revenue per member and day since launch
    post_orders = np.zeros(len(ids))
    for cid, day, revenue, n in _orders(campaign, start, min(now, end)):
        i = index.get(cid)
        if i is None:
            continue
        offset = min(days - 1, max(0, (day - local_start).days))
        post[i, offset] += float(revenue or Decimal(0))
        post_orders[i] += n
    pre_revenue = np.zeros(len(ids))
    pre_orders = np.zeros(len(ids))
    for cid, _day, revenue, n in _orders(campaign, start - dt.timedelta(days=window_days), start):
        i = index.get(cid)
        if i is not None:
            pre_revenue[i] += float(revenue or Decimal(0))
            pre_orders[i] += n
    revenue = post.sum(axis=1)
    outcomes = {"revenue": (revenue, pre_revenue), "orders": (post_orders, pre_orders),
                "purchased": ((post_orders > 0).astype(float), (pre_orders > 0).astype(float))}
    for metric, (y, x) in outcomes.items():
        try:
            lift = stats.lift(y[~control], y[control], pre_treated=x[~control], pre_control=x[control])
        except ValueError as exc:  # an empty arm, or neither arm varies yet
            res.metrics[metric] = MetricResult(metric, None, error=str(exc))
            continue
        res.metrics[metric] = MetricResult(metric, lift, stats.incremental(lift))
    res.over_time = _over_time(post, control, pre_revenue, local_start)
    return res


def _over_time(post: np.ndarray, control: np.ndarray, pre_revenue: np.ndarray, local_start: dt.date) -> list[dict]:
    """Revenue lift per customer, cumulative to each day since launch, with the always-valid CI."""
    nt, nc = int((~control).sum()), int(control.sum())
    if nt < 2 or nc < 2:
        return []
    sd = float(np.std(pre_revenue, ddof=1)) if len(pre_revenue) > 1 else 0.0
    v_star = stats.planned_variance(nt, nc, baseline_sd=sd) if sd > 0 else None
    cumulative = np.cumsum(post, axis=1)
    out = []
    for d in range(post.shape[1]):
        y = cumulative[:, d]
        yt, yc = y[~control], y[control]
        row = {"day": (local_start + dt.timedelta(days=d)).isoformat(), "lift": float(yt.mean() - yc.mean()),
               "ci_low": None, "ci_high": None}
        if v_star is not None and (yt.var() > 0 or yc.var() > 0):
            seq = stats.always_valid_from_moments(nt, yt.mean(), yt.var(ddof=1), nc, yc.mean(), yc.var(ddof=1),
                                                  design="fixed_audience", v_star=v_star)
            row.update(ci_low=float(seq.ci_low), ci_high=float(seq.ci_high), p_value=float(seq.p_value))
        out.append(row)
    return out
