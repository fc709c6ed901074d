"""Lenient parsing of list-page query strings into the API's filter schemas."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

S = TypeVar("S", bound=BaseModel)


def validate_dropping_bad(schema: type[S], data: dict[str, Any]) -> S:
    """`schema` validated from `data`, leaving out every field whose value is invalid (a bad value in the address
    bar drops that filter instead of failing the page); the defaults when nothing valid is left."""
    data = dict(data)
    for _attempt in range(len(data) + 1):
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            bad = {str(err["loc"][0]) for err in exc.errors() if err.get("loc")}
            if not bad & set(data):
                break
            for key in bad:
                data.pop(key, None)
    return schema()
