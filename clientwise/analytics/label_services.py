"""Models trained on a company's own labels: the only code that writes LabelModel and LabelScore rows.

`train_label_model` reads an uploaded table, cross-validates a LightGBM classifier beside its naive baselines
(analytics/labels.py), fits it on every labelled row, saves the booster under the var dir and the encoding,
metrics and parameters in a LabelModel row. `apply_label_model` scores a table with the same columns (or, with no
table, the training table's own rows with their out-of-fold scores) and writes one LabelScore per matched
customer. The web page, `POST /api/v1/analytics/label-models`, `clientwise train_model` and `clientwise
apply_model` all call these two; none repeats their rules. See docs/analytics-own-labels.md.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clientwise.analytics import labels as L
from clientwise.analytics.errors import AnalyticsErrorCode
from clientwise.analytics.models import LabelModel, LabelScore
from clientwise.core.audit import audit
from clientwise.core.errors import DomainError, ErrorCode
from clientwise.core.uploads import save_upload
from clientwise.customers.models import Customer
from clientwise.customers.queries import visible_customers

ID_KINDS = ("external_id", "member_number", "customer_id")
MAX_UPLOAD_BYTES = 512 * 1024 ** 2
_UPLOAD_NAME = re.compile(r"[0-9a-f]{12}-[\w.\-]{1,120}")
_CHUNK = 500


def label_dir() -> Path:
    path = Path(settings.VAR_DIR) / "labels"
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------------------------------------------------------
# Uploads


def store_upload(upload) -> str:
    """Copy an uploaded table (Django UploadedFile or any object with read()) to var/labels/uploads/; returns the
    token that names it for a later step (the page's pick-columns form)."""
    path, _name = save_upload(upload, label_dir() / "uploads", max_bytes=MAX_UPLOAD_BYTES,
                              default_name="table.csv", too_large=DomainError(
                                  AnalyticsErrorCode.UNREADABLE_FILE,
                                  _("The file is larger than %(mb)d MB.") % {"mb": MAX_UPLOAD_BYTES >> 20}, "file"))
    return path.name


def upload_path(token: str) -> Path:
    """The stored upload a token names (only names store_upload made; anything else is not found)."""
    path = label_dir() / "uploads" / token
    if not _UPLOAD_NAME.fullmatch(token or "") or not path.is_file():
        raise DomainError(AnalyticsErrorCode.UNREADABLE_FILE, _("The uploaded file is gone: upload it again."),
                          "file")
    return path


def original_name(token: str) -> str:
    return token[13:] if _UPLOAD_NAME.fullmatch(token or "") else token


@dataclass(frozen=True)
class TableInfo:
    """What the pick-columns step shows: the columns, a few rows, and the likely id and label columns."""

    columns: list[str]
    rows: int
    sample: list[list[str]]
    id_column: str
    label_column: str


def inspect_table(path: Path, name: str) -> TableInfo:
    frame = L.read_table(path, name)
    cols = list(frame.columns)
    lower = {c.lower(): c for c in cols}
    label = next((lower[k] for k in ("churn", "label", "churned", "流失", "是否流失", "target", "y") if k in lower),
                 cols[-1])
    ident = next((c for c in cols if re.search(r"(^|_)id$|customerid|member|会员|编号|客户id", c.lower())), cols[0])
    sample = [[L.normalize_id(v) for v in row] for row in frame.head(5).itertuples(index=False)]
    return TableInfo(cols, len(frame), sample, ident, label)


# ---------------------------------------------------------------------------------------------------------------
# Matching ids to customers


def _customers(actor):
    qs = Customer.objects.all() if actor is None else visible_customers(actor)
    return qs.filter(archived_at__isnull=True)


def _match(ids: list[str], kind: str, actor) -> dict[str, int]:
    """id → customer pk for ids that name exactly one customer the actor may see (an external id shared by
    customers of two sources names none)."""
    wanted = sorted({i for i in ids if i})
    if kind == "customer_id":
        wanted = [i for i in wanted if i.isdigit()]
    field = {"external_id": "external_id", "member_number": "member_number", "customer_id": "pk"}[kind]
    found: dict[str, list[int]] = {}
    qs = _customers(actor)
    for start in range(0, len(wanted), _CHUNK):
        part = wanted[start:start + _CHUNK]
        keys = [int(i) for i in part] if kind == "customer_id" else part
        for key, pk in qs.filter(**{f"{field}__in": keys}).values_list(field, "pk"):
            found.setdefault(str(key), []).append(pk)
    return {k: v[0] for k, v in found.items() if len(v) == 1}


def check_id_kind(kind: str) -> None:
    if kind != "auto" and kind not in ID_KINDS:
        raise DomainError(ErrorCode.INVALID, _("The id kind must be one of: %(kinds)s.")
                          % {"kinds": ", ".join(("auto", *ID_KINDS))}, "id_kind")


def match_customers(ids: list[str], kind: str, actor) -> tuple[str, dict[str, int]]:
    """(the id kind used, id → customer pk). `kind` "auto" tries each kind and keeps the one matching most ids."""
    check_id_kind(kind)
    if kind != "auto":
        return kind, _match(ids, kind, actor)
    best = ("external_id", {})
    for k in ID_KINDS:
        got = _match(ids, k, actor)
        if len(got) > len(best[1]):
            best = (k, got)
    return best


# ---------------------------------------------------------------------------------------------------------------
# Writing scores


def _write_scores(model: LabelModel, pairs: dict[int, float]) -> int:
    """Upsert one LabelScore per customer (the caller's transaction)."""
    now = timezone.now()
    rows = [LabelScore(label_model=model, customer_id=pk, probability=float(p), scored_at=now)
            for pk, p in pairs.items()]
    LabelScore.objects.bulk_create(rows, batch_size=2000, update_conflicts=True,
                                   unique_fields=["label_model", "customer"],
                                   update_fields=["probability", "scored_at"])
    return len(rows)


def _oof_path(model_file: str) -> Path:
    return Path(model_file).with_suffix(".oof.parquet")


# ---------------------------------------------------------------------------------------------------------------
# Train


def train_label_model(*, actor, path: Path, file_name: str, name: str, id_column: str, label_column: str,
                      positive: str | None = None, id_kind: str = "auto", folds: int = L.FOLDS,
                      seed: int = 0) -> LabelModel:
    """Cross-validate, fit and save a classifier of `label_column` from the table at `path`.

    Preconditions (each a DomainError with a code): the table reads; both columns exist; the label has two
    values with enough rows of each; some column is left to learn from; `name` is a free slug. Rows with a blank
    label are not trained on. Every labelled row trains (matched to a customer or not); `matched` counts the
    rows whose id names a customer the actor may see.
    """
    started = time.monotonic()
    name = (name or "").strip()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,49}", name):
        raise DomainError(ErrorCode.INVALID, _("The name must be 1-50 lower-case letters, digits, - or _."), "name")
    check_id_kind(id_kind)
    if LabelModel.objects.filter(name=name).exists():
        raise DomainError(AnalyticsErrorCode.MODEL_NAME_TAKEN,
                          _("A model named “%(name)s” exists; choose another name.") % {"name": name}, "name")
    frame = L.read_table(path, file_name)
    L.require_columns(frame, (id_column, "id_column"), (label_column, "label_column"))
    labels = L.parse_labels(frame[label_column], positive)
    keep = labels.labelled
    frame, y = frame.loc[keep].reset_index(drop=True), labels.y[keep]
    L.check_rows(y)
    features, dropped = L.infer_features(frame, id_column=id_column, label_column=label_column)
    if not features:
        raise DomainError(AnalyticsErrorCode.NO_FEATURES,
                          _("No column is left to learn from besides the id and the label."), "file")
    X = L.encode(frame, features)
    cv = L.cross_validate(X, y, features, folds=folds, seed=seed)
    booster = L.fit_final(X, y, features, cv.trees, seed=seed)
    ids = [L.normalize_id(v) for v in frame[id_column].tolist()]
    kind, matches = match_customers(ids, id_kind, actor)

    directory = label_dir() / "models"
    directory.mkdir(parents=True, exist_ok=True)
    model_file = directory / f"{name}-{uuid.uuid4().hex[:8]}.txt"
    booster.save_model(str(model_file))
    pd.DataFrame({"id": ids, "probability": cv.oof}).to_parquet(_oof_path(str(model_file)), index=False)
    metrics = {**cv.metrics, "verdict": L.verdict(cv.metrics)}
    try:
        with transaction.atomic():
            model = LabelModel.objects.create(
                name=name, actor=actor, file_name=file_name[:200], id_column=id_column, id_kind=kind,
                label_column=label_column, positive_label=labels.positive[:100], negative_label=labels.negative[:100],
                rows=len(y), positives=int(y.sum()), matched=sum(1 for i in ids if i in matches),
                features=L.features_json(features, dropped), metrics=metrics, model_file=str(model_file),
                parameters={"trees": booster.current_iteration(), "fold_trees": cv.trees, "seed": seed,
                            "lightgbm": {k: v for k, v in L.lgb_params(len(y), seed).items() if k != "verbose"},
                            "importance": L.importance(booster)},
                seconds=round(time.monotonic() - started, 3))
            audit(actor=actor, action="analytics.label_model.train", obj=model, detail={
                "file": file_name, "rows": len(y), "auc": cv.metrics["model"]["auc"],
                "baseline_auc": cv.metrics["single_feature"]["auc"]})
    except Exception:
        model_file.unlink(missing_ok=True)
        _oof_path(str(model_file)).unlink(missing_ok=True)
        raise
    return model


# ---------------------------------------------------------------------------------------------------------------
# Apply


@dataclass(frozen=True)
class ApplyResult:
    """Rows scored, customers whose LabelScore was written, rows whose id matched no customer, and every row's
    (id, probability) for callers that hand the scores back (the CLI's --out)."""

    model: LabelModel
    rows: int
    scored: int
    unmatched: int
    scores: pd.DataFrame


def load_booster(model: LabelModel) -> lgb.Booster:
    if not Path(model.model_file).is_file():
        raise DomainError(AnalyticsErrorCode.MODEL_FILE_MISSING,
                          _("The fitted model's file is missing from the server; train the model again."), "model")
    return lgb.Booster(model_file=model.model_file)


def apply_label_model(*, actor, model: LabelModel, path: Path | None = None, file_name: str = "") -> ApplyResult:
    """Score the table at `path` (the training columns; the label column may be absent) with the saved model,
    or with no path the training table's rows by their out-of-fold scores (each from a fold model that did not
    see the row). Rows whose id (in the model's id column and id kind) names a customer the actor may see get a
    LabelScore (replacing this model's earlier one); the rest are only returned."""
    if path is None:
        oof = _oof_path(model.model_file)
        if not oof.is_file():
            raise DomainError(AnalyticsErrorCode.MODEL_FILE_MISSING,
                              _("The training table's scores are missing from the server; apply a table."), "file")
        scores = pd.read_parquet(oof)
    else:
        frame = L.read_table(path, file_name)
        L.require_columns(frame, (model.id_column, "file"))
        features = [L.Feature.from_dict(f) for f in model.features.get("features", [])]
        prob = L.predict(load_booster(model), frame, features)
        scores = pd.DataFrame({"id": [L.normalize_id(v) for v in frame[model.id_column].tolist()],
                               "probability": prob})
    _kind, matches = match_customers(scores["id"].tolist(), model.id_kind, actor)
    pairs = {matches[i]: p for i, p in zip(scores["id"], scores["probability"], strict=True) if i in matches}
    if not pairs:
        raise DomainError(AnalyticsErrorCode.NO_MATCH,
                          _("No row's %(column)s matches a customer's %(kind)s.")
                          % {"column": model.id_column, "kind": model.get_id_kind_display()}, "file")
    with transaction.atomic():
        written = _write_scores(model, pairs)
        model.applied_at = timezone.now()
        model.scored = LabelScore.objects.filter(label_model=model).count()
        model.save(update_fields=["applied_at", "scored"])
        audit(actor=actor, action="analytics.label_model.apply", obj=model,
              detail={"file": file_name or "(training table)", "rows": len(scores), "scored": written})
    return ApplyResult(model=model, rows=len(scores), scored=written,
                       unmatched=int(sum(1 for i in scores["id"] if i not in matches)), scores=scores)


def delete_label_model(*, actor, model: LabelModel) -> None:
    """Remove a model, its scores (routing rules and reports naming it then match no one) and its files."""
    files = [Path(model.model_file), _oof_path(model.model_file)]
    with transaction.atomic():
        audit(actor=actor, action="analytics.label_model.delete", obj=model,
              detail={"name": model.name, "scored": model.scored})
        model.delete()
        transaction.on_commit(lambda: [f.unlink(missing_ok=True) for f in files])

