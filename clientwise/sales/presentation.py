"""How a lead's score reasons read in the reader's language.

`Lead.score_reasons` holds what scoring wrote: [{"rule": text, "points": n}], the text made of the rule's field
label in the writer's language and the rule's value as stored — a code for channel and product-line rules
("产品线为 services"). The page shows each reason through the label table instead: a reason that names its rule
({"field", "value"}) is rendered from it; an older text-only reason is matched with the scoring rule (or the
value-tier sentence) it was written from, in any of the site's languages, and rendered again. A reason that matches
nothing is shown as stored.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.utils.translation import gettext, override

from clientwise.core import labels
from clientwise.sales.display_labels import SCORING_VALUE_KINDS
from clientwise.sales.models import ScoringRule

TIER_REASON = "Existing customer, value tier %(tier)s"


def rule_text(field: str, value: str) -> str:
    """"Product line is Services and contracts": the field and the value, both in words."""
    kind = SCORING_VALUE_KINDS.get(field)
    shown = labels.label(kind, value) if kind else value
    return f"{labels.label('sales.scoring.field', field)} {shown}".strip()


def _written_forms() -> tuple[dict[str, tuple[str, str]], list[re.Pattern]]:
    """Every text scoring may have written, in every language, mapped to (field, value); and the value-tier
    sentence as a pattern per language."""
    rules = list(ScoringRule.objects.values_list("field", "value"))
    texts, tiers = {}, []
    for code, _name in settings.LANGUAGES:
        with override(code):
            for field, value in rules:
                texts[f"{ScoringRule.Field(field).label} {value}".strip()] = (field, value)
            tiers.append(re.compile("^" + re.escape(gettext(TIER_REASON)).replace(re.escape("%(tier)s"), "(.+)")
                                    + "$"))
    return texts, tiers


def score_reasons(lead) -> list[dict]:
    """[{"text", "points"}] of a lead's score reasons in the active language."""
    reasons = [r for r in lead.score_reasons or [] if isinstance(r, dict)]
    if not reasons:
        return []
    texts, tiers = _written_forms()
    out = []
    for r in reasons:
        if r.get("field"):
            text = rule_text(str(r["field"]), str(r.get("value") or ""))
        else:
            stored = str(r.get("rule") or "")
            match = texts.get(stored)
            tier = next((m for m in (p.match(stored) for p in tiers) if m), None)
            if match is not None:
                text = rule_text(*match)
            elif tier is not None:
                text = gettext(TIER_REASON) % {"tier": tier.group(1)}
            else:
                text = stored
        out.append({"text": text, "points": r.get("points")})
    return out
