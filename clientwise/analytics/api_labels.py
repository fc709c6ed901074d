"""JSON API of models trained on a company's own labels: parse, call label_services / label_queries, return
schemas. Analysts and admins only (analytics.run); the scores list holds only customers the user may see."""

from __future__ import annotations

from ninja import File, Form, Router
from ninja.files import UploadedFile
from ninja.responses import Status

from clientwise.analytics import label_queries, label_services
from clientwise.analytics.schemas import (
    LabelApplyOut,
    LabelModelOut,
    LabelModelSummaryOut,
    LabelScorePage,
)
from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, ErrorCode
from clientwise.core.pagination import keyset_page

router = Router(tags=["analytics"])


def _trainer(request):
    user = request.auth
    perms.require(user, perms.RUN_ANALYTICS)
    return user


def _summary(m) -> dict:
    metrics = m.metrics or {}
    return {"id": m.pk, "name": m.name, "created_at": m.created_at, "rows": m.rows, "positives": m.positives,
            "matched": m.matched, "scored": m.scored, "auc": (metrics.get("model") or {}).get("auc"),
            "baseline_auc": (metrics.get("single_feature") or {}).get("auc"),
            "beats_baseline": metrics.get("beats_baseline")}


@router.post("/analytics/label-models", response={201: LabelModelOut}, summary="Train a model on your own labels")
def train(request, file: File[UploadedFile], name: Form[str], id_column: Form[str], label_column: Form[str],
          positive: Form[str] = "", id_kind: Form[str] = "auto", folds: Form[int] = 5):
    """Multipart: `file` (CSV, XLSX, JSONL or Parquet with a label column), `name` (the score kind, a slug),
    `id_column`, `label_column`, optional `positive` (the label value to predict when it is not a known word
    such as Yes, 1, true or 流失), `id_kind` (external_id, member_number, customer_id or auto), `folds` (2-20).
    Answers with the cross-validation beside its baselines; errors: unreadable_file, missing_column,
    label_not_binary, one_class, invalid_positive, too_few_rows, no_features, model_name_taken."""
    user = _trainer(request)
    if not 2 <= folds <= 20:
        raise DomainError(ErrorCode.INVALID, "folds must be between 2 and 20.", "folds")
    token = label_services.store_upload(file)
    path = label_services.upload_path(token)
    try:
        model = label_services.train_label_model(
            actor=user, path=path, file_name=label_services.original_name(token), name=name, id_column=id_column,
            label_column=label_column, positive=positive or None, id_kind=id_kind, folds=folds)
    finally:
        path.unlink(missing_ok=True)
    return Status(201, model)


@router.get("/analytics/label-models", response=list[LabelModelSummaryOut], summary="Models trained on own labels")
def list_models(request):
    _trainer(request)
    return [_summary(m) for m in label_queries.label_models()[:200]]


@router.get("/analytics/label-models/{int:model_id}", response=LabelModelOut, summary="One model and its metrics")
def get_model(request, model_id: int):
    _trainer(request)
    return label_queries.get_label_model(model_id)


@router.delete("/analytics/label-models/{int:model_id}", response={204: None}, summary="Delete a model and its scores")
def delete_model(request, model_id: int):
    user = _trainer(request)
    label_services.delete_label_model(actor=user, model=label_queries.get_label_model(model_id))
    return Status(204, None)


@router.post("/analytics/label-models/{int:model_id}/apply", response=LabelApplyOut,
             summary="Score customers with a trained model")
def apply(request, model_id: int, file: UploadedFile | None = File(None)):  # noqa: B008 (ninja's File marker)
    """Multipart `file`: a table with the training columns (the label may be absent). Without a file the
    training table's own rows are scored by their out-of-fold probabilities. Matched customers get this model's
    score (replacing the previous one); errors: unreadable_file, missing_column, no_match, model_file_missing."""
    user = _trainer(request)
    model = label_queries.get_label_model(model_id)
    if file is None:
        result = label_services.apply_label_model(actor=user, model=model)
    else:
        token = label_services.store_upload(file)
        path = label_services.upload_path(token)
        try:
            result = label_services.apply_label_model(actor=user, model=model, path=path,
                                                      file_name=label_services.original_name(token))
        finally:
            path.unlink(missing_ok=True)
    return {"model_id": model.pk, "rows": result.rows, "scored": result.scored, "unmatched": result.unmatched}


@router.get("/analytics/label-models/{int:model_id}/scores", response=LabelScorePage,
            summary="Customers' scores under a model, highest first")
def scores(request, model_id: int, cursor: str | None = None, size: int = 50):
    user = _trainer(request)
    if not 1 <= size <= 500:
        raise DomainError(ErrorCode.INVALID, "size must be between 1 and 500.", "size")
    model = label_queries.get_label_model(model_id)
    page = keyset_page(label_queries.visible_label_scores(user, model), sort="-probability", cursor=cursor,
                       size=size)
    return {"items": [{"customer_id": s.customer_id, "probability": s.probability, "scored_at": s.scored_at}
                      for s in page.items], "next_cursor": page.next_cursor}
