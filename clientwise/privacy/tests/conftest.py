"""Privacy fixtures: one person with data in every app (made through the apps' own services where they exist),
a second customer who must never be touched, and files on disk in a temporary VAR_DIR."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

# Everything personal about the person, in every form it is stored: after an erasure none of these may be found in
# any table (test_erasure.py scans every text and JSON column of every model).
PERSON_TEXTS = ("张三丰", "13812345678", "138 1234 5678", "zhang.sf@example.com", "zhangsf88", "文三路100号",
                "330106198005011234", "M2025000001", "POS-778899", "太极拳爱好者", "想买冰箱", "周二上午在家")


@dataclass
class World:
    person: object
    other: object
    dup: object
    order_total: Decimal
    order_ids: list
    var: Path
    import_job: object = None
    attachment_path: Path | None = None
    snapshot: Path | None = None
    oof: Path | None = None
    extra: dict = field(default_factory=dict)


def _csv_upload(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


@pytest.fixture
def var_dir(settings, tmp_path):
    from django.utils.functional import empty

    from clientwise.service.models import attachment_storage

    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    settings.ANALYTICS_DIR = str(settings.VAR_DIR / "analytics")
    attachment_storage._wrapped = empty  # the lazy storage picks up the new VAR_DIR
    yield settings.VAR_DIR
    attachment_storage._wrapped = empty


@pytest.fixture
def world(org, var_dir, django_capture_on_commit_callbacks) -> World:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from clientwise.accounts.models import IdempotencyKey
    from clientwise.analytics.models import CustomerScore, LabelModel, LabelScore, ScoringBatch
    from clientwise.commerce import services as commerce
    from clientwise.commerce.tests.factories import ChannelFactory, ProductFactory, StoreFactory
    from clientwise.customers import services as customers
    from clientwise.dataio import services as dataio
    from clientwise.dataio.identity.services import merge
    from clientwise.dataio.quality.models import CustomerQuality, QualityRun
    from clientwise.sales import services as sales
    from clientwise.service import services as service
    from clientwise.service.models import Survey
    from clientwise.service.tests.conftest import make_desk

    admin = org.admin
    person = customers.create_customer(
        actor=admin, data={"name": "张三丰", "birth_date": "1980-05-01", "city": "杭州", "province": "浙江",
                           "id_number": "330106198005011234", "member_number": "M2025000001", "gender": "m",
                           "notes": "太极拳爱好者", "owner_id": org.rep_a.pk, "team_id": org.team_a.pk},
        mobile="13812345678", email="zhang.sf@example.com", source="pos", external_id="POS-778899")
    other = customers.create_customer(actor=admin, data={"name": "李四", "owner_id": org.rep_b.pk,
                                                         "team_id": org.team_b.pk},
                                      mobile="13900001111", email="lisi@example.com")
    customers.add_contact_point(actor=admin, customer_id=person.pk, kind="wechat", value="zhangsf88")
    customers.add_contact_point(actor=admin, customer_id=person.pk, kind="address", value="杭州市西湖区文三路100号")
    customers.set_consent(actor=admin, customer_id=person.pk, channel="sms", purpose="marketing", status="granted")
    customers.log_interaction(actor=admin, customer_id=person.pk, kind="call", subject="回访",
                              body="张三丰说周二上午在家")

    # A duplicate record of the same person, merged into it (its profile lives on in the merge snapshot).
    dup = customers.create_customer(actor=admin, data={"name": "张三丰", "owner_id": org.rep_a.pk,
                                                       "team_id": org.team_a.pk}, mobile="138 1234 5678")
    merge(actor=admin, survivor_id=person.pk, duplicate_ids=[dup.pk])

    # Purchases: two orders and a return.
    store, channel = StoreFactory(name="西湖店"), ChannelFactory()
    p1, p2 = ProductFactory(list_price=Decimal("3999.00")), ProductFactory(list_price=Decimal("49.90"))
    commerce.create_order(actor=admin, customer_id=person.pk, store_id=store.pk, channel_id=channel.pk,
                               lines=[{"product_id": p1.pk, "quantity": 1}, {"product_id": p2.pk, "quantity": 2}],
                               ordered_at=timezone.now() - dt.timedelta(days=30))
    o2 = commerce.create_order(actor=admin, customer_id=person.pk, store_id=store.pk,
                               lines=[{"product_id": p2.pk, "quantity": 1}], ordered_at=timezone.now())
    commerce.create_return(actor=admin, order_id=o2.pk, lines=[{"order_line_id": o2.lines.get().pk, "quantity": 1}],
                           reason="张三丰说想买冰箱不要这个")
    commerce.create_order(actor=admin, customer_id=other.pk, lines=[{"product_id": p2.pk, "quantity": 1}])

    # Sales: an unconverted lead with the same mobile, an opportunity, a note.
    sales.create_lead(actor=admin, data={"name": "张三丰", "mobile": "13812345678", "message": "想买冰箱"})
    sales.create_opportunity(actor=admin, data={"customer_id": person.pk, "name": "张三丰 冰箱", "amount": "5000",
                                                "expected_close": "2027-01-15", "next_step": "周二上午在家时上门"})
    sales.add_note(actor=admin, customer_id=person.pk, body="张三丰是太极拳爱好者")

    # Service: a ticket with a message and an attachment, a work order, an answered survey.
    make_desk(org)
    ticket = service.create_ticket(actor=org.agent, customer_id=person.pk, type="complaint", channel="phone",
                                   subject="张三丰投诉", description="13812345678 打不通")
    service.add_message(actor=org.agent, ticket_id=ticket.pk, kind="customer", body="我周二上午在家")
    att = service.add_attachment(actor=org.agent, ticket_id=ticket.pk,
                                 upload=SimpleUploadedFile("invoice.png", b"\x89PNG\r\n\x1a\nfake", "image/png"))
    service.create_work_order(actor=org.agent, customer_id=person.pk, kind="repair", address="杭州市西湖区文三路100号",
                              window_start=timezone.now() + dt.timedelta(days=1),
                              window_end=timezone.now() + dt.timedelta(days=1, hours=2), notes="周二上午在家",
                              auto_assign=False)
    Survey.objects.create(customer=person, trigger="resolution", ticket=ticket, sent_at=timezone.now(),
                          answered_at=timezone.now(), csat=2, comment="张三丰不满意")

    # Analytics: a score, an own-label model score with its out-of-fold file.
    batch = ScoringBatch.objects.create(as_of=dt.date.today(), status="done", is_current=True)
    CustomerScore.objects.create(batch=batch, customer=person, as_of=batch.as_of, value_tier="A", churn_probability=0.3)
    CustomerScore.objects.create(batch=batch, customer=other, as_of=batch.as_of, value_tier="C")
    models_dir = var_dir / "labels" / "models"
    models_dir.mkdir(parents=True)
    model = LabelModel.objects.create(name="contract_churn", id_column="member", id_kind="member_number",
                                      label_column="churned", positive_label="yes", negative_label="no",
                                      model_file=str(models_dir / "contract_churn-1.txt"))
    LabelScore.objects.create(label_model=model, customer=person, probability=0.8)
    oof = models_dir / "contract_churn-1.oof.parquet"
    pq.write_table(pa.table({"id": ["M2025000001", "M0000000777"], "probability": [0.8, 0.1]}), oof)

    # Data quality row.
    run = QualityRun.objects.create(status="done")
    CustomerQuality.objects.create(customer=person, run=run, computed_at=timezone.now(), completeness=80)

    # An import: the person's row is rejected (bad birth date) and stays in quarantine and in the file.
    job = dataio.create_job(actor=admin, kind="customers", source="crm", upload=_csv_upload(
        "customers.csv", "姓名,手机,生日\n王五,13700002222,1990-01-01\n张三丰,13812345678,1980-13-45\n赵六,13600003333,\n"))
    dataio.run_import(job_id=job.pk)
    job.refresh_from_db()

    # An analytics snapshot with the person's row.
    snap = var_dir / "analytics" / "20260101T000000000000"
    snap.mkdir(parents=True)
    pq.write_table(pa.table({"id": [person.pk, other.pk], "gender": ["m", ""], "city": ["杭州", ""]}),
                   snap / "customers.parquet")
    pq.write_table(pa.table({"customer_id": [person.pk, other.pk], "recency": [3.0, 40.0]}),
                   snap / "churn_features.parquet")
    (snap / "manifest.json").write_text(json.dumps({"rows": {"customers": 2}}))

    # A stored API response (Idempotency-Key replay) that holds the person's mobile.
    IdempotencyKey.objects.create(user=admin, key="k1", fingerprint="f", status_code=201,
                                  response_body=json.dumps({"id": person.pk, "name": "张三丰",
                                                            "mobile": "+8613812345678"}).encode(),
                                  content_type="application/json")
    IdempotencyKey.objects.create(user=admin, key="k2", fingerprint="f", status_code=201,
                                  response_body=json.dumps({"id": other.pk, "name": "李四"}).encode())

    person.refresh_from_db()
    from clientwise.commerce.models import Order

    orders = Order.objects.filter(customer=person)
    return World(person=person, other=other, dup=dup, order_total=sum(o.amount for o in orders),
                 order_ids=sorted(o.pk for o in orders), var=var_dir, import_job=job,
                 attachment_path=var_dir / "service" / "attachments" / att.file.name, snapshot=snap, oof=oof)
