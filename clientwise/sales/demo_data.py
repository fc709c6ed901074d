"""Demo sales on top of the generated business (`clientwise demo` calls generate after loading customers).

For every demo sales rep: leads in each state, opportunities spread over every stage of the default pipeline with
a backdated stage history, calls logged in the past, tasks due today / overdue / later, a note that mentions
their manager, and monthly quotas. A handful of the largest demo organizations become key accounts with a
relationship history, twelve months of share of wallet, costs to serve, goals and an org chart.
Deterministic for a seed and `now`. Rows are written in bulk (with backdated times); timeline rows through
customers.services.record_events_bulk.

Global configuration is left alone except when empty: the scoring rules and one web form are created only
if none exist, and stay when the demo is deleted (like other configuration an administrator would keep).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from clientwise.commerce.models import Order
from clientwise.core.labels import DEFERRED_KEY, Deferred, deferred, ref
from clientwise.customers.queries import visible_customers_or_all
from clientwise.customers.services import record_events_bulk
from clientwise.sales import services
from clientwise.sales.models import (
    AccountContact,
    AccountGoal,
    Activity,
    CostToServe,
    KeyAccount,
    Lead,
    Mention,
    Note,
    Opportunity,
    ProductLine,
    Quota,
    RelationshipChange,
    ScoringRule,
    Stage,
    StageVisit,
    WalletShare,
    WebForm,
)

DEMO_SOURCE = "demo"
OPPS_PER_REP = 12
LEADS_PER_REP = 8
KEY_ACCOUNTS = 6
# Where the demo's opportunities are now: positions 0–4 open, 5 won, 6 lost (weights).
STAGE_WEIGHTS = [14, 12, 10, 9, 6, 22, 15]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞", "平", "刚"]
COMPANIES = ["宏达", "鑫源", "华信", "恒通", "金鹏", "瑞丰", "天成", "博远", "嘉禾", "永盛", "新纪元", "东方"]
TRADES = ["商贸有限公司", "电子科技有限公司", "物流有限公司", "酒店管理有限公司", "教育集团", "医疗器械有限公司"]
SCORING = [("has_company", "", 20), ("has_mobile", "", 10), ("has_email", "", 10), ("channel", "web_form", 20),
           ("min_amount", "100000", 25), ("product_line", "services", 15)]
# Opportunity names are data: written in Chinese like the rest of the demo business.
LINE_NAMES = {"handsets": "手机", "appliances": "家电", "computers": "电脑", "accessories": "配件",
              "services": "维保服务"}
OUTCOMES = ["reached", "reached", "no_answer", "voicemail", "call_back", "not_interested"]
CALL_SUBJECTS = ["介绍新品", "确认需求", "报价跟进", "约见面", "回访满意度"]
TASK_SUBJECTS = ["发送报价单", "准备方案演示", "安排现场考察", "确认合同条款", "跟进付款", "回访交付情况"]
CONTACT_TITLES = [("总经理", "decision_maker", "high"), ("采购总监", "economic_buyer", "high"),
                  ("IT 经理", "influencer", "medium"), ("行政主管", "user", "medium"), ("总经理助理", "gatekeeper", "low")]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.4 else "")


def _company(rng: random.Random, city: str) -> str:
    return f"{city}{rng.choice(COMPANIES)}{rng.choice(TRADES)}"


def _mobile(rng: random.Random) -> str:
    return f"+86{rng.choice(['135', '136', '138', '139', '150', '186', '188'])}{rng.randrange(10**8):08d}"


def generate(ctx) -> dict[str, int]:
    rng = random.Random(ctx.seed * 7919 + 6)
    now = ctx.now
    today = timezone.localtime(now).date()
    User = get_user_model()
    usernames = sorted(s.username for s in ctx.staff if s.role == "sales_rep")
    reps = list(User.objects.filter(username__in=usernames).order_by("username"))
    managers = list(User.objects.filter(role="manager", is_active=True))
    pipeline = services.default_pipeline()
    stages = list(pipeline.stages.order_by("position"))
    counts = {"leads": 0, "opportunities": 0, "sales tasks": 0, "key accounts": 0}
    customers = visible_customers_or_all(None).filter(source=ctx.source, archived_at__isnull=True)
    with transaction.atomic():
        if not ScoringRule.objects.exists():
            ScoringRule.objects.bulk_create([ScoringRule(field=f, value=v, points=p) for f, v, p in SCORING])
        form = WebForm.objects.order_by("pk").first() or WebForm.objects.create(
            name="官网咨询", token=secrets.token_urlsafe(24), product_line="")
        events: list[dict] = []
        for rep in reps:
            mine = list(customers.filter(owner_id=rep.pk).order_by("pk").values("pk", "name", "kind", "city")[:80])
            if not mine:
                continue
            opps = _opportunities(rng, rep, mine, stages, pipeline, now, today, events)
            counts["opportunities"] += len(opps)
            counts["leads"] += _leads(rng, rep, mine, form, opps, now, today)
            counts["sales tasks"] += _activities(rng, rep, mine, opps, now, events)
            manager = next((m for m in managers if rep.team and m.team_id == rep.team.parent_id), None)
            if manager is not None and opps:
                opp = opps[0]
                note = Note.objects.create(author=rep, opportunity=opp, customer_id=opp.customer_id,
                                           body=f"@{manager.username} 客户希望下周给出最终报价，需要您批准折扣。")
                Mention.objects.create(note=note, user=manager)
            for offset in range(-3, 4):
                month = _add_months(today.replace(day=1), offset)
                Quota.objects.update_or_create(user=rep, month=month, defaults={
                    "amount": Decimal(rng.randrange(8, 25) * 10000)})
        counts["key accounts"] = _key_accounts(rng, customers, now, today, events)
        record_events_bulk(events=events)
    return counts


def _add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    return day.replace(year=day.year + y, month=m + 1, day=1)


def _event(subject: Deferred, *, payload: dict | None = None, **fields) -> dict:
    """A timeline event for record_events_bulk whose subject every reader sees in their own language."""
    return {**fields, "subject": str(subject)[:200], "payload": {**(payload or {}), DEFERRED_KEY: subject.stored()}}


def _opportunities(rng, rep, mine, stages, pipeline, now, today, events) -> list[Opportunity]:
    """Opportunities whose stage histories walk forward from the first call (sometimes skipping a stage)."""
    flow = [s for s in stages if s.kind != Stage.Kind.LOST]
    lost = next(s for s in stages if s.kind == Stage.Kind.LOST)
    rows, walks = [], []
    for i in range(OPPS_PER_REP):
        c = mine[i % len(mine)]
        final = rng.choices(range(len(stages)), weights=STAGE_WEIGHTS)[0]
        target = stages[final]
        path = [flow[0]]
        top = rng.randrange(0, 4) if target.kind == Stage.Kind.LOST else target.position
        for s in flow[1:]:
            if s.position <= top and (s.position == top or rng.random() > 0.15):
                path.append(s)
        if target.kind == Stage.Kind.LOST:
            path.append(lost)
        stays = [rng.randint(2, 18) for _s in path]
        started = now - dt.timedelta(days=sum(stays) + rng.randint(0, 6), hours=rng.randint(0, 8))
        times, t = [], started
        for days in stays:
            times.append(t)
            t = t + dt.timedelta(days=days, hours=rng.randint(0, 6))
        last = path[-1]
        closed = times[-1] if last.kind != Stage.Kind.OPEN else None
        amount = Decimal(rng.choice([8, 12, 18, 25, 36, 48, 60, 85, 120, 200]) * 1000 + rng.randrange(0, 10) * 100)
        lines = rng.sample(ProductLine.values, k=rng.randint(1, 2))
        if closed is not None:
            expected = timezone.localtime(closed).date()
        else:
            expected = today + dt.timedelta(days=rng.randint(-7, 100))
        opp = Opportunity(
            name=f"{c['name']} · {LINE_NAMES[lines[0]]}", customer_id=c["pk"], pipeline=pipeline, stage=last,
            status={"open": "open", "won": "won", "lost": "lost"}[last.kind], owner=rep, team_id=rep.team_id,
            amount=amount, product_lines=lines, expected_close=expected, probability=last.probability,
            next_step=rng.choice(TASK_SUBJECTS) if last.kind == Stage.Kind.OPEN else "",
            next_step_date=today + dt.timedelta(days=rng.randint(0, 10)) if last.kind == Stage.Kind.OPEN else None,
            lost_reason=rng.choice(Opportunity.LostReason.values[:-1]) if last.kind == Stage.Kind.LOST else "",
            stage_entered_at=times[-1], closed_at=closed, source=DEMO_SOURCE,
            furthest_position=max(s.position for s in path if s.kind != Stage.Kind.LOST),
            external_id=f"demo-opp-{rep.username}-{i}")
        rows.append(opp)
        walks.append((path, times, started))
    Opportunity.objects.bulk_create(rows)
    visits = []
    for opp, (path, times, started) in zip(rows, walks, strict=True):
        Opportunity.objects.filter(pk=opp.pk).update(created_at=started)
        for k, (s, t) in enumerate(zip(path, times, strict=True)):
            left = times[k + 1] if k + 1 < len(times) else None
            visits.append(StageVisit(opportunity=opp, customer_id=opp.customer_id, stage=s,
                                     from_stage=path[k - 1] if k else None, entered_at=t, left_at=left,
                                     seconds_in_stage=int((left - t).total_seconds()) if left else None,
                                     actor=opp.owner))
        events.append(_event(deferred(gettext_noop("Opportunity opened: %(name)s"), name=opp.name),
                             customer_id=opp.customer_id, kind="opp", occurred_at=started,
                             ref_type="sales.opportunity", ref_id=opp.pk,
                             payload={"amount": opp.amount, "stage": path[0].name}))
        if opp.closed_at:
            closed = (deferred(gettext_noop("Opportunity won: %(name)s"), name=opp.name) if opp.status == "won"
                      else deferred(gettext_noop("Opportunity lost: %(name)s (%(reason)s)"), name=opp.name,
                                    reason=ref("sales.lost_reason", opp.lost_reason)))
            events.append(_event(closed, customer_id=opp.customer_id, kind="opp", occurred_at=opp.closed_at,
                                 ref_type="sales.opportunity", ref_id=opp.pk,
                                 payload={"status": opp.status, "amount": opp.amount,
                                          "lost_reason": opp.lost_reason}))
    StageVisit.objects.bulk_create(visits)
    return rows


def _leads(rng, rep, mine, form, opps, now, today) -> int:
    cities = [c["city"] for c in mine if c["city"]] or ["上海"]
    rows = []
    for i in range(LEADS_PER_REP):
        city = rng.choice(cities)
        company = _company(rng, city) if rng.random() < 0.7 else ""
        status = rng.choices(["new", "working", "converted", "disqualified"], weights=[4, 3, 2, 1])[0]
        channel = rng.choice(Lead.Channel.values)
        lead = Lead(name=_name(rng), company=company, mobile=_mobile(rng),
                    email=f"lead{rep.pk}{i}@example.com" if rng.random() < 0.5 else "", city=city,
                    product_line=rng.choice(ProductLine.values),
                    estimated_amount=Decimal(rng.choice([20, 50, 80, 120, 200, 350]) * 1000), channel=channel,
                    web_form=form if channel == "web_form" else None, status=status, owner=rep, team_id=rep.team_id,
                    message=rng.choice(["想了解批量采购价格", "门店需要更换一批设备", "请安排销售联系", "年度维保服务报价", ""]),
                    source=DEMO_SOURCE, external_id=f"demo-lead-{rep.username}-{i}")
        lead.score, lead.score_reasons = services.score_lead(lead)
        if status == "disqualified":
            lead.disqualified_reason = "预算不足"
        if status == "converted" and opps:
            opp = opps[i % len(opps)]
            lead.customer_id, lead.opportunity, lead.converted_at = opp.customer_id, opp, opp.stage_entered_at
        rows.append(lead)
    Lead.objects.bulk_create(rows)
    for lead in rows:
        Lead.objects.filter(pk=lead.pk).update(created_at=now - dt.timedelta(days=rng.randint(0, 20),
                                                                             hours=rng.randint(0, 12)))
    return len(rows)


def _activities(rng, rep, mine, opps, now, events) -> int:
    local = timezone.localtime(now)
    rows = []
    for _call in range(5):  # calls logged over the last weeks
        c = rng.choice(mine)
        at = now - dt.timedelta(days=rng.randint(1, 30), hours=rng.randint(0, 8))
        outcome = rng.choice(OUTCOMES)
        rows.append(Activity(kind="call", subject=rng.choice(CALL_SUBJECTS), assignee=rep, created_by=rep,
                             customer_id=c["pk"], done_at=at, due_at=at, outcome=outcome))
        events.append(_event(deferred(gettext_noop("%(subject)s · %(outcome)s"), subject=rows[-1].subject,
                                      outcome=ref("sales.activity.outcome", outcome)),
                             customer_id=c["pk"], kind="call", occurred_at=at, direction="out"))
    open_opps = [o for o in opps if o.status == "open"] or opps
    plan = [(h, 0) for h in (10, 14, 16)] + [(9, -d) for d in (1, 3)] + [(11, d) for d in (1, 2, 5)]
    for hour, day in plan:  # due today, overdue, later
        opp = rng.choice(open_opps)
        due = (local.replace(hour=hour, minute=0, second=0, microsecond=0) + dt.timedelta(days=day))
        kind = rng.choice(["task", "task", "call", "meeting"])
        rows.append(Activity(kind=kind, subject=rng.choice(TASK_SUBJECTS if kind != "call" else CALL_SUBJECTS),
                             assignee=rep, created_by=rep, customer_id=opp.customer_id, opportunity=opp, due_at=due,
                             remind_at=due - dt.timedelta(hours=1) if day >= 0 else None))
    Activity.objects.bulk_create(rows)
    return len(rows)


def _key_accounts(rng, customers, now, today, events) -> int:
    orgs = list(customers.filter(kind="organization", owner__isnull=False).order_by("-stats__revenue", "pk")
                .values("pk", "owner_id", "name")[:KEY_ACCOUNTS])
    stages = KeyAccount.RelationshipStage.values
    for n, org in enumerate(orgs):
        reached = stages[: 1 + n % 3]
        start = today - dt.timedelta(days=700 - 40 * n)
        account = KeyAccount.objects.create(customer_id=org["pk"], owner_id=org["owner_id"],
                                            relationship_stage=reached[-1], stage_since=start)
        day, prev = start, ""
        for k, stage in enumerate(reached):
            if k:
                day = day + dt.timedelta(days=rng.randint(150, 260))
                KeyAccount.objects.filter(pk=account.pk).update(stage_since=day)
            RelationshipChange.objects.create(account=account, from_stage=prev, to_stage=stage, changed_on=day,
                                              note=["首次合作", "入围优选供应商名录", "签订三年战略合作协议"][k])
            said = (deferred(gettext_noop("Relationship: %(old)s → %(new)s"),
                             old=ref("sales.keyaccount.stage", prev), new=ref("sales.keyaccount.stage", stage)) if prev
                    else deferred(gettext_noop("Managed as a key account (%(stage)s)"),
                                  stage=ref("sales.keyaccount.stage", stage)))
            events.append(_event(said, customer_id=org["pk"], kind="account",
                                 occurred_at=dt.datetime.combine(day, dt.time(10), tzinfo=now.tzinfo)))
            prev = stage
        # Our volume is what the account really bought (its orders and its people's); the account's total
        # demand is "entered" as if from the account review, so the share starts between 12 % and 35 %.
        monthly = _monthly_revenue(org["pk"], _add_months(today.replace(day=1), -12), now)
        share = rng.uniform(0.12, 0.35)
        drift = rng.choice([0.02, 0.015, -0.01, 0.025])
        for m in range(12, 0, -1):
            period = _add_months(today.replace(day=1), -m)
            ours = monthly.get(period, Decimal("0"))
            share = min(0.85, max(0.05, share + drift + rng.uniform(-0.02, 0.02)))
            total = max(Decimal(rng.randrange(5, 20) * 1000), (ours / Decimal(str(round(share, 3)))).quantize(Decimal("1")))
            WalletShare.objects.create(account=account, period=period, total_demand=total, our_volume=ours,
                                       source=DEMO_SOURCE, external_id=f"demo-wallet-{org['pk']}-{m}")
            if m % 3 == 0:
                quarter = sum((monthly.get(_add_months(period, k), Decimal("0")) for k in range(3)), Decimal("0"))
                for cat, low, high in (("sales", 0.02, 0.05), ("logistics", 0.01, 0.03), ("support", 0.005, 0.02)):
                    cost = (quarter * Decimal(str(round(rng.uniform(low, high), 3)))).quantize(Decimal("1"))
                    CostToServe.objects.create(account=account, period=period, category=cat,
                                               amount=cost + Decimal(rng.randrange(1, 6) * 100))
        AccountGoal.objects.create(account=account, title="份额提升到 40%", target=None,
                                   due=_add_months(today.replace(day=1), 6),
                                   plan_note="进入其全部门店的补货目录；季度业务回顾。")
        AccountGoal.objects.create(account=account, title="签下年度框架合同", target=framework_target(
            [monthly.get(_add_months(today.replace(day=1), -m), Decimal("0")) for m in range(12, 0, -1)], rng),
                                   due=_add_months(today.replace(day=1), 3), status="open")
        parent = None
        for title, role, influence in CONTACT_TITLES[: 3 + n % 3]:
            contact = AccountContact.objects.create(account=account, name=_name(rng), title=title, role=role,
                                                    influence=influence, reports_to=parent)
            if role == "decision_maker":
                parent = contact
    return len(orgs)


def framework_target(last_months: list[Decimal], rng) -> Decimal:
    """An annual framework contract worth what the account bought from us in the last twelve whole months plus
    10–60 % growth, in whole thousands (at least ¥10,000): a goal the account's real revenue can reach."""
    yearly = sum(last_months, Decimal("0"))
    target = yearly * Decimal(str(round(rng.uniform(1.1, 1.6), 2)))
    return max(Decimal("10000"), (target / 1000).quantize(Decimal("1")) * 1000)


def _monthly_revenue(customer_id: int, since: dt.date, now: dt.datetime) -> dict[dt.date, Decimal]:
    """Completed order amounts per local month of an organization and its people, since a month start."""
    members = list(visible_customers_or_all(None).filter(organization_id=customer_id).values_list("pk", flat=True))
    start = dt.datetime.combine(since, dt.time.min, tzinfo=timezone.get_current_timezone())
    out: dict[dt.date, Decimal] = {}
    for ordered_at, amount in Order.objects.filter(
            customer_id__in=[customer_id, *members], status="completed", ordered_at__gte=start,
            ordered_at__lt=now).values_list("ordered_at", "amount"):
        month = timezone.localtime(ordered_at).date().replace(day=1)
        out[month] = out.get(month, Decimal("0")) + amount
    return out


def delete(using: str) -> None:
    """Remove what generate wrote (before the demo customers and users go)."""
    with transaction.atomic(using=using):
        Opportunity.objects.using(using).filter(source=DEMO_SOURCE).delete()
        Lead.objects.using(using).filter(source=DEMO_SOURCE).delete()
        Activity.objects.using(using).filter(customer__source=DEMO_SOURCE).delete()
        Note.objects.using(using).filter(customer__source=DEMO_SOURCE).delete()
        KeyAccount.objects.using(using).filter(customer__source=DEMO_SOURCE).delete()
