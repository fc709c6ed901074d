"""Error codes of sales (a DomainError's `code`; the API and the pages show the same one)."""

from __future__ import annotations

import enum

from clientwise.core.errors import register_codes


class SalesErrorCode(enum.StrEnum):
    LEAD_CONVERTED = "lead_already_converted"  # a converted lead changes through its customer
    LOST_REASON_REQUIRED = "lost_reason_required"  # an opportunity is lost with a reason
    STAGE_NOT_IN_PIPELINE = "stage_not_in_pipeline"
    OPPORTUNITY_CLOSED = "opportunity_closed"  # won or lost: reopen it first
    FORM_INACTIVE = "form_inactive"  # the public lead form was switched off
    ORG_CHART_CYCLE = "org_chart_cycle"  # a contact reporting to themselves through others


register_codes(SalesErrorCode, {SalesErrorCode.LEAD_CONVERTED: 409})
