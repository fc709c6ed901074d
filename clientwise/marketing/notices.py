"""Marketing's notification kind (notifications/kinds.py): a campaign waiting for a manager's approval."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.notifications import kinds
from clientwise.notifications.services import notify, target_for

CAMPAIGN_APPROVAL = "campaign_approval"


def register() -> None:
    kinds.register(kinds.Kind(
        CAMPAIGN_APPROVAL, _("Campaign approvals"), _("A campaign larger than the approval size waits for you."),
        "megaphone", {"": kinds.Text(_("Campaign %(name)s waits for your approval"), _("%(count)s customers"))}))


def approval_requested(campaign, *, actor, approvers) -> int:
    return notify(approvers, CAMPAIGN_APPROVAL, {"name": campaign.name, "count": campaign.estimated_size or 0},
                  target_for(campaign, "marketing:campaign"), actor=actor, dedupe_key=str(campaign.submitted_at))
