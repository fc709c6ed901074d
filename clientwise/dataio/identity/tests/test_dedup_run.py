"""A small batch run on a generated demo business finds the injected duplicates (measured floors)."""

from __future__ import annotations

import pytest

from clientwise.dataio.identity import services
from clientwise.dataio.identity.models import DedupRun, DuplicateCandidate


@pytest.fixture
def demo(db):
    from clientwise.demo.generator import generate

    return generate(customers=2000, seed=42)


@pytest.fixture
def admin(demo):
    from clientwise.accounts.models import User

    return User.objects.get(username="admin")


def test_dedup_run_finds_injected_duplicates(demo, admin):
    run = services.run_dedup(threshold=0.9, evaluate=True)
    assert run.status == DedupRun.Status.DONE
    m = run.metrics
    # 2,000 customers with 2% injected duplicates: 40 true pairs. Measured: precision 1.0, recall 1.0 (0.975 before
    # issue 13 item 4's second pass: model weights and the duplicates' evidence, docs/dedup.md).
    assert m["true_pairs"] == 40
    assert m["precision"] >= 0.97 and m["recall"] >= 0.9, m
    assert run.counts["stored"] == m["predicted_pairs"] == DuplicateCandidate.objects.count()
    assert run.counts["records"] > 1900 and run.peak_memory_mb > 0
    assert set(run.seconds) >= {"extract", "train", "predict", "store", "total"}
    top = DuplicateCandidate.objects.order_by("-probability").first()
    assert top.probability >= 0.9 and top.customer_a_id < top.customer_b_id
    assert set(top.evidence) >= {"name", "mobile", "email", "birth_date", "place"}
    assert all(set(v) == {"label", "weight", "bf"} for v in top.evidence.values())

    # A rejected pair is never proposed again; pending pairs are replaced by the next run.
    services.reject_candidate(actor=admin, candidate_id=top.pk)
    again = services.run_dedup(threshold=0.9)
    assert again.counts["skipped_decided"] == 1
    assert DuplicateCandidate.objects.filter(status="pending").count() == m["predicted_pairs"] - 1
    assert DuplicateCandidate.objects.get(pk=top.pk).status == "rejected"


def test_auto_merge_above_threshold(demo, admin):
    run = services.run_dedup(actor=admin, threshold=0.9, auto_merge_above=0.999)
    merged = run.counts["auto_merged"]
    assert merged > 0
    assert DuplicateCandidate.objects.filter(status="merged", probability__gte=0.999).count() == merged
    assert not DuplicateCandidate.objects.filter(status="pending", probability__gte=0.999).exists()


def test_auto_merge_needs_a_merger(demo, admin):
    with pytest.raises(services.DomainError) as exc:
        services.run_dedup(actor=None, auto_merge_above=0.99)
    assert exc.value.status == 403
    with pytest.raises(services.ValidationFailed):
        services.run_dedup(threshold=1.5)
    assert DedupRun.objects.count() == 0


def test_a_small_clean_customer_base_runs_without_training_pairs(org):
    """No shared mobile, email or ID and no name+birth-date pair: Splink has nothing to train on, yet the
    run finishes with no candidates instead of failing (a new shop's first customers)."""
    from clientwise.customers.tests.factories import make_customer

    for i, name in enumerate(["张伟", "李娜", "王芳", "Alice Chen", "刘洋"]):
        make_customer(org.rep_a, name, mobile=f"1381234{i:04d}")
    run = services.run_dedup()
    assert run.status == DedupRun.Status.DONE and run.counts["records"] == 5
    assert DuplicateCandidate.objects.count() == 0


def test_an_import_that_created_customers_queues_a_dedup_run(org, settings, django_capture_on_commit_callbacks):
    from clientwise.customers.tests.factories import make_customer

    make_customer(org.rep_a, "张伟", mobile="13812345678")
    make_customer(org.rep_a, "张 伟", mobile="13812345678")
    # Other customers: the model learns how often fields agree between different people (u) from random pairs,
    # so a base of two records, one person, has nothing to learn it from.
    for i, name in enumerate(["李娜", "王芳", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴昊", "徐丽",
                              "孙强", "马超", "朱琳", "胡斌", "郭靖", "何平", "高峰", "林涛", "罗敏", "郑爽"]):
        make_customer(org.rep_a, name, mobile=f"1390000{i:04d}")
    settings.IDENTITY_DEDUP_AFTER_IMPORT = False
    assert services.dedup_after_import(created=5) is False
    settings.IDENTITY_DEDUP_AFTER_IMPORT = True
    assert services.dedup_after_import(created=0) is False
    with django_capture_on_commit_callbacks(execute=True):
        assert services.dedup_after_import(created=1) is True
    run = DedupRun.objects.get()
    assert run.status == DedupRun.Status.DONE and DuplicateCandidate.objects.filter(status="pending").count() == 1


def test_run_import_queues_the_search_when_it_created_customers(org, settings, django_capture_on_commit_callbacks,
                                                               monkeypatch):
    from clientwise.dataio.tests.helpers import csv_text, run

    calls = []
    monkeypatch.setattr(services, "dedup_after_import", lambda *, created: calls.append(created) or True)
    data = csv_text([["客户编号", "姓名", "手机"], ["C1", "张伟", "13812345678"], ["C2", "李娜", "13912345678"]])
    run(org.admin, "customers", "a.csv", data)
    run(org.admin, "customers", "a.csv", data)  # the re-import creates nothing; the hook decides
    assert calls == [2, 0]


def test_demo_duplicates_are_second_registrations(demo):
    """The generator's duplicate is a second record of one person (docs/dedup.md, "Demo duplicates"): it mostly
    shares a phone, email, birth date or the home address with its original, written its own way; only a few
    (DUP_UNLINKED_SHARE of those that would share none) carry nothing but name and place. Measured on this demo
    (40 pairs): 4 such pairs, 3 sharing the home address (at 20,000 customers 16 and 55 of 400; the generator
    before this model: 564 and 0 of 4,000 at 200,000)."""
    import duckdb

    from clientwise.dataio.identity import extract

    con = duckdb.connect()
    extract.extract_customers(con)
    shared = {"phone": "l.phone_last8 = r.phone_last8", "email": "l.email_local = r.email_local",
              "birth": "l.birth_date = r.birth_date", "address": "l.address = r.address"}
    truth = sorted(services.true_pairs())
    con.execute("CREATE TABLE truth (a BIGINT, b BIGINT)")
    con.executemany("INSERT INTO truth VALUES (?, ?)", truth)
    row = con.execute(f"""
        SELECT count(*), {', '.join(f'count(*) FILTER (WHERE coalesce({sql}, false))' for sql in shared.values())},
               count(*) FILTER (WHERE NOT ({' OR '.join(f'coalesce({sql}, false)' for sql in shared.values())}))
        FROM truth JOIN records l ON l.unique_id = a JOIN records r ON r.unique_id = b""").fetchone()
    total, by_kind, nothing = row[0], dict(zip(shared, row[1:5], strict=True)), row[5]
    assert total == 40
    assert by_kind["address"] >= 1, by_kind
    assert nothing <= 5, (nothing, by_kind)
