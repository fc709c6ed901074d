"""Models trained on own labels: label parsing, automatic encoding, cross-validation against naive baselines on a
generated telco-shaped table with a known signal (and on one without), and the CLI, API and page paths with
their error codes. The customers' scores follow the reader's visibility."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from clientwise.analytics import label_queries
from clientwise.analytics import labels as L
from clientwise.analytics.models import LabelModel, LabelScore
from clientwise.core.errors import DomainError
from clientwise.core.testing import assert_error, assert_permission_matrix


def telco(n: int, seed: int = 1, *, signal: bool = True) -> pd.DataFrame:
    """A table shaped like the public IBM Telco churn sample. With `signal`, churn follows a known logistic
    model of contract, tenure, monthly charges and payment method (no single column carries all of it);
    without, the label is a coin flip independent of every column. TotalCharges is text with " " for new
    customers, as in the original."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.21, 0.24])
    tenure = rng.integers(0, 73, n)
    monthly = np.round(rng.uniform(18, 118, n), 2)
    pay = rng.choice(["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"], n)
    if signal:
        logit = (-1.0 + 1.8 * (contract == "Month-to-month") - 1.2 * (contract == "Two year") - 0.05 * tenure
                 + 0.03 * (monthly - 65) + 0.8 * (pay == "Electronic check"))
        churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    else:
        churn = rng.random(n) < 0.3
    total = np.round(monthly * tenure, 2).astype(str).astype(object)
    total[tenure == 0] = " "
    return pd.DataFrame({
        "customerID": [f"T{i:05d}" for i in range(n)], "gender": rng.choice(["Male", "Female"], n),
        "SeniorCitizen": rng.integers(0, 2, n), "Partner": rng.choice(["Yes", "No"], n), "tenure": tenure,
        "PhoneService": rng.choice(["Yes", "No"], n, p=[0.9, 0.1]), "Contract": contract, "PaymentMethod": pay,
        "MonthlyCharges": monthly, "TotalCharges": total, "Churn": np.where(churn, "Yes", "No"),
    })


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


# --- Pure functions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("values,positive,expected", [
    (["Yes", "No", "yes", ""], "Yes", [1, 0, 1, -1]),
    ([1, 0, 0, 1.0], "1", [1, 0, 0, 1]),
    (["true", "false", "TRUE"], "true", [1, 0, 1]),
    ([True, False, None], "true", [1, 0, -1]),
    (["流失", "未流失", "未流失"], "流失", [1, 0, 0]),
    (["retained", "churned"], "churned", [0, 1]),
])
def test_parse_labels_known_words(values, positive, expected):
    labels = L.parse_labels(pd.Series(values, dtype=object))
    assert labels.y.tolist() == expected
    assert labels.positive.lower() == positive.lower()


def test_parse_labels_errors_and_named_positive():
    with pytest.raises(DomainError) as e:
        L.parse_labels(["a", "b", "c"])
    assert e.value.code == "label_not_binary"
    with pytest.raises(DomainError) as e:
        L.parse_labels(["Yes", "Yes", " "])
    assert e.value.code == "one_class"
    with pytest.raises(DomainError) as e:
        L.parse_labels(["gold", "silver"])  # no known word: the caller must say which
    assert (e.value.code, e.value.field) == ("invalid_positive", "positive")
    assert L.parse_labels(["gold", "silver", "Gold"], positive="gold").y.tolist() == [1, 0, 1]
    with pytest.raises(DomainError) as e:
        L.parse_labels(["gold", "silver"], positive="bronze")
    assert e.value.code == "invalid_positive"


def test_infer_features_and_encode():
    frame = telco(300)
    frame["note"] = [f"free text {i}" for i in range(300)]
    frame["country"] = "CN"
    features, dropped = L.infer_features(frame, id_column="customerID", label_column="Churn")
    kinds = {f.name: f.kind for f in features}
    assert kinds["TotalCharges"] == "number" and kinds["tenure"] == "number" and kinds["Contract"] == "category"
    assert {d.name: d.reason for d in dropped} == {"customerID": "id", "Churn": "label", "note": "identifier",
                                                   "country": "constant"}
    X = L.encode(frame, features)
    blank = frame["TotalCharges"].str.strip() == ""
    assert blank.any() and X.loc[blank, "TotalCharges"].isna().all() and X.loc[~blank, "TotalCharges"].notna().all()
    # A later table: an unseen category is the "other" code, a blank category is missing.
    later = frame.head(3).copy()
    later["Contract"] = ["Three year", "", "One year"]
    contract = next(f for f in features if f.name == "Contract")
    codes = L.encode(later, features)["Contract"].tolist()
    assert codes[0] == len(contract.categories) and np.isnan(codes[1])
    assert codes[2] == contract.categories.index("One year")
    with pytest.raises(DomainError) as e:
        L.encode(later.drop(columns=["tenure"]), features)
    assert e.value.code == "missing_column"


def _cv(frame):
    labels = L.parse_labels(frame["Churn"])
    features, _dropped = L.infer_features(frame, id_column="customerID", label_column="Churn")
    return L.cross_validate(L.encode(frame, features), labels.y, features)


def test_cross_validation_beats_baselines_on_a_known_signal():
    m = _cv(telco(3000)).metrics
    assert m["model"]["auc"] > 0.80
    assert m["model"]["auc"] > m["single_feature"]["auc"] + 0.05
    assert m["single_feature"]["feature"] in ("Contract", "tenure")  # the two strongest parts of the signal
    assert m["model"]["lift_top_decile"] > m["single_feature"]["lift_top_decile"] > 1.0
    assert m["prior"]["auc"] == 0.5 and m["model"]["brier"] < m["prior"]["brier"]
    assert m["beats_baseline"] is True and m["folds_won"] >= 4 and len(m["per_fold"]) == 5
    assert sum(r["n"] for r in m["model"]["calibration"]) == 3000
    # Calibrated enough to use as a probability: rows weighted gap between predicted and observed is small.
    gap = sum(r["n"] * abs(r["mean_predicted"] - r["observed"]) for r in m["model"]["calibration"]) / 3000
    assert gap < 0.05
    assert "beats" in L.verdict(m)


def test_cross_validation_says_so_when_nothing_predicts():
    m = _cv(telco(1000, seed=3, signal=False)).metrics
    assert m["beats_baseline"] is False
    assert abs(m["model"]["auc"] - 0.5) < 0.08
    assert "does not beat" in L.verdict(m)


def test_too_few_rows():
    frame = telco(200)
    with pytest.raises(DomainError) as e:
        _cv(frame.head(40))
    assert e.value.code == "too_few_rows"
    rare = frame.copy()
    rare["Churn"] = ["Yes"] * 5 + ["No"] * 195
    with pytest.raises(DomainError) as e:
        _cv(rare)
    assert e.value.code == "too_few_rows"


# --- Customers, CLI, API, page ------------------------------------------------------------------------------------


@pytest.fixture
def var_dir(tmp_path):
    with override_settings(VAR_DIR=tmp_path):
        yield tmp_path


@pytest.fixture
def customers(org):
    """Customers T00000-T00599 by external id: the first 500 owned by team A's rep, the rest by team B's."""
    from clientwise.customers.models import Customer

    Customer.objects.bulk_create([
        Customer(name=f"Telco {i}", external_id=f"T{i:05d}", source="billing",
                 owner=org.rep_a if i < 500 else org.rep_b, team=org.team_a if i < 500 else org.team_b)
        for i in range(600)])
    return org


def test_cli_train_and_apply(customers, var_dir, tmp_path):
    frame = telco(1500)
    path = tmp_path / "telco.csv"
    path.write_bytes(csv_bytes(frame))
    out = io.StringIO()
    call_command("train_model", str(path), name="contract_churn", id_column="customerID", label_column="Churn",
                 stdout=out)
    text = out.getvalue()
    model = LabelModel.objects.get(name="contract_churn")
    assert (model.rows, model.matched, model.id_kind, model.positive_label) == (1500, 600, "external_id", "Yes")
    assert Path(model.model_file).is_file() and str(var_dir) in model.model_file
    assert f"best single feature: {model.metrics['single_feature']['feature']}" in text
    assert "The model beats" in text
    assert f"{model.metrics['model']['auc']:.3f}" in text

    # Apply to the training table's matched customers (out-of-fold scores).
    out = io.StringIO()
    call_command("apply_model", "contract_churn", stdout=out)
    assert LabelScore.objects.filter(label_model=model).count() == 600
    assert "600 customers' scores stored, 900 rows matched no customer" in out.getvalue()

    # Apply to new rows (Parquet, no label column): scores replace the earlier ones; --out has every row.
    new = telco(700, seed=9).drop(columns=["Churn"])
    new["Contract"] = "Month-to-month"
    pq = tmp_path / "new.parquet"
    new.to_parquet(pq, index=False)
    out_csv = tmp_path / "scored.csv"
    call_command("apply_model", "contract_churn", str(pq), out=str(out_csv), stdout=io.StringIO())
    assert LabelScore.objects.filter(label_model=model).count() == 600
    scored = pd.read_csv(out_csv)
    assert len(scored) == 700 and scored["probability"].between(0, 1).all()
    from clientwise.analytics.label_services import load_booster

    expected = L.predict(load_booster(model), new, [L.Feature.from_dict(f) for f in model.features["features"]])
    stored = dict(LabelScore.objects.filter(label_model=model).values_list("customer__external_id", "probability"))
    assert stored["T00042"] == pytest.approx(expected[42])

    with pytest.raises(CommandError, match="model_name_taken"):
        call_command("train_model", str(path), name="contract_churn", id_column="customerID", label_column="Churn")
    with pytest.raises(CommandError, match="missing_column"):
        call_command("train_model", str(path), name="other", id_column="customerID", label_column="Churned")


def _upload(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def _train(client, data: bytes, name: str = "telco", file_name: str = "telco.csv", **fields):
    form = {"name": name, "id_column": "customerID", "label_column": "Churn", **fields,
            "file": _upload(data, file_name)}
    return client.client.post("/api/v1/analytics/label-models", form, headers=client.headers)


def test_api_permissions(customers, var_dir, api_client):
    data = csv_bytes(telco(300))
    counter = iter(range(100))
    assert_permission_matrix(
        api_client=api_client, org=customers, allowed=customers.analyst, allowed_status=201,
        denied_roles=("norole", "rep_a", "marketer", "manager_a"), watch=("analytics.LabelModel", "core.AuditLog"),
        call=lambda c: _train(c, data, name=f"m{next(counter)}"))


def test_api_train_apply_scores_and_errors(customers, var_dir, api_client, django_capture_on_commit_callbacks):
    client = api_client(customers.analyst)
    response = _train(client, csv_bytes(telco(1200)))
    assert response.status_code == 201, response.content[:300]
    body = response.json()
    assert body["metrics"]["beats_baseline"] is True and body["matched"] == 600
    assert body["metrics"]["model"]["auc"] > body["metrics"]["single_feature"]["auc"]
    model_id = body["id"]

    assert client.get("analytics/label-models").json()[0]["id"] == model_id
    assert client.get(f"analytics/label-models/{model_id}").json()["name"] == "telco"
    applied = client.client.post(f"/api/v1/analytics/label-models/{model_id}/apply", {}, headers=client.headers)
    assert applied.json() == {"model_id": model_id, "rows": 1200, "scored": 600, "unmatched": 600}
    page = client.get(f"analytics/label-models/{model_id}/scores", {"size": 100}).json()
    probs = [i["probability"] for i in page["items"]]
    assert len(probs) == 100 and probs == sorted(probs, reverse=True) and page["next_cursor"]

    # Bad input: a code and a message, never a server error.
    bad = [
        ("missing_column", _train(client, csv_bytes(telco(200)), name="x1", label_column="churn_flag")),
        ("one_class", _train(client, csv_bytes(telco(200).assign(Churn="No")), name="x2")),
        ("too_few_rows", _train(client, csv_bytes(telco(30)), name="x3")),
        ("unreadable_file", _train(client, b"PAR1 this is not parquet", name="x4", file_name="t.parquet")),
        ("label_not_binary", _train(client, csv_bytes(telco(200).assign(Churn=lambda f: f["tenure"])), name="x5")),
        ("model_name_taken", _train(client, csv_bytes(telco(200)), name="telco")),
        ("empty_file", _train(client, b"", name="x6")),
        ("invalid", _train(client, csv_bytes(telco(200)), name="Not A Slug")),
        ("invalid", _train(client, csv_bytes(telco(200)), name="x7", id_kind="phone")),
    ]
    for code, response in bad:
        assert_error(response, 400, code)
    assert LabelModel.objects.count() == 1
    no_match = telco(100).assign(customerID=lambda f: "Z" + f["customerID"])
    response = client.client.post(f"/api/v1/analytics/label-models/{model_id}/apply",
                                   {"file": _upload(csv_bytes(no_match), "new.csv")}, headers=client.headers)
    assert_error(response, 400, "no_match")
    assert_error(client.get("analytics/label-models/999999"), 404, "not_found")

    # Delete: the model, its scores and its files go; the name is free again.
    files = [Path(LabelModel.objects.get(pk=model_id).model_file)]
    files.append(files[0].with_suffix(".oof.parquet"))
    assert all(f.is_file() for f in files)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"analytics/label-models/{model_id}")
    assert response.status_code == 204
    assert not LabelModel.objects.exists() and not LabelScore.objects.exists()
    assert not any(f.exists() for f in files)
    assert _train(client, csv_bytes(telco(300)), name="telco").status_code == 201


def test_scores_follow_visibility(customers, var_dir, api_client):
    client = api_client(customers.admin)
    model_id = _train(client, csv_bytes(telco(1000))).json()["id"]
    client.client.post(f"/api/v1/analytics/label-models/{model_id}/apply", {}, headers=client.headers)
    model = LabelModel.objects.get(pk=model_id)
    assert label_queries.visible_label_scores(customers.admin, model).count() == 600
    mine = label_queries.visible_label_scores(customers.rep_a, model)
    assert mine.count() == 500 and not mine.filter(customer__owner=customers.rep_b).exists()
    assert sum(b["customers"] for b in label_queries.probability_bands(customers.rep_b, model)) == 100


def test_page_upload_pick_train_apply(customers, var_dir, web_client):
    client = web_client(customers.analyst)
    assert client.get("/analytics/own-models/").status_code == 200
    zh = client.get("/analytics/own-models/", headers={"Accept-Language": "zh-hans"})
    assert "自有标签模型" in zh.content.decode()
    assert web_client(customers.marketer).get("/analytics/own-models/").status_code == 403
    response = client.post("/analytics/own-models/upload/", {"file": _upload(csv_bytes(telco(800)), "telco.csv")})
    assert response.status_code == 200
    token = response.context["token"]
    assert response.context["form"]["id_column"] == "customerID"
    assert response.context["form"]["label_column"] == "Churn"
    # A wrong choice is shown on the same step with its code.
    response = client.post("/analytics/own-models/train/", {"token": token, "name": "t", "id_column": "customerID",
                                                            "label_column": "gender", "id_kind": "auto"})
    assert response.status_code == 400 and b"invalid_positive" in response.content
    response = client.post("/analytics/own-models/train/", {"token": token, "name": "page_model",
                                                            "id_column": "customerID", "label_column": "Churn",
                                                            "id_kind": "external_id"})
    model = LabelModel.objects.get(name="page_model")
    assert response.status_code == 302 and response["Location"] == f"/analytics/own-models/{model.pk}/"
    page = client.get(response["Location"])
    assert page.status_code == 200 and b'id="verdict"' in page.content and b"MonthlyCharges" in page.content
    zh = client.get(response["Location"], headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "模型优于最佳单一特征" in zh and "5 折分层交叉验证" in zh
    response = client.post(f"/analytics/own-models/{model.pk}/apply/", {})
    assert response.status_code == 302
    model.refresh_from_db()
    assert model.scored == 600
    page = client.get(f"/analytics/own-models/{model.pk}/")
    assert len(page.context["top"]) == 20 and sum(b["customers"] for b in page.context["bands"]) == 600
    response = client.post(f"/analytics/own-models/{model.pk}/delete/")
    assert response.status_code == 302 and not LabelModel.objects.filter(pk=model.pk).exists()
    # An unreadable upload is an error on the first step.
    response = client.post("/analytics/own-models/upload/", {"file": _upload(b"\x00\x01garbage", "t.xlsx")})
    assert response.status_code == 400 and b"alert-danger" in response.content


def test_scores_are_a_report_dimension(customers, var_dir, api_client):
    from clientwise.reports.runner import run_pivot

    client = api_client(customers.admin)
    model_id = _train(client, csv_bytes(telco(1000)), name="contract_churn").json()["id"]
    client.client.post(f"/api/v1/analytics/label-models/{model_id}/apply", {}, headers=client.headers)
    expected = {}
    for p in LabelScore.objects.filter(label_model_id=model_id, customer__team=customers.team_a).values_list(
            "probability", flat=True):
        band = next(label for low, label in (
            (0.8, "0.8-1.0"), (0.6, "0.6-0.8"), (0.4, "0.4-0.6"), (0.2, "0.2-0.4"), (0.0, "0.0-0.2")) if p >= low)
        expected[band] = expected.get(band, 0) + 1
    spec = {"fact": "customers", "measures": ["customers"], "rows": ["own_score.contract_churn"]}
    # The manager of team A sees only team A's 500 customers, grouped by their band.
    result = run_pivot(actor=customers.manager_a, spec=spec, use_cache=False)
    got = {r["labels"][0]: c[0]["customers"] for r, c in zip(result.rows, result.cells, strict=True)
           if not r["total"]}
    assert got == expected and sum(got.values()) == 500
    # ... and filter by it, as a segment would.
    spec = {"fact": "customers", "measures": ["customers"], "filters": [{"dimension": "own_score.contract_churn", "op": "in",
                                                    "values": ["0.8-1.0", "0.6-0.8"]}]}
    result = run_pivot(actor=customers.manager_a, spec=spec, use_cache=False)
    assert result.cells[0][0]["customers"] == expected.get("0.8-1.0", 0) + expected.get("0.6-0.8", 0) > 0


def test_routing_reads_the_score(customers, var_dir, api_client):
    from clientwise.service import services as service
    from clientwise.service.models import RoutingRule
    from clientwise.service.routing import RoutingInput, rule_matches
    from clientwise.service.tests.conftest import make_desk

    desk = make_desk(customers)
    rule = RoutingRule.objects.create(name="retention", score_kind="contract_churn", min_score=0.6, queue=desk.vip)
    assert rule_matches(rule, RoutingInput("inquiry", label_scores={"contract_churn": 0.6}))
    assert not rule_matches(rule, RoutingInput("inquiry", label_scores={"contract_churn": 0.59}))
    assert not rule_matches(rule, RoutingInput("inquiry", label_scores={"other_model": 0.9}))
    client = api_client(customers.admin)
    model_id = _train(client, csv_bytes(telco(1000)), name="contract_churn").json()["id"]
    client.client.post(f"/api/v1/analytics/label-models/{model_id}/apply", {}, headers=client.headers)
    scores = LabelScore.objects.filter(label_model_id=model_id, customer__owner=customers.rep_a)
    high = scores.filter(probability__gte=0.6).first()
    low = scores.filter(probability__lt=0.6).first()
    assert high is not None and low is not None

    def ticket(score):
        return service.create_ticket(actor=customers.admin, customer_id=score.customer_id, type="inquiry",
                                     channel="phone", subject="A question")

    assert (ticket(high).queue, ticket(high).routed_by) == (desk.vip, rule)
    assert ticket(low).queue == desk.general
