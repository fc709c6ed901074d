"""Sales codes in words (core/labels.py): product lines, lead channels, scoring-rule values, lost reasons, audit
actions."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from clientwise.core import labels
from clientwise.sales.models import Activity, KeyAccount, Lead, Opportunity, ProductLine, ScoringRule
from clientwise.sales.services import DEFAULT_STAGES


def _defaults_by_written_name() -> dict[str, object]:
    """The default pipeline's stage names (and its own name) as they may have been written — in any of the site's
    languages, since "stage names are data: written once, in the installation's language" — mapped to the lazy
    default, so an unrenamed default stage reads in the reader's language ("Lost" → 丢单)."""
    out: dict[str, object] = {}
    for code, _name in settings.LANGUAGES:
        with override(code):
            for name, _p, _k in DEFAULT_STAGES:
                out[str(name)] = name
            out[str(PIPELINE_NAME)] = PIPELINE_NAME
    return out


PIPELINE_NAME = _("Sales")  # the default pipeline's name (sales.services.default_pipeline)
_WRITTEN: dict[str, object] = {}


def default_name(name: str):
    """A stage or pipeline name: the default's label when it is a default left as it was, else None (shown as
    typed)."""
    if not _WRITTEN:
        _WRITTEN.update(_defaults_by_written_name())
    return _WRITTEN.get(name)


def register() -> None:
    labels.register("sales.product_line", ProductLine)
    labels.register("sales.lead.channel", Lead.Channel)
    labels.register("sales.lead.status", Lead.Status)
    labels.register("sales.opportunity.status", Opportunity.Status)
    labels.register("sales.lost_reason", Opportunity.LostReason)
    labels.register("sales.scoring.field", ScoringRule.Field)
    labels.register_resolver("sales.stage", default_name)
    labels.register_resolver("sales.pipeline", default_name)
    labels.register("sales.activity.outcome", Activity.Outcome)
    labels.register("sales.keyaccount.stage", KeyAccount.RelationshipStage)
    labels.register("audit.action", {
        "lead.create": _("Lead created"), "lead.update": _("Lead changed"), "lead.convert": _("Lead converted"),
        "webform.create": _("Web form created"), "scoring_rule.create": _("Lead scoring rule added"),
        "assignment_rule.save": _("Lead assignment rule saved"),
        "opportunity.create": _("Opportunity opened"), "opportunity.update": _("Opportunity changed"),
        "opportunity.move": _("Opportunity moved to another stage"),
        "pipeline.create": _("Pipeline created"), "pipeline.update": _("Pipeline changed"),
        "activity.create": _("Call or task planned"), "activity.complete": _("Call or task done"),
        "note.create": _("Note added"), "quota.set": _("Quota set"), "sales.transfer": _("Customers handed over"),
        "key_account.create": _("Key account created"), "key_account.stage": _("Key account relationship changed"),
        "key_account.contact": _("Key account contact changed"), "key_account.goal": _("Key account goal set"),
        "key_account.goal_status": _("Key account goal updated"),
        "key_account.wallet": _("Key account wallet entered"), "key_account.cost": _("Key account cost entered"),
    })

    labels.register("model", {
        "sales.webform": _("Web form"),
        "sales.lead": _("Lead"),
        "sales.assignmentrule": _("Lead assignment rule"),
        "sales.scoringrule": _("Lead scoring rule"),
        "sales.pipeline": _("Pipeline"),
        "sales.stage": _("Stage"),
        "sales.opportunity": _("Opportunity"),
        "sales.activity": _("Call or task"),
        "sales.note": _("Note"),
        "sales.ownershiptransfer": _("Handover"),
        "sales.quota": _("Quota"),
        "sales.keyaccount": _("Key account"),
        "sales.accountgoal": _("Key account goal"),
        "sales.walletshare": _("Key account wallet"),
        "sales.costtoserve": _("Cost to serve"),
        "sales.accountcontact": _("Key account contact"),
    })

# Which label kind a scoring rule's value is a code of (the other fields hold free text or a number).
SCORING_VALUE_KINDS = {"channel": "sales.lead.channel", "product_line": "sales.product_line"}
