"""Error codes of service: tickets, SLAs, surveys, work orders (a DomainError's `code`; the API and the pages show
the same one)."""

from __future__ import annotations

import enum

from clientwise.core.errors import register_codes


class ServiceErrorCode(enum.StrEnum):
    INVALID_TRANSITION = "invalid_transition"  # the ticket's status cannot go there from where it is
    SLA_ALREADY_BREACHED = "sla_already_breached"
    ATTACHMENT_TOO_LARGE = "attachment_too_large"
    ATTACHMENT_TYPE = "attachment_type_not_allowed"
    SURVEY_LINK_INVALID = "survey_link_invalid"  # a survey link that is unknown, expired or tampered with
    SURVEY_ANSWERED = "survey_already_answered"
    NO_TECHNICIAN = "no_technician"  # no technician with the skill is free in the window


register_codes(ServiceErrorCode, {
    ServiceErrorCode.INVALID_TRANSITION: 409, ServiceErrorCode.SURVEY_ANSWERED: 409, ServiceErrorCode.NO_TECHNICIAN: 409,
    ServiceErrorCode.SURVEY_LINK_INVALID: 404,
})
