"""Reads shared by sales pages, the API and the customer 360 card: visibility, lists, the forecast, the funnel,
"my day" and key-account figures.

Visibility follows the customers' rules: an opportunity, activity, note or key account is visible when its
customer is (customers.queries.visible_customers). A lead has no customer yet: administrators and other
everyone-scope roles see all leads, managers their team subtree's and their own, reps their own. A record the
user may not see raises NotFound, the same answer as a missing one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Avg,
    Count,
    DecimalField,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from clientwise.accounts.models import Team, User
from clientwise.accounts.services import team_subtree_ids
from clientwise.analytics.dashboards import HIGH_RISK, current_batch
from clientwise.analytics.models import CustomerScore
from clientwise.commerce.queries import can_view_cost, visible_orders
from clientwise.core import permissions as perms
from clientwise.core.queries import get_visible
from clientwise.customers.queries import owner_choices, visible_customers, visible_customers_or_all
from clientwise.customers.scope import CustomerScope, restrict_by_customer
from clientwise.sales.models import (
    AccountContact,
    Activity,
    CostToServe,
    KeyAccount,
    Lead,
    Mention,
    Note,
    Opportunity,
    OwnershipTransfer,
    Pipeline,
    Quota,
    Stage,
    StageVisit,
    WalletShare,
)
from clientwise.sales.perms import CHANGE_SALES, MANAGE_SALES, VIEW_SALES

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
HOT_LEAD_SCORE = 60
MY_DAY_LIMIT = 10


def can_view(user) -> bool:
    return perms.has_perm(user, VIEW_SALES)


def can_change(user) -> bool:
    return perms.has_perm(user, CHANGE_SALES)


def can_manage(user) -> bool:
    return perms.has_perm(user, MANAGE_SALES)


# --- Visibility --------------------------------------------------------------------------------------------------------


def visible_leads(user) -> QuerySet[Lead]:
    if not can_view(user):
        return Lead.objects.none()
    q = CustomerScope.for_user(user).owned_q()
    return Lead.objects.all() if q is None else Lead.objects.filter(q)


def visible_opportunities(user) -> QuerySet[Opportunity]:
    if not can_view(user):
        return Opportunity.objects.none()
    return restrict_by_customer(Opportunity.objects.all(), user)


def visible_activities(user) -> QuerySet[Activity]:
    if not can_view(user):
        return Activity.objects.none()
    scope = CustomerScope.for_user(user)
    if scope.everything:
        return Activity.objects.all()
    return Activity.objects.filter(Q(assignee_id=user.pk) | Q(customer_id__in=scope.customers().values("pk"))
                                   | Q(lead_id__in=visible_leads(user).values("pk")))


def visible_key_accounts(user) -> QuerySet[KeyAccount]:
    if not can_view(user):
        return KeyAccount.objects.none()
    return restrict_by_customer(KeyAccount.objects.all(), user)


def get_lead_for(user, pk, *, for_update: bool = False) -> Lead:
    qs = visible_leads(user)
    if not for_update:
        qs = qs.select_related("owner", "customer", "web_form")
    return get_visible(qs, pk, lock=for_update)


def get_opportunity_for(user, pk, *, for_update: bool = False) -> Opportunity:
    qs = visible_opportunities(user)
    if not for_update:
        qs = qs.select_related("customer", "stage", "pipeline", "owner", "team")
    return get_visible(qs, pk, lock=for_update)


def get_activity_for(user, pk, *, for_update: bool = False) -> Activity:
    return get_visible(visible_activities(user), pk, lock=for_update)


def get_key_account_for(user, pk, *, for_update: bool = False) -> KeyAccount:
    qs = visible_key_accounts(user)
    if not for_update:
        qs = qs.select_related("customer", "owner")
    return get_visible(qs, pk, lock=for_update)


def note_visible_to(user, note: Note) -> bool:
    if not can_view(user):
        return False
    if note.customer_id:
        return visible_customers(user).filter(pk=note.customer_id).exists()
    if note.lead_id:
        return visible_leads(user).filter(pk=note.lead_id).exists()
    return False


# --- Lists -------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpportunityFilters:
    """One filter definition for the board, the list page and GET /opportunities."""

    q: str = ""
    pipeline: int | None = None
    stage: int | None = None
    owner: int | None = None
    status: str = ""
    customer: int | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    close_from: dt.date | None = None
    close_to: dt.date | None = None


def filter_opportunities(qs: QuerySet[Opportunity], f: OpportunityFilters) -> QuerySet[Opportunity]:
    if f.q:
        qs = qs.filter(name__icontains=f.q)
    if f.pipeline:
        qs = qs.filter(pipeline_id=f.pipeline)
    if f.stage:
        qs = qs.filter(stage_id=f.stage)
    if f.owner:
        qs = qs.filter(owner_id=f.owner)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.customer:
        qs = qs.filter(customer_id=f.customer)
    if f.min_amount is not None:
        qs = qs.filter(amount__gte=f.min_amount)
    if f.max_amount is not None:
        qs = qs.filter(amount__lte=f.max_amount)
    if f.close_from:
        qs = qs.filter(expected_close__gte=f.close_from)
    if f.close_to:
        qs = qs.filter(expected_close__lte=f.close_to)
    return qs


def opportunity_list(user, f: OpportunityFilters) -> QuerySet[Opportunity]:
    return filter_opportunities(visible_opportunities(user), f).select_related("customer", "stage", "owner")


def pipelines() -> list[Pipeline]:
    # A genuine cycle: sales.services imports sales.queries at load time.
    from clientwise.sales.services import default_pipeline

    default_pipeline()
    return list(Pipeline.objects.filter(active=True).prefetch_related("stages"))


def get_pipeline(pk=None) -> Pipeline:
    # A genuine cycle: sales.services imports sales.queries at load time.
    from clientwise.sales.services import default_pipeline

    if not pk:
        return default_pipeline()
    return get_visible(Pipeline.objects.filter(active=True), pk)


# Cards per column on the board; a column with more shows a link to the filtered list.
BOARD_COLUMN_LIMIT = 50


def board(user, pipeline: Pipeline, f: OpportunityFilters) -> list[dict]:
    """Columns of the kanban board: each stage with its opportunities (open ones; won and lost of the last 30
    days), count, total and weighted amount. Queries do not grow with the number of cards."""
    stages = list(pipeline.stages.all())
    qs = filter_opportunities(visible_opportunities(user).filter(pipeline=pipeline), f)
    since = timezone.now() - dt.timedelta(days=30)
    qs = qs.filter(Q(status=Opportunity.Status.OPEN) | Q(closed_at__gte=since))
    totals = {row["stage_id"]: row for row in qs.values("stage_id").annotate(
        n=Count("id"), total=Sum("amount"),
        weighted=Sum(F("amount") * F("probability"), output_field=DecimalField(max_digits=20, decimal_places=2)))}
    # One small query per stage (a stage's first cards by close date), never all open opportunities at once.
    cards = {s.pk: list(qs.filter(stage=s).select_related("customer", "owner")
                        .order_by("expected_close", "id")[:BOARD_COLUMN_LIMIT]) for s in stages}
    out = []
    for s in stages:
        t = totals.get(s.pk, {})
        out.append({"stage": s, "cards": cards[s.pk], "count": t.get("n", 0), "total": t.get("total") or ZERO,
                    "weighted": _pct(t.get("weighted"))})
    return out


def _pct(value) -> Decimal:
    """Sum(amount × probability) / 100, to the cent."""
    if value is None:
        return ZERO
    return (Decimal(str(value)) / 100).quantize(CENT)


def stage_history(opp: Opportunity) -> list[dict]:
    """Each stay in a stage, oldest first, with its duration (up to now for the current one)."""
    now = timezone.now()
    rows = []
    for v in StageVisit.objects.filter(opportunity=opp).select_related("stage", "from_stage", "actor"):
        end = v.left_at or now
        rows.append({"visit": v, "stage": v.stage, "from_stage": v.from_stage, "entered_at": v.entered_at,
                     "left_at": v.left_at, "actor": v.actor, "days": round((end - v.entered_at).total_seconds()
                                                                         / 86400, 1)})
    return rows


# --- Forecast, quotas and the funnel ------------------------------------------------------------------------------------


def _months(start: dt.date, count: int) -> list[dt.date]:
    out, day = [], start.replace(day=1)
    for _i in range(count):
        out.append(day)
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


def _month_key(value) -> dt.date:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value.replace(day=1)


def _local_bounds(first: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return (dt.datetime.combine(first, dt.time.min, tzinfo=tz), dt.datetime.combine(end, dt.time.min, tzinfo=tz))


def forecast(user, *, start: dt.date | None = None, months: int = 6, owner: int | None = None,
             team: int | None = None) -> dict:
    """Weighted pipeline by month of expected close (open opportunities: amount × probability), won amount by
    month closed, quotas and attainment (won / quota), per month, per rep and per team — over what the user may
    see. Amounts in the default currency, to the cent."""
    start = (start or timezone.localdate()).replace(day=1)
    month_list = _months(start, months)
    end = _months(month_list[-1], 2)[1]
    qs = visible_opportunities(user)
    if owner:
        qs = qs.filter(owner_id=owner)
    if team:
        qs = qs.filter(team_id__in=team_subtree_ids(team))
    weighted_expr = Sum(F("amount") * F("probability"), output_field=DecimalField(max_digits=20, decimal_places=2))
    open_rows = (qs.filter(status=Opportunity.Status.OPEN, expected_close__gte=start, expected_close__lt=end)
                 .annotate(m=TruncMonth("expected_close")).values("m", "owner_id", "team_id")
                 .annotate(pipeline=Sum("amount"), weighted=weighted_expr, n=Count("id")))
    lo, hi = _local_bounds(start, end)
    won_rows = (qs.filter(status=Opportunity.Status.WON, closed_at__gte=lo, closed_at__lt=hi)
                .annotate(m=TruncMonth("closed_at", tzinfo=timezone.get_current_timezone()))
                .values("m", "owner_id", "team_id").annotate(won=Sum("amount"), n=Count("id")))
    people = {u.pk: u for u in owner_choices(user, limit=1000)}
    quota_qs = Quota.objects.filter(month__gte=start, month__lt=end, user_id__in=list(people))
    if owner:
        quota_qs = quota_qs.filter(user_id=owner)
    if team:
        quota_qs = quota_qs.filter(user__team_id__in=team_subtree_ids(team))

    def blank():
        return {"pipeline": ZERO, "weighted": ZERO, "won": ZERO, "quota": ZERO, "open_count": 0, "won_count": 0}

    by_month = {m: blank() for m in month_list}
    by_owner: dict[int | None, dict] = {}
    by_team: dict[int | None, dict] = {}
    for row in open_rows:
        m = _month_key(row["m"])
        for bucket in (by_month.setdefault(m, blank()), by_owner.setdefault(row["owner_id"], blank()),
                       by_team.setdefault(row["team_id"], blank())):
            bucket["pipeline"] += row["pipeline"] or ZERO
            bucket["weighted"] += _pct(row["weighted"])
            bucket["open_count"] += row["n"]
    for row in won_rows:
        m = _month_key(row["m"])
        for bucket in (by_month.setdefault(m, blank()), by_owner.setdefault(row["owner_id"], blank()),
                       by_team.setdefault(row["team_id"], blank())):
            bucket["won"] += row["won"] or ZERO
            bucket["won_count"] += row["n"]
    for q in quota_qs.select_related("user"):
        by_month.setdefault(q.month, blank())["quota"] += q.amount
        by_owner.setdefault(q.user_id, blank())["quota"] += q.amount
        by_team.setdefault(q.user.team_id, blank())["quota"] += q.amount

    names = {u.pk: str(u) for u in User.objects.filter(pk__in=[k for k in by_owner if k])}
    teams = {t.pk: t.name for t in Team.objects.filter(pk__in=[k for k in by_team if k])}

    def finish(key, label, bucket):
        quota = bucket["quota"]
        return {"key": key, "label": label, **bucket,
                "attainment": float(bucket["won"] / quota) if quota else None}

    total = blank()
    for bucket in by_month.values():
        for k in total:
            total[k] += bucket[k]
    return {
        "start": start, "months": month_list,
        "by_month": [finish(m.isoformat(), m.strftime("%Y-%m"), by_month[m]) for m in sorted(by_month)],
        "by_owner": sorted((finish(k, names.get(k, "—"), b) for k, b in by_owner.items()),
                           key=lambda r: (-r["weighted"], r["label"])),
        "by_team": sorted((finish(k, teams.get(k, "—"), b) for k, b in by_team.items()),
                          key=lambda r: (-r["weighted"], r["label"])),
        "total": finish("total", "", total),
    }


def funnel(user, pipeline: Pipeline, *, since: dt.date | None = None, owner: int | None = None) -> dict:
    """Stage-to-stage conversion and average days per stage for one pipeline.

    An opportunity "reached" a stage when it was ever in that stage or a later open/won one (skipping a stage
    counts as passing it). Conversion from stage i to i+1 = reached(i+1) / reached(i). Average days per stage =
    the mean length of the finished stays in it (the current stay is not finished and is left out). Won rate =
    won / (won + lost) among closed opportunities."""
    stages = list(pipeline.stages.all())
    qs = visible_opportunities(user).filter(pipeline=pipeline)
    if since:
        qs = qs.filter(created_at__gte=_local_bounds(since, since)[0])
    if owner:
        qs = qs.filter(owner_id=owner)
    reached_at = dict(qs.values_list("furthest_position").annotate(n=Count("id")))
    # Stays carry their customer id and stage: scope them directly (the stage index serves the pipeline), and go
    # through the opportunities only when the filter needs an opportunity column.
    visits = StageVisit.objects.filter(stage__pipeline=pipeline, left_at__isnull=False)
    if since or owner:
        visits = visits.filter(opportunity_id__in=qs.values("pk"))
    elif can_view(user):
        visits = restrict_by_customer(visits, user)
    else:
        visits = visits.none()
    avg = {r["stage_id"]: r for r in visits.values("stage_id").annotate(avg=Avg("seconds_in_stage"), n=Count("id"))}
    status = {r["status"]: r["n"] for r in qs.values("status").annotate(n=Count("id"))}
    flow = [s for s in stages if s.kind != Stage.Kind.LOST]
    rows = []
    for s in flow:
        reached = sum(n for top, n in reached_at.items() if top >= s.position)
        a = avg.get(s.pk)
        days = round(float(a["avg"]) / 86400, 1) if a and a["avg"] is not None else None
        rows.append({"stage": s, "reached": reached, "avg_days": days, "finished_stays": a["n"] if a else 0,
                     "conversion": None})
    for i in range(len(rows) - 1):
        if rows[i]["reached"]:
            rows[i]["conversion"] = rows[i + 1]["reached"] / rows[i]["reached"]
    won, lost = status.get(Opportunity.Status.WON, 0), status.get(Opportunity.Status.LOST, 0)
    lost_reasons = list(qs.filter(status=Opportunity.Status.LOST).values("lost_reason").annotate(n=Count("id"))
                        .order_by("-n"))
    return {"pipeline": pipeline, "stages": rows, "won": won, "lost": lost,
            "open": status.get(Opportunity.Status.OPEN, 0), "total": sum(status.values()),
            "win_rate": won / (won + lost) if won + lost else None,
            "lost_reasons": [{"reason": r["lost_reason"],
                              "label": Opportunity.LostReason(r["lost_reason"]).label if r["lost_reason"] else "—",
                              "count": r["n"]} for r in lost_reasons]}


# --- My day -------------------------------------------------------------------------------------------------------------


def my_day(user, *, now: dt.datetime | None = None) -> dict:
    """What a rep should do today: tasks due today, overdue ones, reminders, hot leads, opportunities whose
    next step or close date is near, the at-risk and high-value customers they own (analytics, when scores
    exist), and unread mentions."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    start, end = _local_bounds(today, today + dt.timedelta(days=1))
    mine = Activity.objects.filter(assignee_id=user.pk, done_at__isnull=True).select_related(
        "customer", "lead", "opportunity")
    due_today = list(mine.filter(due_at__gte=start, due_at__lt=end).order_by("due_at", "id")[:50])
    overdue = list(mine.filter(due_at__lt=start).order_by("due_at", "id")[:50])
    reminders = list(mine.filter(remind_at__lte=now).exclude(due_at__lt=end).order_by("remind_at")[:20])
    hot = list(visible_leads(user).filter(owner_id=user.pk, status__in=[Lead.Status.NEW, Lead.Status.WORKING],
                                          score__gte=HOT_LEAD_SCORE).order_by("-score", "-created_at")[:MY_DAY_LIMIT])
    closing = list(visible_opportunities(user).filter(owner_id=user.pk, status=Opportunity.Status.OPEN)
                   .filter(Q(expected_close__lte=today + dt.timedelta(days=14))
                           | Q(next_step_date__lte=today + dt.timedelta(days=2)))
                   .select_related("customer", "stage").order_by("expected_close", "id")[:MY_DAY_LIMIT])
    at_risk, high_value, scored = _owned_scores(user)
    mentions = list(Mention.objects.filter(user=user, read_at__isnull=True)
                    .select_related("note", "note__author", "note__customer", "note__lead")
                    .order_by("-note__created_at")[:20])
    return {"today": today, "due_today": due_today, "overdue": overdue, "reminders": reminders, "hot_leads": hot,
            "closing": closing, "at_risk": at_risk, "high_value": high_value, "scored": scored,
            "mentions": mentions}


def _owned_scores(user) -> tuple[list, list, bool]:
    """The user's own customers with high churn risk (most value at stake first) and the top value tier, from
    the current scoring batch; ([], [], False) when there are no scores."""
    batch = current_batch()
    if batch is None:
        return [], [], False
    base = CustomerScore.objects.filter(batch=batch, customer__owner_id=user.pk, customer__archived_at__isnull=True)
    at_risk = list(base.filter(churn_probability__gte=HIGH_RISK).select_related("customer")
                   .order_by(F("clv").desc(nulls_last=True), "-churn_probability")[:MY_DAY_LIMIT])
    high = list(base.filter(value_tier="A").exclude(churn_probability__gte=HIGH_RISK).select_related("customer")
                .order_by(F("clv").desc(nulls_last=True))[:MY_DAY_LIMIT])
    return at_risk, high, True


# --- Customer 360 card and key accounts -----------------------------------------------------------------------------------


def customer_panel(user, customer) -> dict | None:
    """The sales card on the customer page: open opportunities, next tasks, key-account stage."""
    if not can_view(user):
        return None
    opps = list(visible_opportunities(user).filter(customer_id=customer.pk, status=Opportunity.Status.OPEN)
                .select_related("stage", "owner").order_by("expected_close", "id")[:10])
    won = visible_opportunities(user).filter(customer_id=customer.pk, status=Opportunity.Status.WON).aggregate(
        n=Count("id"), total=Sum("amount"))
    tasks = list(Activity.objects.filter(customer_id=customer.pk, done_at__isnull=True)
                 .select_related("assignee").order_by(F("due_at").asc(nulls_last=True), "id")[:5])
    account = KeyAccount.objects.filter(customer_id=customer.pk).first()
    return {"opportunities": opps, "tasks": tasks, "account": account, "won_count": won["n"],
            "won_total": won["total"] or ZERO, "can_change": can_change(user), "customer_id": customer.pk}


def key_account_figures(user, account: KeyAccount, *, months: int = 12) -> dict:
    """Share of wallet per period with its trend, revenue from our orders over the last `months`, cost to serve
    and the resulting profitability (revenue − cost to serve; gross margin − cost to serve for users who may
    see costs)."""
    return key_accounts_figures(user, [account], months=months)[account.pk]


def key_accounts_figures(user, accounts: list[KeyAccount], *, months: int = 12) -> dict[int, dict]:
    """key_account_figures for many accounts in five queries whatever their number (the list page): wallet shares,
    member customers, orders by customer, costs by category, each for all the accounts at once."""
    if not accounts:
        return {}
    ids = [a.pk for a in accounts]
    today = timezone.localdate()
    since = _months(today.replace(day=1), 1)[0]
    for _month in range(months - 1):
        since = (since - dt.timedelta(days=1)).replace(day=1)
    lo, _hi = _local_bounds(since, today)
    wallet: dict[int, list] = {pk: [] for pk in ids}
    for w in WalletShare.objects.filter(account_id__in=ids).order_by("account_id", "period"):
        wallet[w.account_id].append({"period": w.period, "our_volume": w.our_volume,
                                     "total_demand": w.total_demand, "share": w.share})
    # The customers whose orders count for each account: its own customer and the (visible) member customers of
    # that organization; a member that is itself a key account counts for both.
    accounts_of: dict[int, list[int]] = {}
    for a in accounts:
        accounts_of.setdefault(a.customer_id, []).append(a.pk)
    members: dict[int, int] = {pk: 0 for pk in ids}
    own = {a.customer_id: a.pk for a in accounts}
    for cid, org in visible_customers(user).filter(organization_id__in=list(own)).values_list(
            "pk", "organization_id"):
        members[own[org]] += 1
        accounts_of.setdefault(cid, []).append(own[org])
    totals = {pk: {"revenue": ZERO, "cost": ZERO, "n": 0} for pk in ids}
    for cid, revenue, cost, n in (visible_orders(user).filter(customer_id__in=list(accounts_of), status="completed",
                                                              ordered_at__gte=lo)
                                  .values("customer_id").annotate(r=Sum("amount"), c=Sum("cost"), n=Count("id"))
                                  .values_list("customer_id", "r", "c", "n")):
        for pk in accounts_of[cid]:
            t = totals[pk]
            t["revenue"] += revenue or ZERO
            t["cost"] += cost or ZERO
            t["n"] += n
    costs: dict[int, list] = {pk: [] for pk in ids}
    for row in (CostToServe.objects.filter(account_id__in=ids, period__gte=since).values("account_id", "category")
                .annotate(total=Sum("amount")).order_by("account_id", "-total", "category")):
        costs[row["account_id"]].append({"category": row["category"], "total": row["total"]})
    show_cost = can_view_cost(user)
    out = {}
    for pk in ids:
        series = wallet[pk]
        shares = [w["share"] for w in series if w["share"] is not None]
        t = totals[pk]
        cost_to_serve = sum((c["total"] for c in costs[pk]), ZERO)
        margin = (t["revenue"] - t["cost"]) if show_cost else None
        out[pk] = {
            "wallet": series, "share": shares[-1] if shares else None,
            "trend": shares[-1] - shares[-2] if len(shares) >= 2 else None, "since": since,
            "revenue": t["revenue"], "orders": t["n"], "cost_to_serve": cost_to_serve,
            "profit": t["revenue"] - cost_to_serve, "margin": margin,
            "margin_profit": (margin - cost_to_serve) if margin is not None else None,
            "costs_by_category": costs[pk], "members": members[pk],
        }
    return out


def org_chart(account: KeyAccount) -> list[dict]:
    """The account's contacts as a forest: [{contact, children: [...]}], roots first by id."""
    contacts = list(AccountContact.objects.filter(account=account).order_by("id"))
    by_parent: dict[int | None, list[AccountContact]] = {}
    ids = {c.pk for c in contacts}
    for c in contacts:
        parent = c.reports_to_id if c.reports_to_id in ids else None
        by_parent.setdefault(parent, []).append(c)

    def tree(parent, depth=0):
        if depth > 20:
            return []
        return [{"contact": c, "children": tree(c.pk, depth + 1)} for c in by_parent.get(parent, [])]

    return tree(None)


def transfers(user, *, limit: int = 20) -> list[OwnershipTransfer]:
    if not can_manage(user):
        return []
    return list(OwnershipTransfer.objects.select_related("actor", "from_user")[:limit])


def leftovers(user_id: int) -> dict[str, int]:
    """What still points at a user as owner or assignee (after a transfer every count must be 0)."""
    return {
        "customers": visible_customers_or_all(None).filter(owner_id=user_id).count(),
        "leads": Lead.objects.filter(owner_id=user_id).count(),
        "opportunities": Opportunity.objects.filter(owner_id=user_id).count(),
        "key_accounts": KeyAccount.objects.filter(owner_id=user_id).count(),
        "open_activities": Activity.objects.filter(assignee_id=user_id, done_at__isnull=True).count(),
    }


def has_open_activity_with(user, customer_id: int) -> bool:
    """Whether `user` has an open call or task for this customer (not done): they may see its phone on demand to
    make the call (customers.services.may_reveal_contact)."""
    return Activity.objects.filter(customer_id=customer_id, assignee_id=user.pk, done_at__isnull=True).exists()
