"""Demo rows for the service app, on top of the generated business (`clientwise demo` calls generate/delete).

Configuration: a business calendar with Chinese public holidays and make-up working days (2025-2026, as demo
data: check them against the State Council's notice before relying on them), SLA policies, queues with the demo
agents (managers as senior agents), routing rules (high value and at-risk customers to senior agents, complaints
and repairs to their own queues), categories with root causes, canned replies, knowledge-base articles,
technicians per region, survey attributes with weights.

Activity: tickets for about 8 % of the customers over the last year in every state, replies, satisfaction
surveys after resolution and after purchases, and work orders for repairs. Satisfaction is drawn so that it
relates to repurchase as in the case study: a survey with a high score is more often placed before the
customer's last purchase (so the customer bought again after answering). Deterministic for ctx.seed; rows are
written with bulk_create.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.apps import apps
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from clientwise.accounts.models import User
from clientwise.commerce.models import Order, Product, Region, Store
from clientwise.core.labels import DEFERRED_KEY, deferred, ref
from clientwise.customers.queries import visible_customers_or_all
from clientwise.service import sla
from clientwise.service.models import (
    AgentProfile,
    BusinessCalendar,
    CalendarDay,
    CannedReply,
    Category,
    KnowledgeArticle,
    Priority,
    Queue,
    RootCause,
    RoutingRule,
    SLAEvent,
    SLAPolicy,
    Survey,
    SurveyAnswer,
    SurveyAttribute,
    Technician,
    Ticket,
    TicketAttachment,
    TicketMessage,
    WorkOrder,
    WorkOrderPart,
)
from clientwise.service.rules import visit_window
from clientwise.service.services import run_sla_check, satisfaction_indexes

CALENDAR = "工作日 9:00-18:00（演示）"
HOLIDAYS = {  # (date, name); demo data
    "holiday": [("2025-01-01", "元旦"), *[(f"2025-01-{d}", "春节") for d in range(28, 32)],
                *[(f"2025-02-0{d}", "春节") for d in range(1, 5)], *[(f"2025-04-0{d}", "清明节") for d in range(4, 7)],
                *[(f"2025-05-0{d}", "劳动节") for d in range(1, 6)], ("2025-05-31", "端午节"),
                ("2025-06-01", "端午节"), ("2025-06-02", "端午节"),
                *[(f"2025-10-0{d}", "国庆节、中秋节") for d in range(1, 9)],
                *[(f"2026-01-0{d}", "元旦") for d in range(1, 4)], *[(f"2026-02-{d}", "春节") for d in range(15, 24)],
                *[(f"2026-04-0{d}", "清明节") for d in range(4, 7)], *[(f"2026-05-0{d}", "劳动节") for d in range(1, 6)],
                *[(f"2026-06-{d}", "端午节") for d in range(19, 22)], *[(f"2026-09-{d}", "中秋节") for d in range(25, 28)],
                *[(f"2026-10-0{d}", "国庆节") for d in range(1, 8)]],
    "workday": [("2025-01-26", "调休上班"), ("2025-02-08", "调休上班"), ("2025-04-27", "调休上班"),
                ("2025-09-28", "调休上班"), ("2025-10-11", "调休上班"), ("2026-01-04", "调休上班"),
                ("2026-02-14", "调休上班"), ("2026-02-28", "调休上班"), ("2026-05-09", "调休上班"),
                ("2026-09-20", "调休上班"), ("2026-10-10", "调休上班")],
}
CATEGORIES = [  # code, name, skill, root causes
    ("delivery", "配送", "", [("late-courier", "快递延误"), ("wrong-address", "地址错误")]),
    ("quality", "产品质量", "appliances", [("defect", "出厂缺陷"), ("damaged", "运输损坏")]),
    ("install", "安装", "install", [("no-show", "师傅未按时上门"), ("bad-install", "安装不规范")]),
    ("billing", "账单与价格", "billing", [("price-diff", "价格差异"), ("invoice", "发票问题")]),
    ("returns", "退换货", "", [("changed-mind", "不想要了"), ("not-as-described", "与描述不符")]),
    ("attitude", "服务态度", "", [("rude", "服务人员态度差"), ("hotline", "热线难以接通")]),
    ("consult", "咨询", "", [("info", "信息咨询")]),
    ("suggestion", "意见建议", "", [("improvement", "改进建议")]),
]
QUEUES = [("demo-general", "综合服务台", "least_loaded", True), ("demo-vip", "VIP 专席", "round_robin", False),
          ("demo-complaints", "投诉处理组", "least_loaded", False), ("demo-repairs", "售后维修", "least_loaded", False)]
ATTRIBUTES = [("quality", "质量", "0.30"), ("function", "功能", "0.25"), ("price", "价格", "0.20"),
              ("service", "服务", "0.15"), ("packaging", "包装", "0.10")]
CANNED = [
    ("道歉并确认", "非常抱歉给您带来不便，我们已经记录了您的问题，会尽快为您处理。"),
    ("安排上门", "我们已为您安排维修师傅上门，师傅会在上门前一小时与您电话联系。"),
    ("退款说明", "退款将在 3-5 个工作日内原路退回，请留意账户到账信息。"),
    ("物流查询", "已为您查询物流，包裹目前在途中，预计 1-2 天内送达。"),
    ("回访感谢", "感谢您的耐心，请问问题是否已经解决？如有其他需要随时联系我们。"),
    ("保修政策", "本产品整机保修一年，主要部件保修三年，凭购物凭证即可到门店或寄修享受保修服务。"),
    ("价格核实", "已为您核实价格，差价将在 3 个工作日内原路退回。"),
    ("发票说明", "电子发票会在订单完成后 24 小时内发送到您的邮箱，如需更换抬头请回复订单号。"),
    ("活动说明", "以旧换新活动在全部门店进行，旧机按品类折价抵扣新机货款，详情可咨询门店店员。"),
    ("积分说明", "会员积分可在结账时抵扣现金，100 积分抵 1 元，积分有效期为两年。"),
    ("滤芯更换", "RO 反渗透滤芯建议每 24 个月更换一次，PP 棉滤芯每 6 个月更换一次，机身指示灯会提醒您。"),
    ("建议感谢", "感谢您的宝贵建议，我们已转交相关部门评估，有改进会第一时间通知您。"),
    ("热线致歉", "很抱歉让您久等，我们已增加高峰时段的坐席，您也可以通过微信客服随时联系我们。"),
    ("换货说明", "已为您登记换货，新商品会在 2-3 天内送达，届时请将原商品交给快递员。"),
]
ARTICLES = [
    ("保修政策与期限", "整机保修一年，压缩机、电机等主要部件保修三年。保修期内非人为损坏免费维修。", "保修 warranty 维修"),
    ("七天无理由退货流程", "签收 7 天内，商品完好、配件齐全可申请无理由退货，运费由顾客承担。", "退货 退款 return refund"),
    ("净水器安装须知", "安装前确认进水角阀和排水口位置，机身需离墙留出检修空间；由持证师傅上门安装。", "安装 净水器 install"),
    ("农村地区上门服务范围", "县城及乡镇在 48 小时内上门，偏远村庄与顾客预约时间，不额外收费。", "农村 上门 rural"),
    ("发票开具与更换", "电子发票在订单完成后 24 小时内开具，如需更换抬头请提供订单号。", "发票 invoice billing"),
    ("会员积分与价保", "购买后 15 天内降价可申请价保，差价以积分或原路退回。", "价保 积分 price"),
    ("投诉处理承诺", "投诉 2 小时内响应，24 小时内给出处理方案，处理结果将回访确认。", "投诉 complaint SLA"),
    ("打印机卡纸排查", "取出卡住的纸张，检查纸张是否受潮、纸盒导轨是否贴合纸边；仍卡纸请报修。", "打印机 卡纸 printer jam"),
]
TECH_NAMES = ["张师傅", "李师傅", "王师傅", "刘师傅", "陈师傅", "杨师傅", "赵师傅", "黄师傅", "周师傅", "吴师傅",
              "徐师傅", "孙师傅", "胡师傅", "朱师傅", "高师傅", "林师傅", "何师傅", "郭师傅"]
# What a ticket is about, so that its category, product, first reply and root cause agree with each other
# (test_demo_data.py checks it): (type, subject, category, product categories of the demo catalog — None for no
# product, ANY for any —, root cause, first reply's canned title). A repair whose reply sends a technician gets a
# work order.
ANY = ()
DURABLE = ("PHONE", "TABLET", "EARPHONE", "CHARGER", "PRINTER", "PURIFIER", "RICECOOKER")
SCENARIOS = [
    ("complaint", "送货太慢，比承诺晚了三天", "delivery", None, "late-courier", "物流查询"),
    ("complaint", "收到的商品外包装破损", "quality", ANY, "damaged", "换货说明"),
    ("complaint", "安装师傅没有按约定时间上门", "install", ("PURIFIER",), "no-show", "安排上门"),
    ("complaint", "价格比门店标价高", "billing", None, "price-diff", "价格核实"),
    ("complaint", "客服电话一直打不通", "attitude", None, "hotline", "热线致歉"),
    ("complaint", "产品用了一周就出现故障", "quality", DURABLE, "defect", "道歉并确认"),
    ("inquiry", "想了解以旧换新活动", "consult", None, "info", "活动说明"),
    ("inquiry", "发票什么时候可以开", "billing", None, "invoice", "发票说明"),
    ("inquiry", "会员积分怎么使用", "consult", None, "info", "积分说明"),
    ("inquiry", "这款净水器的滤芯多久换一次", "consult", ("PURIFIER",), "info", "滤芯更换"),
    ("suggestion", "希望增加晚间送货时段", "suggestion", None, "improvement", "建议感谢"),
    ("suggestion", "建议门店增加儿童休息区", "suggestion", None, "improvement", "建议感谢"),
    ("repair", "手机充电很慢，经常充不进电", "quality", ("PHONE",), "defect", "保修政策"),
    ("repair", "平板屏幕出现亮线", "quality", ("TABLET",), "defect", "保修政策"),
    ("repair", "耳机一侧没有声音", "quality", ("EARPHONE",), "defect", "保修政策"),
    ("repair", "打印机卡纸，无法进纸", "quality", ("PRINTER",), "defect", "安排上门"),
    ("repair", "净水器接头漏水", "install", ("PURIFIER",), "bad-install", "安排上门"),
    ("repair", "电饭煲不加热", "quality", ("RICECOOKER",), "defect", "安排上门"),
    ("return", "纸尿裤尺码不合适想换货", "returns", ("DIAPER",), "changed-mind", "换货说明"),
    ("return", "商品与描述不符申请退货", "returns", ANY, "not-as-described", "退款说明"),
]
VISIT_REPLY = "安排上门"
TYPE_WEIGHTS = [("complaint", 0.3), ("inquiry", 0.3), ("suggestion", 0.07), ("repair", 0.23), ("return", 0.1)]
CHANNELS = [("phone", 0.45), ("wechat", 0.2), ("web", 0.12), ("store", 0.13), ("email", 0.05), ("api", 0.05)]
# P(the survey is placed before the customer's last purchase, i.e. they bought again) by CSAT.
REPURCHASE_P = {1: 0.08, 2: 0.12, 3: 0.2, 4: 0.25, 5: 0.75}
TICKET_SHARE = 0.08
TICKET_PREFIX = "DT"
WORK_ORDER_PREFIX = "DW"



def _pick(rng: random.Random, pairs):
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _config(ctx, users) -> dict:
    cal = BusinessCalendar.objects.create(name=CALENDAR, opens=dt.time(9), closes=dt.time(18), workdays="12345")
    CalendarDay.objects.bulk_create([CalendarDay(calendar=cal, date=dt.date.fromisoformat(d), kind=kind, name=name)
                                     for kind, rows in HOLIDAYS.items() for d, name in rows])
    policies = {}
    with translation.override("zh-hans"):  # the demo's data is in Chinese, whoever runs it
        priority_names = {p.value: str(p.label) for p in Priority}
    targets = [("urgent", "", 30, 240), ("high", "", 60, 540), ("normal", "", 240, 1620), ("low", "", 480, 2700),
               ("high", "A", 30, 270), ("normal", "A", 60, 540)]
    for prio, tier, first, resolve in targets:
        # An installation's own active policy for the same priority and tier is kept (one active each).
        existing = SLAPolicy.objects.filter(active=True, priority=prio, customer_tier=tier).first()
        policies[(prio, tier)] = existing or SLAPolicy.objects.create(
            name=f"演示 {priority_names[prio]}{' · ' + tier + ' 级客户' if tier else ''}", priority=prio,
            customer_tier=tier, first_response_minutes=first, resolution_minutes=resolve, calendar=cal)
    managers = [u for u in users if u.role == "manager"]
    agents = [u for u in users if u.role == "service_agent"]
    queues = {code: Queue.objects.create(code=code, name=name, strategy=strategy, is_default=default,
                                         escalation_manager=managers[0] if managers else None)
              for code, name, strategy, default in QUEUES}
    profiles = []
    for i, u in enumerate(agents):
        p = AgentProfile.objects.get_or_create(user=u, defaults={"skills": "appliances,install" if i % 2 else
                                                                 "billing,appliances"})[0]
        p.queues.set([queues["demo-general"], queues["demo-complaints"], queues["demo-repairs"]])
        profiles.append(p)
    for u in managers[:4]:
        p = AgentProfile.objects.get_or_create(user=u, defaults={"senior": True, "skills": "appliances,billing,install"})[0]
        p.queues.set([queues["demo-vip"], queues["demo-complaints"]])
        profiles.append(p)
    cats, causes = {}, {}
    for code, name, skill, rcs in CATEGORIES:
        cats[code] = Category.objects.create(code=f"demo-{code}", name=name, skill=skill)
        causes[code] = [RootCause.objects.create(category=cats[code], code=f"demo-{c}", name=n) for c, n in rcs]
    rules = [
        RoutingRule(name="高价值客户到资深坐席", position=10, value_tiers="AB", queue=queues["demo-vip"],
                    senior_only=True),
        RoutingRule(name="流失风险高的客户到资深坐席", position=20, min_churn_probability=0.5,
                    queue=queues["demo-vip"], senior_only=True, priority="high"),
        RoutingRule(name="投诉到投诉处理组", position=30, ticket_type="complaint", queue=queues["demo-complaints"]),
        RoutingRule(name="维修到售后", position=40, ticket_type="repair", queue=queues["demo-repairs"],
                    skill="appliances"),
        RoutingRule(name="账单问题需懂账单", position=50, category=cats["billing"], queue=queues["demo-general"],
                    skill="billing"),
    ]
    RoutingRule.objects.bulk_create(rules)
    CannedReply.objects.bulk_create([CannedReply(title=t, body=b) for t, b in CANNED])
    KnowledgeArticle.objects.bulk_create([KnowledgeArticle(title=t, body=b, keywords=k) for t, b, k in ARTICLES])
    attributes = [SurveyAttribute.objects.create(code=f"demo-{c}", name=n, weight=Decimal(w), position=i)
                  for i, (c, n, w) in enumerate(ATTRIBUTES)]
    regions = list(Region.objects.filter(source=ctx.source).order_by("id"))
    techs = []
    names = iter(TECH_NAMES * 4)
    for i, region in enumerate(regions):
        for j in range(2):
            t = Technician.objects.create(name=f"{next(names)}（{region.name}）", phone=f"1390000{i:02d}{j:02d}",
                                          skills="appliances,install" if j == 0 else "appliances",
                                          rural=j == 1 or i % 2 == 0)
            t.regions.set([region])
            techs.append(t)
    return {"calendar": cal, "policies": policies, "queues": queues, "profiles": profiles, "categories": cats,
            "causes": causes, "attributes": attributes, "technicians": techs, "regions": regions}


def generate(ctx) -> dict[str, int]:
    rng = random.Random(ctx.seed * 7919 + 7)
    now = ctx.now
    users = list(User.objects.filter(username__in=[s.username for s in ctx.staff], is_active=True))
    with transaction.atomic():
        cfg = _config(ctx, users)
        hours = sla.hours_for(cfg["calendar"])
        customers = list(visible_customers_or_all(None).filter(source=ctx.source, archived_at__isnull=True)
                         .values_list("id", "city", "urban_rural", "stats__revenue", "stats__first_order_at",
                                      "stats__last_order_at")
                         .order_by("id"))
        if not customers:
            return {"tickets": 0}
        by_revenue = sorted(customers, key=lambda c: (-(c[3] or 0), c[0]))
        tier = {}
        for rank, c in enumerate(by_revenue):
            share = rank / len(by_revenue)
            tier[c[0]] = "A" if share < 0.05 else "B" if share < 0.2 else "C" if share < 0.5 else "D"
        stores = list(Store.objects.filter(source=ctx.source).values_list("id", "city", "branch__region_id"))
        stores_by_city: dict[str, list] = {}
        for s in stores:
            stores_by_city.setdefault(s[1], []).append(s)
        products_by_category: dict[str, list[int]] = {}
        for pid, category in Product.objects.filter(source=ctx.source).order_by("id").values_list(
                "id", "category__code"):
            products_by_category.setdefault(category, []).append(pid)
        all_products = sorted(pid for ids in products_by_category.values() for pid in ids)
        scenarios = {ttype: [sc for sc in SCENARIOS if sc[0] == ttype] for ttype, _w in TYPE_WEIGHTS}
        agents = [p.user_id for p in cfg["profiles"] if not p.senior] or [p.user_id for p in cfg["profiles"]]
        seniors = [p.user_id for p in cfg["profiles"] if p.senior] or agents
        queues = cfg["queues"]
        chosen = rng.sample(customers, max(1, int(len(customers) * TICKET_SHARE)))
        chosen.sort(key=lambda c: c[0])
        year_ago = now - dt.timedelta(days=365)

        tickets, plans = [], []
        for n, (cid, city, area, _rev, first, last) in enumerate(chosen):
            ttype = _pick(rng, TYPE_WEIGHTS)
            csat = rng.choices([1, 2, 3, 4, 5], weights=[6, 7, 14, 33, 40])[0]
            bought_again = last is not None and first is not None and rng.random() < REPURCHASE_P[csat]
            lo = max(year_ago, first or year_ago)
            if bought_again and last - dt.timedelta(days=4) > lo:
                opened = lo + (last - dt.timedelta(days=4) - lo) * rng.random()
            else:
                start = max(lo, last or lo)
                opened = start + (now - dt.timedelta(hours=3) - start) * rng.random() if start < now else now
            opened = opened.replace(microsecond=0)
            age_days = (now - opened).total_seconds() / 86400
            status = ("closed" if rng.random() < 0.6 else "resolved") if age_days > 10 else rng.choices(
                ["new", "open", "pending", "resolved"], weights=[1, 4, 2, 5])[0]
            t_tier = tier[cid]
            prio = rng.choices(["urgent", "high", "normal", "low"], weights=[5, 20, 60, 15])[0]
            senior = t_tier in "AB"
            queue = queues["demo-vip"] if senior else queues["demo-complaints"] if ttype == "complaint" else \
                queues["demo-repairs"] if ttype == "repair" else queues["demo-general"]
            assignee = None if status == "new" else rng.choice(seniors if senior else agents)
            policy = cfg["policies"].get((prio, "A") if t_tier == "A" and (prio, "A") in cfg["policies"] else (prio, ""))
            tg = sla.targets(opened, first_response_minutes=policy.first_response_minutes,
                             resolution_minutes=policy.resolution_minutes, warn_percent=policy.warn_percent,
                             hours=hours)
            responded = None
            if status != "new":
                late = rng.random() < 0.15
                target = tg.first_response_due if not late else tg.first_response_due + dt.timedelta(hours=3)
                responded = min(opened + (target - opened) * (rng.random() if not late else 1.0), now)
            resolved = None
            if status in ("resolved", "closed"):
                late = rng.random() < 0.2
                span = (tg.resolution_due - opened) * (rng.uniform(0.2, 0.95) if not late else rng.uniform(1.1, 2.5))
                resolved = max(min(opened + span, now - dt.timedelta(minutes=5)), responded or opened)
            _type, subject, cat_code, lines, cause_code, reply = rng.choice(scenarios[ttype])
            local = stores_by_city.get(city) or stores
            store = rng.choice(local) if local else None
            # A product of the line the ticket is about (a leaking purifier links a purifier, not a phone).
            choices = all_products if lines == ANY else [] if lines is None else \
                [pid for line in lines for pid in products_by_category.get(line, ())]
            product = rng.choice(choices) if choices else None
            cause = next(c for c in cfg["causes"][cat_code] if c.code == f"demo-{cause_code}")
            tickets.append(Ticket(
                number=f"{TICKET_PREFIX}{n + 1:07d}", customer_id=cid, type=ttype, channel=_pick(rng, CHANNELS),
                category=cfg["categories"][cat_code],
                root_cause=cause if resolved else None, priority=prio, status=status,
                subject=subject, description="", queue=queue, assignee_id=assignee,
                routing_note="", product_id=product, store_id=store[0] if store else None, value_tier=t_tier,
                opened_at=opened, sla_policy=policy, first_response_due=tg.first_response_due,
                resolution_due=tg.resolution_due, response_warn_at=tg.response_warn_at,
                resolution_warn_at=tg.resolution_warn_at, first_response_at=responded, resolved_at=resolved,
                closed_at=resolved + dt.timedelta(days=3) if status == "closed" and resolved else None,
                # A pending ticket has waited for the customer since halfway between its first reply and now.
                sla_paused_at=(responded + (now - responded) / 2).replace(microsecond=0)
                if status == "pending" and responded else None,
                resolution="已处理并回访确认" if resolved else "", source=ctx.source, external_id=f"demo-t{n + 1}"))
            plans.append((csat, area == "rural", store, product, reply))
        Ticket.objects.bulk_create(tickets, batch_size=2000)
        tickets = list(Ticket.objects.filter(source=ctx.source, number__startswith=TICKET_PREFIX).order_by("number"))

        messages, surveys, answers_plan, work_orders, events = [], [], [], [], []
        tech_by_region: dict[int, list] = {}
        for tech_id, region_id in Technician.regions.through.objects.filter(
                technician__in=cfg["technicians"]).values_list("technician_id", "region_id"):
            tech_by_region.setdefault(region_id, []).append(next(x for x in cfg["technicians"] if x.pk == tech_id))
        Interaction = apps.get_model("customers", "Interaction")  # bulk timeline rows (services write one each)
        replies = dict(CANNED)
        for t, (csat, rural, store, product, reply) in zip(tickets, plans, strict=True):
            opened = deferred(gettext_noop("Ticket %(number)s opened: %(subject)s"), number=t.number,
                              subject=t.subject)
            events.append(Interaction(customer_id=t.customer_id, kind="ticket", occurred_at=t.opened_at,
                                      subject=str(opened)[:200], ref_type="service.ticket", ref_id=t.pk,
                                      payload={"number": t.number, "status": t.status, "type": t.type,
                                               DEFERRED_KEY: opened.stored()},
                                      source=ctx.source))
            if t.first_response_at:
                messages.append(TicketMessage(ticket=t, kind="reply", author_id=t.assignee_id,
                                              body=replies[reply]))
            if t.resolved_at:
                resolved = deferred(gettext_noop("Ticket %(number)s: %(status)s"), number=t.number,
                                    status=ref("service.ticket.status", "resolved"))
                events.append(Interaction(customer_id=t.customer_id, kind="ticket", occurred_at=t.resolved_at,
                                          subject=str(resolved), ref_type="service.ticket", ref_id=t.pk,
                                          payload={"number": t.number, "status": "resolved",
                                                   DEFERRED_KEY: resolved.stored()}, source=ctx.source))
                answered = rng.random() < 0.6
                sent = t.resolved_at + dt.timedelta(minutes=10)
                answered_at = min(sent + dt.timedelta(hours=rng.uniform(1, 48)), now) if answered else None
                surveys.append(Survey(customer_id=t.customer_id, trigger="resolution", ticket=t,
                                      agent_id=t.assignee_id, product_id=product, store_id=store[0] if store else None,
                                      sent_at=sent, answered_at=answered_at, csat=csat if answered else None,
                                      nps=min(10, max(0, csat * 2 + rng.randint(-2, 1))) if answered else None,
                                      source=ctx.source))
                answers_plan.append(csat if answered else None)
            if t.type == "repair" and reply == VISIT_REPLY and cfg["technicians"]:
                region = store[2] if store else None
                techs = tech_by_region.get(region, []) if region else cfg["technicians"]
                tech = rng.choice(techs) if techs else None
                # A visiting-hours window in local time 1–3 days after the ticket (service.rules: not a UTC hour).
                day = timezone.localtime(t.opened_at).date() + dt.timedelta(days=rng.randint(1, 3))
                start, end = visit_window(day, rng.randint(9, 16))
                done = t.resolved_at is not None
                work_orders.append(WorkOrder(
                    number=f"{WORK_ORDER_PREFIX}{len(work_orders) + 1:07d}", customer_id=t.customer_id, ticket=t,
                    kind="repair", status="signed_off" if done else "assigned" if tech else "scheduled",
                    product_id=product, address=f"{store[1] if store else ''}演示路 {rng.randint(1, 999)} 号",
                    city=store[1] if store else "", region_id=region, rural=rural, window_start=start,
                    window_end=end, skill="appliances", technician=tech,
                    report="更换故障部件，试机正常" if done else "", completed_at=start + dt.timedelta(hours=1) if done
                    else None, signed_off_by="顾客本人" if done else "",
                    signed_off_at=start + dt.timedelta(hours=1, minutes=10) if done else None, source=ctx.source))
        TicketMessage.objects.bulk_create(messages, batch_size=2000)
        # created_at is set on insert: the demo's first replies are dated when the ticket was first answered.
        TicketMessage.objects.filter(ticket__source=ctx.source, kind="reply").update(created_at=Subquery(
            Ticket.objects.filter(pk=OuterRef("ticket_id")).values("first_response_at")[:1]))
        surveys += _purchase_surveys(rng, ctx, customers, now)
        Survey.objects.bulk_create(surveys, batch_size=2000)
        WorkOrder.objects.bulk_create(work_orders, batch_size=2000)
        # Attribute scores around each survey's CSAT; both indexes computed as the service does.
        weights = {a.code: a.weight for a in cfg["attributes"]}
        saved = list(Survey.objects.filter(source=ctx.source).order_by("id"))
        answers, updates = [], []
        for s in saved:
            if s.csat is None:
                continue
            scores = {a.code: min(5, max(1, s.csat + rng.choice([-1, 0, 0, 0, 1]))) for a in cfg["attributes"]}
            s.simple_index, s.weighted_index = satisfaction_indexes(scores, weights)
            updates.append(s)
            answers += [SurveyAnswer(survey=s, attribute=a, score=scores[a.code], weight=a.weight)
                        for a in cfg["attributes"]]
            answered = deferred(gettext_noop("Survey answered: satisfaction %(csat)s/5"), csat=s.csat)
            events.append(Interaction(customer_id=s.customer_id, kind="survey", occurred_at=s.answered_at,
                                      subject=str(answered), ref_type="service.survey", ref_id=s.pk, direction="in",
                                      payload={"csat": s.csat, "nps": s.nps, DEFERRED_KEY: answered.stored()},
                                      source=ctx.source))
        Survey.objects.bulk_update(updates, ["simple_index", "weighted_index"], batch_size=2000)
        SurveyAnswer.objects.bulk_create(answers, batch_size=5000)
        parts = [WorkOrderPart(work_order=w, description="主板", quantity=1, unit_price=Decimal("180.00"))
                 for w in WorkOrder.objects.filter(source=ctx.source, status="signed_off")]
        WorkOrderPart.objects.bulk_create(parts, batch_size=2000)
        Interaction.objects.bulk_create(events, batch_size=5000)
    # What the periodic SLA check would have done by now: warnings, breaches and escalations of the open tickets.
    checked = run_sla_check(now=ctx.now)
    return {"tickets": len(tickets), "surveys": len(surveys), "answered": len(updates),
            "work orders": len(work_orders), "SLA breaches": checked.breaches}


def delete(using: str = "default") -> None:
    """Remove the demo's service rows (before the demo customers, users and catalog go) and anything of ours
    that points at demo customers, products, stores, orders or regions."""
    source = "demo"
    with transaction.atomic(using=using):
        def db(model):
            return model.objects.using(using)

        demo_tickets = db(Ticket).filter(customer__source=source)
        db(SLAEvent).filter(ticket__in=demo_tickets).delete()
        db(TicketMessage).filter(ticket__in=demo_tickets).delete()
        for att in db(TicketAttachment).filter(ticket__in=demo_tickets):
            att.file.delete(save=False)
            att.delete()
        db(WorkOrderPart).filter(work_order__customer__source=source).delete()
        db(WorkOrder).filter(customer__source=source).delete()
        db(SurveyAnswer).filter(survey__customer__source=source).delete()
        db(Survey).filter(customer__source=source).delete()
        db(WorkOrder).filter(ticket__in=demo_tickets).update(ticket=None)
        db(Survey).filter(ticket__in=demo_tickets).update(ticket=None)
        demo_tickets.delete()
        # Other rows of ours that point at the demo catalog and organization (deleted by raw SQL afterwards).
        for model in (Ticket, Survey, WorkOrder, WorkOrderPart, RoutingRule):
            fields = {f.name for f in model._meta.get_fields()}
            for name in ("product", "store", "order", "region"):
                if name in fields:
                    qs = db(model).filter(**{f"{name}__source": source})
                    if model is RoutingRule:
                        qs.delete()
                    else:
                        qs.update(**{name: None})
        db(Technician.regions.through).filter(region__source=source).delete()
        db(Technician).filter(name__in=[f"{n}（{r}）" for n in TECH_NAMES
                                        for r in db(apps.get_model("commerce", "Region")).filter(source=source)
                                        .values_list("name", flat=True)]).delete()
        db(Technician).filter(phone__startswith="1390000", regions__isnull=True).delete()
        db(RoutingRule).filter(queue__code__in=[q[0] for q in QUEUES]).delete()
        db(Queue).filter(code__in=[q[0] for q in QUEUES], tickets__isnull=True).delete()
        db(RootCause).filter(code__startswith="demo-").delete()
        db(Category).filter(code__startswith="demo-").delete()
        db(SurveyAttribute).filter(code__startswith="demo-", answers__isnull=True).delete()
        db(CannedReply).filter(title__in=[t for t, _b in CANNED]).delete()
        db(KnowledgeArticle).filter(title__in=[t for t, _b, _k in ARTICLES]).delete()
        db(SLAPolicy).filter(calendar__name=CALENDAR).delete()
        db(SLAPolicy).filter(name__startswith="演示 ").delete()
        db(BusinessCalendar).filter(name=CALENDAR).delete()


def _purchase_surveys(rng: random.Random, ctx, customers, now) -> list[Survey]:
    """Surveys after a purchase for about 2 % of the buyers. A satisfied customer's survey more often follows an
    earlier order (so a later purchase exists); otherwise it follows the latest order."""
    buyers = [c for c in customers if c[5] is not None]
    picked = sorted(rng.sample(buyers, min(len(buyers), max(1, len(customers) // 50)))) if buyers else []
    orders: dict[int, list] = {}
    ids = [c[0] for c in picked]
    for i in range(0, len(ids), 5000):  # bounded IN lists
        for row in (Order.objects.filter(customer_id__in=ids[i:i + 5000]).exclude(status="cancelled")
                    .values_list("customer_id", "id", "ordered_at", "store_id").order_by("customer_id", "ordered_at")):
            orders.setdefault(row[0], []).append(row)
    out = []
    for c in picked:
        rows = orders.get(c[0])
        if not rows:
            continue
        csat = rng.choices([1, 2, 3, 4, 5], weights=[4, 6, 15, 35, 40])[0]
        earlier = len(rows) > 1 and rng.random() < REPURCHASE_P[csat]
        _cid, order_id, ordered_at, store_id = rng.choice(rows[:-1]) if earlier else rows[-1]
        sent = ordered_at + dt.timedelta(hours=6)
        if sent >= now:
            continue
        answered = rng.random() < 0.55
        answered_at = min(sent + dt.timedelta(hours=rng.uniform(1, 30)), now) if answered else None
        if earlier and answered_at is not None and answered_at >= rows[-1][2]:
            answered_at = sent  # answered before the next purchase, as planned
        out.append(Survey(customer_id=c[0], trigger="purchase", order_id=order_id, store_id=store_id, sent_at=sent,
                          answered_at=answered_at, csat=csat if answered else None,
                          nps=min(10, max(0, csat * 2 + rng.randint(-2, 1))) if answered else None,
                          source=ctx.source))
    return out
