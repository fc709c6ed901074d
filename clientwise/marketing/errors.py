"""Error codes of marketing (a DomainError's `code`; the API and the pages show the same one)."""

from __future__ import annotations

import enum

from clientwise.core.errors import register_codes


class MarketingErrorCode(enum.StrEnum):
    INVALID_RULE = "invalid_audience_rule"  # an audience rule names an unknown field, operator or value
    EMPTY_AUDIENCE = "empty_audience"  # a campaign cannot be launched to nobody
    CAMPAIGN_NOT_EDITABLE = "campaign_not_editable"  # launched, sending, sent or cancelled: no more changes
    APPROVAL_REQUIRED = "approval_required"  # above the approval size: a manager approves first
    CAMPAIGN_STATE = "campaign_state"  # the step does not fit the campaign's status (launch twice, approve a draft)
    INVALID_TEMPLATE = "invalid_template"  # message content that does not render (syntax, unknown field)
    INVALID_SIGNATURE = "invalid_signature"  # a webhook whose signature does not match
    UNKNOWN_MESSAGE = "unknown_message"  # a receipt for a message Clientwise never sent
    PROVIDER_NOT_CONFIGURED = "provider_not_configured"  # the channel's delivery provider has no settings
    LIST_TOO_LARGE = "list_too_large"  # an uploaded customer list over 20 MB


register_codes(MarketingErrorCode, {
    MarketingErrorCode.CAMPAIGN_NOT_EDITABLE: 409,
    MarketingErrorCode.APPROVAL_REQUIRED: 409,
    MarketingErrorCode.CAMPAIGN_STATE: 409,
    MarketingErrorCode.INVALID_SIGNATURE: 401,
    MarketingErrorCode.UNKNOWN_MESSAGE: 404,
    MarketingErrorCode.LIST_TOO_LARGE: 413,
})
