"""Pages of models trained on own labels: upload a table → pick the id and label columns → train → read the
cross-validation → apply. Thin: label_services does the work, label_queries the reads; a service's DomainError is
shown on the page with its message, never as a server error. Analysts and admins only (analytics.run)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from clientwise.analytics import label_queries, label_services, labels
from clientwise.analytics.models import LabelModel
from clientwise.core import permissions as perms
from clientwise.core.decorators import perm_required
from clientwise.core.errors import DomainError, ErrorCode

TOP_SCORES = 20
DROP_REASONS = {
    "id": gettext_lazy("the id column"),
    "label": gettext_lazy("the label"),
    "constant": gettext_lazy("the same in every row"),
    "identifier": gettext_lazy("different in nearly every row (an identifier or free text)"),
    "empty": gettext_lazy("empty"),
}


def _index(request, *, error: DomainError | None = None, status: int = 200):
    return render(request, "analytics/own_models.html", {
        "label_models": label_queries.label_models()[:100], "error": error,
    }, status=status)


@perm_required(perms.RUN_ANALYTICS)
def own_models(request):
    return _index(request)


def _pick(request, token: str, form: dict, *, error: DomainError | None = None):
    path = label_services.upload_path(token)
    info = label_services.inspect_table(path, label_services.original_name(token))
    form = {"id_column": info.id_column, "label_column": info.label_column, "id_kind": "auto", **form}
    return render(request, "analytics/own_model_pick.html", {
        "token": token, "file_name": label_services.original_name(token), "info": info, "form": form,
        "id_kinds": [("auto", _("Whichever matches most customers"))] + list(LabelModel.IdKind.choices),
        "error": error,
    }, status=400 if error else 200)


@require_POST
@perm_required(perms.RUN_ANALYTICS)
def own_model_upload(request):
    upload = request.FILES.get("file")
    if upload is None:
        return _index(request, error=DomainError(ErrorCode.REQUIRED, _("Choose a file to upload."), "file"), status=400)
    try:
        token = label_services.store_upload(upload)
        return _pick(request, token, {"name": ""})
    except DomainError as exc:
        return _index(request, error=exc, status=400)


@require_POST
@perm_required(perms.RUN_ANALYTICS)
def own_model_train(request):
    token = request.POST.get("token", "")
    form = {k: request.POST.get(k, "").strip() for k in ("name", "id_column", "label_column", "id_kind", "positive")}
    try:
        path = label_services.upload_path(token)
    except DomainError as exc:
        return _index(request, error=exc, status=400)
    try:
        model = label_services.train_label_model(
            actor=request.user, path=path, file_name=label_services.original_name(token), name=form["name"],
            id_column=form["id_column"], label_column=form["label_column"], positive=form["positive"] or None,
            id_kind=form["id_kind"] or "auto")
    except DomainError as exc:
        try:
            return _pick(request, token, form, error=exc)
        except DomainError as unreadable:
            return _index(request, error=unreadable, status=400)
    path.unlink(missing_ok=True)
    messages.success(request, _("Model “%(name)s” is trained; its cross-validation is below.") % {"name": model.name})
    return redirect("analytics:own_model", model_id=model.pk)


def _rows(metrics: dict) -> list[dict]:
    m = metrics or {}
    out = []
    for key, label in (("model", _("Model (LightGBM)")), ("single_feature", _("Best single feature")),
                       ("prior", _("Prior rate"))):
        if key in m:
            r = m[key]
            out.append({"key": key, "label": label, "feature": r.get("feature", ""), "auc": r.get("auc"),
                        "lift": r.get("lift_top_decile"), "brier": r.get("brier")})
    return out


def _calibration(metrics: dict) -> list[dict]:
    """Model and single-feature calibration side by side, per tenth of predicted probability."""
    rows: dict[float, dict] = {}
    for key in ("model", "single_feature"):
        for r in (metrics.get(key) or {}).get("calibration", []):
            row = rows.setdefault(r["lower"], {"lower": r["lower"], "upper": r["upper"]})
            row[key] = r
    return [rows[k] for k in sorted(rows)]


@perm_required(perms.RUN_ANALYTICS)
def own_model(request, model_id: int):
    model = label_queries.get_label_model(model_id)
    top = list(label_queries.visible_label_scores(request.user, model).select_related("customer")[:TOP_SCORES])
    feats = model.features or {}
    return render(request, "analytics/own_model.html", {
        "m": model, "metrics": model.metrics, "rows": _rows(model.metrics), "calibration": _calibration(model.metrics),
        # Worded in the reader's language (the stored metrics.verdict is in the trainer's).
        "verdict": labels.verdict(model.metrics),
        "features": feats.get("features", []),
        "dropped": [{"name": d["name"], "reason": DROP_REASONS.get(d["reason"], d["reason"])}
                    for d in feats.get("dropped", [])],
        "importance": (model.parameters or {}).get("importance", [])[:15],
        "bands": label_queries.probability_bands(request.user, model) if model.scored else [],
        "top": top,
    })


@require_POST
@perm_required(perms.RUN_ANALYTICS)
def own_model_apply(request, model_id: int):
    model = label_queries.get_label_model(model_id)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            result = label_services.apply_label_model(actor=request.user, model=model)
        else:
            token = label_services.store_upload(upload)
            path = label_services.upload_path(token)
            try:
                result = label_services.apply_label_model(actor=request.user, model=model, path=path,
                                                          file_name=label_services.original_name(token))
            finally:
                path.unlink(missing_ok=True)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("analytics:own_model", model_id=model.pk)
    messages.success(request, _("Scored %(rows)d rows: %(scored)d customers' scores stored, %(unmatched)d rows "
                                "matched no customer.") % {"rows": result.rows, "scored": result.scored,
                                                           "unmatched": result.unmatched})
    return redirect("analytics:own_model", model_id=model.pk)


@require_POST
@perm_required(perms.RUN_ANALYTICS)
def own_model_delete(request, model_id: int):
    model = label_queries.get_label_model(model_id)
    label_services.delete_label_model(actor=request.user, model=model)
    messages.success(request, _("Model “%(name)s” and its scores are deleted.") % {"name": model.name})
    return redirect("analytics:own_models")

