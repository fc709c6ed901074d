"""The baseline guard's message wherever a score is shown: the model page, the customer 360 card, the ranked lists.

The decision is the one the scoring run stored in ModelRun.metrics["guard"] (rules.baseline_verdict, applied by
pipeline.guard_outcome); these tags only word it. `{% baseline_notes batch_id "churn,clv" as notes %}` gives the notes of the
models of a batch that lost their check; `{% guard_note run as note %}` the note of one run, won or lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.utils.translation import gettext_lazy as _

from clientwise.analytics import glossary
from clientwise.analytics.models import ModelRun
from clientwise.analytics.rules import SERVE_BASELINE
from clientwise.core import labels

register = template.Library()

# What the product shows instead when the model lost, per model kind.
SERVED = {
    "churn": _("Churn risk is shown from recency alone (the churn rate of customers as long without a purchase)."),
    "next_purchase": _("Next-purchase dates are each customer's last purchase plus their own average gap."),
    "recommend": _("Recommendations are the most popular products (less one-off purchases the customer made)."),
    "clv": _("Lifetime value is still shown; rank by past revenue rather than by it."),
}
# The figure each check compares and the baseline's name come from the label table ("analytics.metric" through
# glossary.metric_name, "analytics.baseline"), registered by analytics/display_labels.py.
BASELINE = {
    "recency": _("recency only"), "own_gap": _("the customer's own average gap"),
    "past_revenue": _("past revenue"), "popular": _("the most popular products"),
}


@dataclass(frozen=True)
class GuardNote:
    model: str
    label: str
    beats: bool | None
    serves_baseline: bool
    metric: str
    value: float | None
    baseline_value: float | None
    baseline: str
    served: str


def note_for(model: str, guard) -> GuardNote | None:
    """A stored guard decision (ModelRun.metrics["guard"]) as a note; None when the run has none."""
    if not isinstance(guard, dict):
        return None
    beats = guard.get("beats")
    serves = guard.get("serving") == SERVE_BASELINE
    return GuardNote(
        model=model, label=labels.label("analytics.model", model),
        beats=beats if isinstance(beats, bool) else None, serves_baseline=serves,
        metric=glossary.metric_name(model, str(guard.get("metric") or ""), short=True),
        value=guard.get("value"), baseline_value=guard.get("baseline_value"),
        baseline=labels.label("analytics.baseline", guard.get("baseline") or ""),
        served=str(SERVED.get(model, "")) if beats is False else "")


@register.simple_tag
def guard_note(run) -> GuardNote | None:
    if run is None or not isinstance(run.metrics, dict):
        return None
    return note_for(run.model, run.metrics.get("guard"))


@register.simple_tag
def baseline_notes(batch_id, models: str = "") -> dict[str, GuardNote]:
    """Notes of the models of batch `batch_id` that did not beat their baseline, by model code (one query);
    `models` ("churn,clv") keeps only those."""
    if not batch_id:
        return {}
    runs = ModelRun.objects.filter(batch_id=batch_id)
    if models:
        runs = runs.filter(model__in=[m.strip() for m in models.split(",")])
    notes = {}
    for model, metrics in runs.values_list("model", "metrics"):
        note = note_for(model, metrics.get("guard") if isinstance(metrics, dict) else None)
        if note is not None and note.beats is False:
            notes[model] = note
    return notes


@register.filter
def metric_label(key, model: str = "") -> str:
    """A run's headline figure by name: `{{ headline.0|metric_label:model }}` → "AUC (area under the ROC curve)"."""
    return glossary.metric_name(model or "", str(key or ""))
