"""API schemas for accounts."""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field


class TeamRef(Schema):
    id: int
    name: str


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    email: str
    role: str | None
    role_label: str
    team: TeamRef | None
    view_pii: bool
    language: str = Field(description="The user's own choice; empty means “follow the browser”.")
    active_language: str = Field(description="The language this response was produced in.")


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    expires_at: dt.datetime | None = None


class TokenCreatedOut(TokenOut):
    secret: str = Field(description="The token itself. Shown only in this response; store it now.")


class TokenPage(Schema):
    items: list[TokenOut]
    next_cursor: str | None
    prev_cursor: str | None


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    email: str
    role: str
    is_superuser: bool
    team: TeamRef | None
    view_pii: bool
    is_active: bool
    last_login: dt.datetime | None


class UserPage(Schema):
    items: list[UserOut]
    next_cursor: str | None
    prev_cursor: str | None


class TeamOut(Schema):
    id: int
    name: str
    kind: str
    parent_id: int | None
    path: str


class TeamPage(Schema):
    items: list[TeamOut]
    next_cursor: str | None
    prev_cursor: str | None
