"""The fixture world of the route matrix (test_route_matrix.py): a small business with one record of every kind
a route can name, made through the services wherever one exists.

Who is who:
  region East → branch Shanghai → teams A and B.
  admin (superuser), manager_a (manager, team A), rep_a and rep_a2 (sales reps, team A), agent (service agent,
  team A), marketer, analyst, norole (no role); rep_b (sales rep, team B) and manager_b (manager, team B) are the
  users who must not see team A's records.
Every record a route names belongs to team A (owner rep_a), so manager_a and rep_a may open it and rep_b and
manager_b get the same 404 as for a missing record. Team B has its own customer, order, lead and opportunity, so
the lists of every scope hold rows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from django.utils import timezone

from clientwise.core.testing import TEST_PASSWORD

# The subjects the matrix asks with: the user's attribute name in the world (None: anonymous).
ROLE_SUBJECTS = {
    "admin": "admin", "manager": "manager_a", "sales_rep": "rep_a", "service_agent": "agent",
    "marketer": "marketer", "analyst": "analyst",
}
HIDDEN_SUBJECTS = {"rep_b": "sales_rep", "manager_b": "manager"}  # subject → the role it has
SUBJECTS = ("anonymous", "norole", *ROLE_SUBJECTS, *HIDDEN_SUBJECTS)
NOW = timezone.now


def _users(w) -> None:
    from clientwise.accounts.models import Team
    from clientwise.accounts.services import create_user

    w.region_team = Team.objects.create(name="East", kind=Team.Kind.REGION)
    w.branch_team = Team.objects.create(name="Shanghai", kind=Team.Kind.BRANCH, parent=w.region_team)
    w.team_a = Team.objects.create(name="Team A", parent=w.branch_team)
    w.team_b = Team.objects.create(name="Team B", parent=w.branch_team)

    def user(name, role, team=None, **kw):
        return create_user(username=name, password=TEST_PASSWORD, role=role, team=team, display_name=name,
                           email=f"{name}@example.com", **kw)

    w.admin = user("admin", "admin", is_superuser=True)
    w.manager_a = user("manager_a", "manager", w.team_a)
    w.rep_a = user("rep_a", "sales_rep", w.team_a)
    w.rep_a2 = user("rep_a2", "sales_rep", w.team_a)
    w.agent = user("agent", "service_agent", w.team_a)
    w.marketer = user("marketer", "marketer")
    w.analyst = user("analyst", "analyst")
    w.norole = user("norole", "")
    w.rep_b = user("rep_b", "sales_rep", w.team_b)
    w.manager_b = user("manager_b", "manager", w.team_b)


def _catalog(w) -> None:
    from clientwise.commerce.models import Brand, Channel, ExchangeRate, Unit
    from clientwise.commerce.tests.factories import (
        BranchFactory,
        CategoryFactory,
        ProductFactory,
        RegionFactory,
        StoreFactory,
    )

    w.region = RegionFactory(code="EAST", name="华东")
    w.branch = BranchFactory(code="SH", name="上海分公司", region=w.region)
    w.store = StoreFactory(code="SH001", name="徐汇店", branch=w.branch)
    w.store2 = StoreFactory(code="SH002", name="静安店", branch=w.branch)
    w.channel = Channel.objects.create(code="store", name="门店", kind=Channel.Kind.STORE)
    w.category = CategoryFactory(code="PHONE", name="手机")
    w.brand = Brand.objects.create(name="Acme")
    w.unit = Unit.objects.create(code="pcs", name="件")
    w.rate = ExchangeRate.objects.create(currency="USD", day=dt.date(2025, 1, 1), rate=Decimal("7.1"))
    w.product = ProductFactory(sku="PH-1", name="Phone X", category=w.category, list_price=Decimal("3999.00"),
                               unit_cost=Decimal("2800.00"))
    w.product2 = ProductFactory(sku="CS-1", name="Case", category=w.category, list_price=Decimal("49.90"),
                                unit_cost=Decimal("12.35"))


def _customers(w) -> None:
    from clientwise.customers import services as cs

    w.cust_a = cs.create_customer(actor=w.rep_a, data={"name": "张伟", "city": "上海"}, mobile="13812345678",
                                  email="zhangwei@example.com", tags=["VIP"])
    w.cust_a2 = cs.create_customer(actor=w.rep_a, data={"name": "张玮", "city": "上海"}, mobile="13812345678")
    w.cust_a3 = cs.create_customer(actor=w.rep_a2, data={"name": "王芳"}, mobile="13900001111")
    w.cust_a4 = cs.create_customer(actor=w.rep_a, data={"name": "赵磊"}, mobile="13900002222")
    w.cust_b = cs.create_customer(actor=w.rep_b, data={"name": "李娜"}, mobile="13700002222")
    w.contact = cs.add_contact_point(actor=w.rep_a, customer_id=w.cust_a.pk, kind="wechat", value="zhangwei_wx")
    cs.set_consent(actor=w.rep_a, customer_id=w.cust_a.pk, channel="sms", purpose="marketing", status="granted")
    cs.log_interaction(actor=w.rep_a, customer_id=w.cust_a.pk, kind="call", subject="Asked about a case")
    w.attribute = cs.define_attribute(actor=w.admin, key="shoe_size", label="Shoe size", type="number")


def _orders(w) -> None:
    from clientwise.commerce.services import create_order, create_return

    at = NOW() - dt.timedelta(days=3)

    def order(actor, customer, *lines, days=3):
        return create_order(actor=actor, customer_id=customer.pk, store_id=w.store.pk, channel_id=w.channel.pk,
                            lines=[{"product_id": p.pk, "quantity": q} for p, q in lines],
                            ordered_at=NOW() - dt.timedelta(days=days))

    w.order = order(w.rep_a, w.cust_a, (w.product, 1), (w.product2, 2))
    w.order2 = order(w.rep_a, w.cust_a, (w.product2, 1), days=40)
    w.order_a2 = order(w.rep_a, w.cust_a2, (w.product, 1), days=10)
    w.order_b = order(w.rep_b, w.cust_b, (w.product2, 1))
    line = w.order2.lines.first()
    create_return(actor=w.admin, order_id=w.order2.pk, lines=[{"order_line_id": line.pk, "quantity": 1}],
                  reason="broken", returned_at=at)


def _identity(w) -> None:
    from clientwise.customers import services as cs
    from clientwise.dataio.identity import services as ids
    from clientwise.dataio.identity.models import DuplicateCandidate

    a, b = sorted((w.cust_a.pk, w.cust_a2.pk))
    w.pair = DuplicateCandidate.objects.create(
        customer_a_id=a, customer_b_id=b, probability=0.97, match_weight=12.0,
        evidence={"mobile": {"label": "same mobile", "weight": 14.0, "bf": 16384.0}})
    keep = cs.create_customer(actor=w.rep_a, data={"name": "陈静"}, mobile="13600003333")
    gone = cs.create_customer(actor=w.rep_a, data={"name": "陈晶"}, mobile="13600003333")
    w.merge = ids.merge(actor=w.manager_a, survivor_id=keep.pk, duplicate_ids=[gone.pk])


def _analytics(w) -> None:
    from clientwise.analytics.models import CustomerScore, LabelScore, ModelRun, ScoringBatch

    today = timezone.localdate()
    w.batch = ScoringBatch.objects.create(as_of=today, status="done", is_current=True, finished_at=NOW(),
                                          customers=5, scores=5)
    w.model_run = ModelRun.objects.create(batch=w.batch, model="rfm", status="done", as_of=today,
                                          finished_at=NOW(), parameters={"bins": 5}, metrics={}, rows_in=5,
                                          rows_out=5)
    for customer, tier, churn in ((w.cust_a, "A", 0.42), (w.cust_a2, "B", 0.1), (w.cust_b, "A", 0.6)):
        CustomerScore.objects.create(batch=w.batch, customer=customer, as_of=today, value_tier=tier,
                                     churn_probability=churn, clv=Decimal("5000.00"), p_alive=0.8,
                                     rfm_r=4, rfm_f=3, rfm_m=5, rfm_segment="loyal", next_action="retain",
                                     value_at_risk=Decimal("2100.00"))
    w.label_model = _train_label_model(w)
    for customer, p in ((w.cust_a, 0.8), (w.cust_b, 0.3)):
        LabelScore.objects.create(label_model=w.label_model, customer=customer, probability=p)


def labels_csv(w, rows: int = 60) -> str:
    """A labelled table with a known signal (plan and tenure), its first ids the world's customers."""
    ids = [str(pk) for pk in w.customer_ids] + [f"X{i:03d}" for i in range(rows - len(w.customer_ids))]
    lines = ["id,plan,tenure,churned"]
    for i, ident in enumerate(ids):
        plan = ("monthly", "yearly", "two-year")[i % 3]
        tenure = (i * 7) % 60
        churned = "yes" if (plan == "monthly" and tenure < 40) or i % 11 == 0 else "no"
        lines.append(f"{ident},{plan},{tenure},{churned}")
    return "\n".join(lines) + "\n"


def _train_label_model(w):
    from clientwise.analytics import label_services

    path = label_services.label_dir() / "matrix-labels.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(labels_csv(w), encoding="utf-8")
    try:
        return label_services.train_label_model(actor=w.analyst, path=path, file_name="labels.csv", name="will-churn",
                                                id_column="id", label_column="churned", id_kind="customer_id",
                                                folds=2)
    finally:
        path.unlink(missing_ok=True)


def _quality(w) -> None:
    from clientwise.dataio.quality.services import run_quality

    w.quality_run = run_quality(actor=w.admin)


def _imports(w) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from clientwise.dataio import services as ds

    upload = SimpleUploadedFile("customers.csv", "name,mobile\n孙丽,13500004444\n,bad\n".encode(),
                                content_type="text/csv")
    w.import_job = ds.create_job(actor=w.manager_a, kind="customers", upload=upload, source="matrix")


def _reports(w) -> None:
    from clientwise.reports import services as rs

    spec = {"fact": "sales", "measures": ["revenue", "buyers"], "rows": ["region"], "engine": "database"}
    w.report = rs.save_report(actor=w.manager_a, name="Revenue by region", spec=spec, shared_roles=["sales_rep"])
    w.report_private = rs.save_report(actor=w.manager_a, name="Private", spec=spec)
    w.schedule = rs.create_schedule(actor=w.manager_a, report_id=w.report.pk, recipients=["boss@example.com"])
    w.report_spec = spec


def _sales(w) -> None:
    from clientwise.sales import services as ss
    from clientwise.sales.models import Activity

    w.pipeline = ss.default_pipeline()
    w.stages = list(w.pipeline.stages.order_by("position"))
    w.lead = ss.create_lead(actor=w.rep_a, data={"name": "周杰", "company": "周氏贸易", "mobile": "13300005555"})
    w.lead2 = ss.create_lead(actor=w.rep_a, data={"name": "吴敏", "company": "吴氏", "mobile": "13300006666"})
    w.lead_b = ss.create_lead(actor=w.rep_b, data={"name": "郑爽", "mobile": "13300007777"})
    w.opportunity = ss.create_opportunity(actor=w.rep_a, data={
        "customer_id": w.cust_a.pk, "name": "Phones for the office", "amount": "12000.00",
        "expected_close": (timezone.localdate() + dt.timedelta(days=30)).isoformat()})
    w.opportunity_b = ss.create_opportunity(actor=w.rep_b, data={
        "customer_id": w.cust_b.pk, "name": "Cases", "amount": "900.00",
        "expected_close": (timezone.localdate() + dt.timedelta(days=20)).isoformat()})
    w.activity = ss.create_activity(actor=w.rep_a, data={
        "kind": Activity.Kind.TASK, "subject": "Call back", "customer_id": w.cust_a.pk,
        "due_at": (NOW() + dt.timedelta(days=1)).isoformat()})
    ss.add_note(actor=w.rep_a, body="Prefers WeChat @manager_a", customer_id=w.cust_a.pk)
    w.key_account = ss.create_key_account(actor=w.rep_a, customer_id=w.cust_a.pk)
    w.goal = ss.add_account_goal(actor=w.rep_a, account_id=w.key_account.pk, data={"title": "Become preferred"})
    w.web_form = ss.create_web_form(actor=w.manager_a, name="Website")


def _service(w) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from clientwise.service import services as sv
    from clientwise.service.models import (
        AgentProfile,
        BusinessCalendar,
        Category,
        KnowledgeArticle,
        Queue,
        SLAPolicy,
        SurveyAttribute,
        Technician,
    )

    w.queue = Queue.objects.create(code="general", name="General", is_default=True,
                                   strategy=Queue.Strategy.LEAST_LOADED, escalation_manager=w.manager_a)
    w.calendar = BusinessCalendar.objects.create(name="Office", opens=dt.time(9), closes=dt.time(18),
                                                 workdays="12345")
    profile = AgentProfile.objects.create(user=w.agent, skills="appliances")
    profile.queues.set([w.queue])
    w.sla = SLAPolicy.objects.create(name="normal any", priority="normal", first_response_minutes=240,
                                     resolution_minutes=1440, calendar=w.calendar)
    w.service_category = Category.objects.create(code="repair", name="Repair")
    KnowledgeArticle.objects.create(title="Warranty terms", body="Two years on parts", keywords="warranty")
    SurveyAttribute.objects.create(code="speed", name="Speed", weight=1)
    w.technician = Technician.objects.create(name="Li Gong", skills="appliances")
    w.technician.regions.set([w.region])
    w.ticket = sv.create_ticket(actor=w.agent, customer_id=w.cust_a.pk, type="complaint", channel="phone",
                                subject="Phone overheats", description="Gets hot while charging")
    w.attachment = sv.add_attachment(actor=w.agent, ticket_id=w.ticket.pk,
                                     upload=SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64,
                                                               content_type="image/png"))
    w.ticket_b = sv.create_ticket(actor=w.agent, customer_id=w.cust_b.pk, type="inquiry", channel="phone",
                                  subject="Opening hours")
    w.survey = sv.send_purchase_survey(actor=w.agent, order_id=w.order.pk)
    w.survey_token = sv.survey_token(w.survey)
    w.work_order = sv.create_work_order(
        actor=w.agent, customer_id=w.cust_a.pk, kind="repair", address="徐汇区漕溪北路 1 号",
        window_start=NOW() + dt.timedelta(days=2), window_end=NOW() + dt.timedelta(days=2, hours=2),
        ticket_id=w.ticket.pk, region_id=w.region.pk, skill="appliances")


def _notifications(w) -> None:
    from clientwise.notifications import kinds
    from clientwise.notifications.models import Notification
    from clientwise.notifications.services import notify, target_for

    notify([w.rep_a], kinds.ASSIGNMENT, {"record": "ticket", "name": w.ticket.number, "detail": w.ticket.subject},
           target_for(w.ticket, "service:ticket"), actor=w.agent)
    w.notification = Notification.objects.get(recipient=w.rep_a, kind=kinds.ASSIGNMENT)


def _privacy(w) -> None:
    from clientwise.privacy import services as ps

    w.subject_request = ps.create_request(actor=w.admin, customer_id=w.cust_a.pk, kind="access",
                                          received_via="email")


def _marketing(w) -> None:
    from clientwise.marketing import services as ms

    w.audience = ms.create_audience(actor=w.marketer, name="上海客户", rule={
        "filters": [{"dimension": "customer_city", "op": "in", "values": ["上海"]}]})
    w.campaign = ms.create_campaign(actor=w.marketer, data={
        "name": "双十一", "audience_id": w.audience.pk, "channel": "sms", "variants": [{"body_zh": "{{ name }}您好"}]})


def build_world() -> SimpleNamespace:
    """Every record the routes name; see the module docstring for who may see what."""
    w = SimpleNamespace()
    _users(w)
    _catalog(w)
    _customers(w)
    w.customer_ids = [c.pk for c in (w.cust_a, w.cust_a2, w.cust_a3, w.cust_a4, w.cust_b)]
    _orders(w)
    _identity(w)
    _analytics(w)
    _quality(w)
    _imports(w)
    _reports(w)
    _sales(w)
    _service(w)
    _notifications(w)
    _privacy(w)
    _marketing(w)
    return w


def subject_user(w, subject: str):
    """The user behind a subject name (None for anonymous)."""
    if subject == "anonymous":
        return None
    return getattr(w, ROLE_SUBJECTS.get(subject, subject))
